"""What the tests of figures share."""

from __future__ import annotations

from matplotlib.figure import Figure


def texts_outside(fig: Figure) -> list[str]:
    """Every drawn text (labels, titles, tick labels, legends) whose box leaves the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    drawn, ticks = [], set()
    for ax in fig.axes:
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = sorted(limits)
            for tick in axis.get_major_ticks():
                ticks.update({id(tick.label1), id(tick.label2)})
                # matplotlib draws no tick outside the view
                if tick.label1.get_visible() and low <= tick.get_loc() <= high:
                    drawn.append(tick.label1)
    drawn += [t for t in fig.findobj(Text) if id(t) not in ticks and t.get_visible()]
    width, height = fig.bbox.width, fig.bbox.height
    out = []
    for text in drawn:
        box = text.get_window_extent(renderer)
        inside = box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1
        if text.get_text() and box.width and not inside:
            out.append(text.get_text())
    return out
