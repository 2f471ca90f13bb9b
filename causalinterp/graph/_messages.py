"""What every graph reader and query shares: one-line errors and how names are shown.

Errors read ``graph: [origin: ][line L:C: ]problem; fix``. Node names in messages are written
as they would be in an edge string, so the user can find them in (or paste them into) the
graph text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from causalinterp.errors import GraphError

DOCS_HINT = "see docs/graphs.md for the syntax"

_EDGE_ESCAPE_OUT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Names that must be quoted in an edge string: they hold syntax, or they would make the text
# look like DOT/GML/comments to the format sniffer.
_EDGE_UNSAFE = re.compile(r'[;#"\n\r\t]|->|<-')
_SNIFF_KEYWORD = re.compile(r"(?i)(strict|digraph|graph)\b")
# A bare name ending in " [...]" would read as a name and an edge sign.
_SIGN_LIKE = re.compile(r"\s\[[^\[\]]*\]\Z")


def graph_error(problem: str, fix: str, origin: str = "") -> GraphError:
    """``graph: [origin: ]problem; fix`` as a :class:`GraphError`."""
    where = f"{origin}: " if origin else ""
    return GraphError(f"graph: {where}{problem}; {fix}")


def _position(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}:{column}"


def parse_error(text: str, pos: int, problem: str, fix: str, origin: str) -> GraphError:
    """A :func:`graph_error` located at ``line:column`` of offset ``pos`` in ``text``."""
    return graph_error(f"{_position(text, pos)}: {problem}", fix, origin)


def edge_name(name: str) -> str:
    """``name`` as written in an edge string: bare when safe, else quoted and escaped."""
    if (
        name
        and name == name.strip()
        and not _EDGE_UNSAFE.search(name)
        and not _SNIFF_KEYWORD.match(name)
        and not _SIGN_LIKE.search(name)
        and not name.startswith("/")
    ):
        return name
    return '"' + "".join(_EDGE_ESCAPE_OUT.get(c, c) for c in name) + '"'


def show(name: str) -> str:
    """A node name as written in an edge string (for cycles and syntax errors)."""
    return edge_name(name)


def quoted_names(names: Iterable[Any]) -> str:
    """Names quoted as in every other message of the package: 'a', 'b'."""
    return ", ".join(repr(n) for n in sorted(names, key=str))
