"""Figure basics shared by the plots: colours, safe labels, figure creation and SVG output.

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``matplotlib.pyplot``, so no global backend is switched and no figure is left registered
anywhere (nothing leaks when plotting hundreds of features).
"""

from __future__ import annotations

import io
import re
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import matplotlib
from matplotlib.figure import Figure

__all__ = ["data_uri", "to_svg"]

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
    # Fixed margins for the many small per-feature plots: constrained layout costs a third of
    # the rendering time and their labels have a known size.
    fig = Figure(figsize=(width, height), layout=None if margins else "constrained")
    if margins:
        fig.subplots_adjust(**margins)
    fig.patch.set_facecolor("white")
    return fig


def to_svg(fig: Figure, *, close: bool = True) -> str:
    """Render ``fig`` to SVG text (text drawn as paths, so it needs no fonts and is inert).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    close : bool, default True
        Release the figure after rendering: clear it and, if pyplot manages it, close it.

    Returns
    -------
    str
        The SVG document, without the XML prolog so it can also be inlined in HTML.
    """
    buffer = io.StringIO()
    try:
        with matplotlib.rc_context(_SVG_RC), warnings.catch_warnings():
            # Names in scripts the bundled font lacks are drawn as boxes; that is not an error.
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
            warnings.filterwarnings("ignore", message=r"Matplotlib currently does not support")
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


def _release(fig: Figure) -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()
