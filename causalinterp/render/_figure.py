"""Figure basics shared by the plots: colours, safe labels, figure creation and SVG output.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``matplotlib.pyplot``, so no global backend is switched and no figure is left registered
anywhere (nothing leaks when plotting hundreds of features).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import matplotlib
from matplotlib.figure import Figure

__all__ = ["data_uri", "fit_margins", "set_title", "text_width", "to_svg"]

RED = "#c62828"
RED_FILL = "#fdecea"
BLUE = "#1565c0"
BLUE_FILL = "#e3f2fd"
ORANGE = "#ef6c00"
GREEN = "#2e7d32"
GREY = "#9e9e9e"
INK = "#263238"
POINTS = "#78909c"

# Fixed salt and no date: the same figure gives the same SVG bytes on every run.
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SPACE = re.compile(r"\s+")
_PATH_DATA = re.compile(r' d="([^"]*)"')
_DIGITS = re.compile(r"(\.\d\d)\d+")
_SVG_RC = {"svg.fonttype": "path", "svg.hashsalt": "causalinterp", "text.usetex": False}
#: Resolution of the parts drawn as pixels inside an SVG (dense scatters, ICE curves): the
#: report shows plots at about their size in points, so 72 per inch is one pixel per point.
RASTER_DPI = 72


def label(name: object, width: int = 28) -> str:
    """A name made safe for a matplotlib label: one line, no mathtext, at most ``width`` chars."""
    text = " ".join(str(name).split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    # An unescaped pair of "$" would switch matplotlib to mathtext and may fail to parse.
    return text.replace("$", r"\$")


def new_figure(
    width: float, height: float, *, margins: Mapping[str, float] | None = None
) -> Figure:
    # Fixed margins for the many small per-feature plots: constrained layout draws a figure
    # twice. An empty ``margins`` leaves them to :func:`fit_margins`.
    fig = Figure(figsize=(width, height), layout=None if margins is not None else "constrained")
    if margins:
        fig.subplots_adjust(**margins)
    fig.patch.set_facecolor("white")
    return fig


def text_width(texts: list[str], fontsize: float, *, bold: bool = False) -> float:
    """The width in inches of the widest of ``texts`` as matplotlib draws it.

    For margins fixed before drawing: measuring the laid-out figure (constrained layout)
    draws it twice.
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font = FontProperties(size=fontsize, weight="bold" if bold else "normal")
    measure = TextToPath().get_text_width_height_descent
    with _missing_glyphs_allowed():
        return max((measure(text, font, ismath=False)[0] for text in texts), default=0.0) / 72


@contextlib.contextmanager
def _missing_glyphs_allowed() -> Iterator[None]:
    # Names in scripts the bundled font lacks are drawn as boxes; that is not an error.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
        yield


def fit_margins(
    ax: Any, *, tick_size: float, bottom: float, top: float, right: float = 0.12
) -> None:
    """Margins (inches) that hold the axes' y tick labels and label, and its end x tick labels.

    The left margin is measured from the tick labels the axes will draw, so a long label
    (``-0.026625``, ``123456``) is never cut off; ``bottom`` and ``top`` are given, for the
    one-line x labels, titles and legends the caller places. Call it once the data is drawn.
    """
    fig = ax.figure
    width, height = fig.get_size_inches()
    pad = 0.1  # the tick (3.5 points) and the gap before its label (3.5 points)
    left = 0.06 + pad + text_width(_tick_labels(ax.yaxis, ax.get_ylim()), tick_size)
    if ax.yaxis.label.get_text():
        left += 1.3 * ax.yaxis.label.get_fontsize() / 72
    # The x tick labels are centred on their ticks: half of the first and of the last may
    # stand out of the axes (long level names of a categorical feature most).
    x_labels = _tick_labels(ax.xaxis, ax.get_xlim())
    left = max(left, text_width(x_labels[:1], tick_size) / 2 + 0.04)
    right = max(right, text_width(x_labels[-1:], tick_size) / 2 + 0.04)
    fig.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height
    )


def _tick_labels(axis: Any, limits: tuple[float, float]) -> list[str]:
    low, high = sorted(limits)
    locations = [x for x in axis.get_major_locator()() if low <= x <= high]
    return list(axis.get_major_formatter().format_ticks(locations))


def set_title(ax: Any, text: str, **style: Any) -> None:
    """``ax.set_title`` at the top edge, placed once.

    An automatically placed title is moved clear of any top-side tick labels, which makes
    matplotlib measure the axes' ticks again on every draw; these plots have none up there.
    """
    ax.set_title(text, y=1.0, **style)


def to_svg(fig: Figure, *, close: bool = True) -> str:
    """Render ``fig`` to SVG text (text drawn as paths, so it needs no fonts and is inert).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    close : bool, default True
        Release the figure after rendering: if pyplot manages it, close it.

    Returns
    -------
    str
        The SVG document, without the XML prolog so it can also be inlined in HTML.
    """
    buffer = io.StringIO()
    _vector_legend_samples(fig)
    try:
        with matplotlib.rc_context(_SVG_RC), _missing_glyphs_allowed():
            fig.savefig(buffer, format="svg", metadata={"Date": None}, dpi=RASTER_DPI)
    finally:
        if close:
            _release(fig)
    text = buffer.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    # matplotlib annotates each drawn string in a comment; names stay in the picture only.
    # Runs of whitespace (one path command per indented line) carry no meaning in an SVG
    # without text elements: one space each makes the file a sixth smaller.
    # Path coordinates are in points: a hundredth of one is finer than any screen shows.
    text = _PATH_DATA.sub(lambda m: ' d="' + _DIGITS.sub(r"\1", m.group(1)) + '"', text)
    return _SPACE.sub(" ", _COMMENT.sub("", text)).replace("> <", "><")


def data_uri(svg: str) -> Any:
    """``svg`` as a ``data:`` URI for an ``<img src="...">``, safe to place unescaped.

    Percent-encoded rather than base64 (a third smaller): ``%``, ``#`` and ``&`` are encoded,
    and double quotes become single ones (a single quote in the SVG is encoded first), so
    the URI holds no character that ends the attribute or that HTML would decode. Returned as
    ``markupsafe.Markup`` so that jinja2's autoescape leaves it whole.

    Examples
    --------
    >>> str(data_uri('<svg width="1"><path d="M 0 0" style="fill: #fff"/></svg>'))
    "data:image/svg+xml,<svg width='1'><path d='M 0 0' style='fill: %23fff'/></svg>"
    """
    from markupsafe import Markup

    text = svg.replace("%", "%25").replace("#", "%23").replace("&", "%26")
    text = text.replace("'", "%27").replace('"', "'").replace("\n", " ")
    return Markup("data:image/svg+xml," + text)


def _vector_legend_samples(fig: Figure) -> None:
    """Draw legend samples as vectors: a rasterized scatter passes its flag on to its sample,
    and each rasterized artist costs a pixel pass of the whole figure for one marker."""
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    for legend in filter(None, legends):
        for handle in filter(None, legend.legend_handles):
            handle.set_rasterized(False)


def _release(fig: Figure) -> None:
    # A figure pyplot manages is closed; any other is unreferenced and freed by the garbage
    # collector (clearing it first costs a tenth of the drawing time).
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
