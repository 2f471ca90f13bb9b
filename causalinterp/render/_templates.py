"""The jinja2 environment of every HTML page (``causalinterp/templates/``).

Autoescape is on (every name comes from the user's data or graph), undefined names fail, and
the number filters are the reports' (:mod:`causalinterp.render._text`). Each template
includes ``_csp.html``, the one Content-Security-Policy of the pages causalinterp writes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from causalinterp.render._text import breakable, fmt, fmt_p, support_text, verdict_label

__all__ = ["TEMPLATES", "environment", "render"]

#: The folder of the templates.
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Any:
    """The shared ``jinja2.Environment`` (created once)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every name comes from user data or the user's graph
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt
    env.filters["pval"] = fmt_p
    env.filters["verdict_label"] = verdict_label
    env.filters["support"] = support_text
    env.filters["breakable"] = breakable
    return env


def render(template: str, **context: Any) -> str:
    """Render ``template`` (a file name in ``templates/``) with ``context``."""
    return environment().get_template(template).render(**context)
