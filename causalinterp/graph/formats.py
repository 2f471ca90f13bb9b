"""Reading and writing causal graphs: edge strings, DOT, GML, networkx, edge pairs and files.

Every reader returns a validated :class:`networkx.DiGraph` (non-empty, no self-loop, acyclic;
duplicate edges merged; nodes and edges inserted in sorted order so that every traversal, and
so every message, is deterministic). Bad input is reported as a one-line
:class:`~causalinterp.errors.GraphError` with ``line:column`` for text. The writers' output
reads back as an equal graph. :class:`~causalinterp.graph.CausalGraph` wraps these; the DOT
grammar itself lives in :mod:`causalinterp.graph._dot`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import networkx as nx

from causalinterp.errors import GraphError
from causalinterp.graph._dot import dot_name, parse_dot
from causalinterp.graph._messages import DOCS_HINT, edge_name, graph_error, parse_error, show

__all__ = [
    "GraphSource",
    "read_dot",
    "read_edge_string",
    "read_edges",
    "read_file",
    "read_gml",
    "read_networkx",
    "read_source",
    "sign_value",
    "statements",
    "write_dot",
    "write_edge_string",
    "write_gml",
]

GraphSource: TypeAlias = Any
"""Anything :meth:`CausalGraph.parse <causalinterp.graph.CausalGraph.parse>` accepts."""


# --------------------------------------------------------------------------------------------
# Edge strings:  A -> B -> C; "a name" -> D   # comment
# --------------------------------------------------------------------------------------------

_EDGE_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_EDGE_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_EDGE_HINT = 'write each edge as A -> B, one per line or separated by ";"'
# The sign of an edge: "[+]" or "[-]" after its effect, separated from a bare name by a space.
_EDGE_SIGN = re.compile(r"\s\[([^\[\]\n;#]*)\]\s*\Z")
#: The declared signs of edges: the cause raises ("+") or lowers ("-") the effect.
SIGNS = ("+", "-")
_SIGN_WORDS = {"+": "+", "-": "-", "+1": "+", "-1": "-", "1": "+", "positive": "+",
               "negative": "-"}


def sign_value(
    value: Any, where: str, origin: str = "", fix: str = 'write sign="+" or sign="-"'
) -> str:
    """``"+"`` or ``"-"`` for a sign attribute (``"+"``, ``"-"``, ``1``, ``-1``, ``"positive"``...).

    ``where`` names the edge (and its position) in the error.
    """
    key = "" if isinstance(value, bool) else str(value).strip().lower()
    if isinstance(value, int | float) and not isinstance(value, bool) and value in (1, -1):
        key = "+" if value > 0 else "-"
    if key in _SIGN_WORDS:
        return _SIGN_WORDS[key]
    raise graph_error(f"{where}: sign {value!r} is not '+' or '-'", fix, origin)


def _is_blank(c: str) -> bool:
    return c != "\n" and c.isspace()


def _parse_edge_string(
    text: str, origin: str = "", signs: dict[tuple[str, str], str] | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Parse the edge-string grammar; return (nodes in order of appearance, edges).

    ``a -> b [+]`` signs the edge before the brackets; the signs go into ``signs``.
    """
    signs = {} if signs is None else signs
    nodes: dict[str, None] = {}
    edges: list[tuple[str, str]] = []
    n = len(text)
    i = 0

    def skip_blank(i: int) -> int:
        while i < n and _is_blank(text[i]):
            i += 1
        return i

    def at_end(i: int) -> bool:
        return i >= n or text[i] in ";\n#"

    def found(i: int) -> str:
        if i >= n:
            return "the end of the text"
        if text[i] == "\n":
            return "the end of the line"
        return repr(text[i : i + 10].split("\n")[0])

    def read_name(i: int) -> tuple[str, int]:
        if text[i] == '"':
            m = _EDGE_QUOTED.match(text, i)
            if m is None:
                raise parse_error(
                    text, i, "unterminated quoted name", 'close it with a double quote "', origin
                )
            raw = m.group(1)
            for esc in re.finditer(r"\\(.)", raw, re.S):
                if esc.group(1) not in _EDGE_ESCAPES:
                    raise parse_error(
                        text,
                        i + 1 + esc.start(),
                        f"unknown escape \\{esc.group(1)} in a quoted name",
                        'inside quotes write \\" for a quote, \\\\ for a backslash, '
                        "\\n for a new line, \\t for a tab",
                        origin,
                    )
            name = re.sub(r"\\(.)", lambda e: _EDGE_ESCAPES[e.group(1)], raw, flags=re.S)
            if not name:
                raise parse_error(text, i, "empty name", "give every node a non-empty name", origin)
            return name, m.end()
        j = i
        while j < n and text[j] not in ';\n#"' and not text.startswith("->", j):
            j += 1
        raw = text[i:j]
        name = raw.strip()
        if not name:
            raise parse_error(
                text, i, f"expected a node name, found {found(i)}", _EDGE_HINT, origin
            )
        if j < n and text[j] == '"':
            raise parse_error(
                text,
                j,
                "a double quote inside a name",
                'quote the whole name and escape inner quotes: "say \\"hi\\""',
                origin,
            )
        back = raw.find("<-")
        if back >= 0:
            raise parse_error(
                text,
                i + back,
                '"<-" is not an arrow here',
                'write edges cause first: B -> A (quote names that contain "<-")',
                origin,
            )
        if text.startswith("->", j) and raw.endswith("-"):
            raise parse_error(
                text, j - 1, '"-->" is not an arrow', "write A -> B with a single dash", origin
            )
        return name, j

    def read_sign(start: int, name: str, i: int) -> tuple[str, int, tuple[str, int] | None]:
        # A bracket after an edge's effect is its sign: b [+] (bare), "b" [+] (quoted).
        if text[start] != '"':
            m = _EDGE_SIGN.search(text, start, i)
            if m is None:
                return name, i, None
            return text[start : m.start()].strip(), i, (m.group(1), m.start(1))
        j = skip_blank(i)
        if j >= n or text[j] != "[":
            return name, i, None
        end = j + 1
        while end < n and text[end] not in "];\n#":
            end += 1
        if end >= n or text[end] != "]":
            raise parse_error(text, j, "unclosed sign bracket", "write the sign as [+] or [-]",
                              origin)
        return name, end + 1, (text[j + 1 : end], j + 1)

    def add_sign(u: str, v: str, mark: tuple[str, int]) -> None:
        sign, pos = mark[0].strip(), mark[1]
        fix = f"write '{show(u)} -> {show(v)} [+]' or '[-]'"
        if sign not in SIGNS:
            raise parse_error(
                text, pos, f"sign {sign!r} on edge {show(u)} -> {show(v)} is not '+' or '-'",
                fix, origin,
            )
        if signs.get((u, v), sign) != sign:
            raise parse_error(
                text, pos, f"edge {show(u)} -> {show(v)} is signed both '+' and '-'",
                "keep one sign", origin,
            )
        signs[(u, v)] = sign

    while True:
        i = skip_blank(i)
        if i >= n:
            break
        c = text[i]
        if c in ";\n":
            i += 1
            continue
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("->", i):
            raise parse_error(text, i, 'expected a node name before "->"', _EDGE_HINT, origin)
        name, i = read_name(i)
        nodes.setdefault(name, None)
        chain = [name]
        while True:
            i = skip_blank(i)
            if text.startswith("->", i):
                i = skip_blank(i + 2)
                if at_end(i) or text.startswith("->", i):
                    raise parse_error(
                        text,
                        i,
                        f'expected a node name after "->", found {found(i)}',
                        _EDGE_HINT,
                        origin,
                    )
                start = i
                name, i = read_name(i)
                name, i, mark = read_sign(start, name, i)
                nodes.setdefault(name, None)
                edges.append((chain[-1], name))
                if mark is not None:
                    add_sign(chain[-1], name, mark)
                chain.append(name)
                continue
            if at_end(i):
                break
            raise parse_error(
                text,
                i,
                f'expected "->", ";" or a new line after {show(chain[-1])}, found {found(i)}',
                "put a name that holds quotes or symbols entirely in double quotes",
                origin,
            )
    return list(nodes), edges


# --------------------------------------------------------------------------------------------
# GML (networkx's reader and writer)
# --------------------------------------------------------------------------------------------

_GML_HEAD = re.compile(
    r'(?:[A-Za-z]\w*\s+(?:"[^"]*"|[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s+)*graph\s*\[', re.S
)
_LEADING_COMMENTS = re.compile(r"(?:\s+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)


def _gml_error(exc: Exception, origin: str) -> GraphError:
    message = " ".join(str(exc).split()) or type(exc).__name__
    m = re.search(r"\s*at \((\d+), (\d+)\)", message)
    if m:
        message = f"line {m.group(1)}:{m.group(2)}: " + message[: m.start()] + message[m.end() :]
    message = message.replace(";", ",")
    return graph_error(f"GML {message}", "fix the GML text (" + DOCS_HINT + ")", origin)


def _parse_gml(
    text: str, origin: str = "", signs: dict[tuple[str, str], str] | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    try:
        g = _nx_parse_gml(text)
    except Exception as exc:  # networkx lets some malformed GML through as IndexError etc.
        raise _gml_error(exc, origin) from None
    if not g.is_directed() and g.number_of_edges():
        raise graph_error(
            "GML graph is undirected", "add 'directed 1' inside graph [ ... ]", origin
        )
    names: dict[Any, str] = {}
    seen: dict[str, Any] = {}
    for node, data in g.nodes(data=True):
        label = data.get("label", node)
        if isinstance(label, str):
            name = label
        elif label == () or label == []:  # networkx turns the strings "()" / "[]" into these
            name = "()" if label == () else "[]"
        elif isinstance(label, int | float) and not isinstance(label, bool):
            name = str(label)
        else:
            raise graph_error(
                f"GML node {node!r} has a label that is not text", 'write label "name"', origin
            )
        if not name:
            raise graph_error(
                f"GML node {node!r} has an empty label", "give every node a name", origin
            )
        if name in seen:
            raise graph_error(
                f"GML label {name!r} is used by two nodes",
                "give every node its own label",
                origin,
            )
        seen[name] = node
        names[node] = name
    signs = {} if signs is None else signs
    for k, (u, v, sign) in enumerate(g.edges(data="sign")):
        if sign is not None:
            edge = (names[u], names[v])
            where = f"GML edge #{k} {show(edge[0])} -> {show(edge[1])}"
            sign = sign_value(sign, where, origin, 'write sign "+" or sign "-"')
            if signs.setdefault(edge, sign) != sign:
                raise graph_error(f"{where} is signed both '+' and '-'", "keep one sign", origin)
    return list(names.values()), [(names[u], names[v]) for u, v in g.edges()]


def _nx_parse_gml(text: str) -> nx.Graph:
    try:
        return nx.parse_gml(text, label="id")
    except nx.NetworkXError as exc:
        if not re.search(r"edge #\d+ .* is duplicated", str(exc)):
            raise
        # networkx refuses repeated edges unless the graph says 'multigraph 1'; we merge
        # duplicates, so read it again as a multigraph (its edges are collapsed later).
        head = _GML_HEAD.search(text, _LEADING_COMMENTS.match(text).end())
        if head is None:
            raise
        return nx.parse_gml(text[: head.end()] + " multigraph 1 " + text[head.end() :], label="id")


# --------------------------------------------------------------------------------------------
# Sources: text sniffing and files
# --------------------------------------------------------------------------------------------

_FILE_FORMATS = {".dot": "dot", ".gv": "dot", ".gml": "gml", ".txt": "auto", ".edges": "edges"}
_SUFFIX_HINT = "use .dot or .gv (DOT), .gml (GML), .txt or .edges (edge string)"


def _sniff(text: str) -> str:
    """'dot', 'gml' or 'edges', from the first words of ``text``."""
    rest = text[_LEADING_COMMENTS.match(text).end() :]
    word = re.match(r"\w+", rest)
    first = word.group(0).lower() if word else ""
    after = rest[len(first) :].lstrip()
    if first == "strict" and re.match(r"(?i)(di)?graph\b", after):
        return "dot"
    if first == "digraph" and "{" in rest and not after.startswith("->"):
        return "dot"
    if first == "graph":
        if after.startswith("["):
            return "gml"
        if after.startswith("{") or ("{" in rest and not after.startswith("->")):
            return "dot"
    if _GML_HEAD.match(rest):
        return "gml"
    return "edges"


def _looks_like_path(text: str) -> bool:
    if any(s in text for s in ("\n", "\r", "->", ";")):
        return False
    candidate = text.strip()
    if not candidate:
        return False
    try:
        if Path(candidate).is_file():
            return True
    except (OSError, ValueError):  # names too long or with NUL bytes are not paths
        return False
    return re.search(r"\.[A-Za-z][A-Za-z0-9]{0,5}\Z", candidate) is not None


def _parse_text(
    text: str,
    fmt: str = "auto",
    origin: str = "",
    signs: dict[tuple[str, str], str] | None = None,
    latent: set[str] | None = None,
) -> tuple[list[str], list[tuple[str, str]]]:
    if fmt == "auto":
        fmt = _sniff(text)
    if fmt == "dot":
        return parse_dot(text, origin, signs, latent)
    if fmt == "gml":
        return _parse_gml(text, origin, signs)
    return _parse_edge_string(text, origin, signs)


def _read_file(path: str | os.PathLike[str]) -> tuple[str, str, str]:
    """(text, format, origin) of a graph file."""
    p = Path(path)
    suffix = p.suffix.lower()
    fmt = _FILE_FORMATS.get(suffix)
    if fmt is None:
        problem = f"unknown file suffix {suffix!r}" if suffix else "file has no suffix"
        raise graph_error(f"{problem} for {p}", _SUFFIX_HINT)
    if not p.exists():
        raise graph_error(f"file {p} not found", "check the path")
    if not p.is_file():
        raise graph_error(f"{p} is not a file", "pass the path of a graph file")
    try:
        # newline="" keeps carriage returns inside quoted names exactly as written.
        with open(p, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise graph_error(f"file {p} is not UTF-8 text", "save it with UTF-8 encoding") from None
    except OSError as exc:
        raise graph_error(
            f"cannot read file {p} ({exc.strerror})", "check its permissions"
        ) from None
    return text, fmt, str(p)


# --------------------------------------------------------------------------------------------
# Building and validating
# --------------------------------------------------------------------------------------------


def _name(value: Any, origin: str = "") -> str:
    if value is None:
        raise graph_error("a node name is None", "give every node a name", origin)
    name = value if isinstance(value, str) else str(value)
    if not name:
        raise graph_error("empty node name", "give every node a non-empty name", origin)
    return name


def _build(
    nodes: Iterable[Any],
    edges: Iterable[tuple[Any, Any]],
    origin: str = "",
    *,
    signs: Mapping[tuple[Any, Any], Any] | None = None,
    latent: Iterable[Any] = (),
) -> nx.DiGraph:
    node_set = {_name(n, origin) for n in nodes}
    edge_set = {(_name(u, origin), _name(v, origin)) for u, v in edges}
    for u, v in edge_set:
        node_set.update((u, v))
    g = nx.DiGraph()
    # Sorted insertion makes every traversal (and so every message) deterministic.
    g.add_nodes_from(sorted(node_set))
    g.add_edges_from(sorted(edge_set))
    for (u, v), sign in sorted((signs or {}).items(), key=lambda item: tuple(map(str, item[0]))):
        edge = (_name(u, origin), _name(v, origin))
        where = f"edge {show(edge[0])} -> {show(edge[1])}"
        if not g.has_edge(*edge):
            raise graph_error(f"sign on {where}, which is not in the graph",
                              "sign only the graph's edges", origin)
        # The one edge attribute a graph keeps: the declared sign of the edge's effect.
        g.edges[edge]["sign"] = sign_value(sign, where, origin)
    # The one node attribute a graph keeps: declared unobserved (see CausalGraph.declared_latent).
    for name in latent:
        g.nodes[_name(name, origin)]["latent"] = True
    _validate(g, origin)
    return g


def _validate(g: nx.DiGraph, origin: str = "") -> None:
    if g.number_of_nodes() == 0:
        raise graph_error(
            "the graph has no nodes", 'write at least one edge, e.g. "A -> B"', origin
        )
    loops = sorted(u for u, _ in nx.selfloop_edges(g))
    if loops:
        raise graph_error(
            f"self-loop {show(loops[0])} -> {show(loops[0])}",
            "a variable cannot cause itself, remove this edge",
            origin,
        )
    if not nx.is_directed_acyclic_graph(g):
        # Report the shortest cycle through an edge of the first one found: short cycles
        # are the ones a user can read and fix.
        cycles = [nx.shortest_path(g, v, u) for u, v in nx.find_cycle(g)]
        loop = min(cycles, key=len)
        first = loop.index(min(loop))  # start at the smallest name, for stable messages
        loop = loop[first:] + loop[:first]
        path = " -> ".join(show(n) for n in [*loop, loop[0]])
        raise graph_error(
            f"cycle {path}", "a causal graph must be acyclic, remove one of these edges", origin
        )


def _edge_pairs(edges: Iterable[Any]) -> list[tuple[Any, Any]]:
    pairs = []
    for k, edge in enumerate(edges):
        if isinstance(edge, str | bytes) or not isinstance(edge, Iterable):
            raise graph_error(
                f"edge #{k} is {edge!r}, not a (cause, effect) pair",
                "pass edges as pairs like ('A', 'B'), or an edge string like \"A -> B\"",
            )
        pair = tuple(edge)
        if len(pair) != 2:
            raise graph_error(
                f"edge #{k} has {len(pair)} items, not 2",
                "pass edges as (cause, effect) pairs",
            )
        pairs.append(pair)
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise graph_error("the text is not UTF-8", "decode it or save it as UTF-8") from None
    if not isinstance(value, str):
        raise graph_error(f"expected text, got {type(value).__name__}", "pass a string")
    return value


# --------------------------------------------------------------------------------------------
# Readers: each returns a validated networkx.DiGraph
# --------------------------------------------------------------------------------------------


def read_edges(
    edges: Iterable[Any],
    nodes: Iterable[Any] = (),
    *,
    signs: Mapping[tuple[Any, Any], Any] | None = None,
) -> nx.DiGraph:
    """``(cause, effect)`` pairs plus optional isolated ``nodes``; names become ``str``.

    ``signs`` maps ``(cause, effect)`` pairs of the edges to ``"+"`` or ``"-"``.
    """
    if isinstance(nodes, str):
        nodes = [nodes]
    return _build(nodes, _edge_pairs(edges), signs=signs)


def read_edge_string(text: str | bytes) -> nx.DiGraph:
    """An edge string (see :meth:`CausalGraph.from_edge_string`)."""
    signs: dict[tuple[str, str], str] = {}
    return _build(*_parse_edge_string(_text(text), "", signs), signs=signs)


def read_dot(text: str | bytes) -> nx.DiGraph:
    """DOT text (see :meth:`CausalGraph.from_dot`)."""
    signs: dict[tuple[str, str], str] = {}
    latent: set[str] = set()
    return _build(*parse_dot(_text(text), "", signs, latent), signs=signs, latent=latent)


def read_gml(text: str | bytes) -> nx.DiGraph:
    """GML text (see :meth:`CausalGraph.from_gml`)."""
    signs: dict[tuple[str, str], str] = {}
    return _build(*_parse_gml(_text(text), "", signs), signs=signs)


def read_networkx(graph: nx.DiGraph) -> nx.DiGraph:
    """A copy of a networkx ``DiGraph`` or ``MultiDiGraph``; of the attributes only the edges'
    ``sign`` is kept."""
    if not isinstance(graph, nx.Graph):
        raise graph_error(
            f"expected a networkx DiGraph, got {type(graph).__name__}",
            "pass a networkx.DiGraph",
        )
    if not graph.is_directed():
        raise graph_error(
            "the networkx graph is undirected", "a causal graph needs a networkx.DiGraph"
        )
    signs: dict[tuple[str, str], str] = {}
    for u, v, sign in graph.edges(data="sign"):
        if sign is not None:
            where = f"networkx edge {show(str(u))} -> {show(str(v))}"
            sign = sign_value(sign, where)
            if signs.setdefault((str(u), str(v)), sign) != sign:
                raise graph_error(f"{where} is signed both '+' and '-'", "keep one sign")
    latent = [n for n, flag in graph.nodes(data="latent") if flag]
    return _build(graph.nodes, graph.edges(), signs=signs, latent=latent)


def read_file(path: str | os.PathLike[str]) -> nx.DiGraph:
    """A graph file; the suffix picks the format (see :meth:`CausalGraph.parse`)."""
    text, fmt, origin = _read_file(path)
    signs: dict[tuple[str, str], str] = {}
    latent: set[str] = set()
    nodes, edges = _parse_text(text, fmt, origin, signs, latent)
    return _build(nodes, edges, origin, signs=signs, latent=latent)


def read_source(source: GraphSource) -> nx.DiGraph:
    """Any source :meth:`CausalGraph.parse` accepts, other than a ``CausalGraph``."""
    if isinstance(source, nx.Graph):
        return read_networkx(source)
    if isinstance(source, os.PathLike):
        return read_file(source)
    if isinstance(source, str | bytes):
        text = _text(source)
        if _looks_like_path(text):
            return read_file(text.strip())
        signs: dict[tuple[str, str], str] = {}
        latent: set[str] = set()
        nodes, edges = _parse_text(text, signs=signs, latent=latent)
        return _build(nodes, edges, signs=signs, latent=latent)
    if isinstance(source, Iterable) and not isinstance(source, Mapping):
        return read_edges(source)
    raise graph_error(
        f"cannot read a graph from {type(source).__name__}",
        'pass an edge string like "A -> B", DOT or GML text, a file path, '
        "a networkx.DiGraph or a list of (cause, effect) pairs",
    )


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _isolated(g: nx.DiGraph) -> list[str]:
    return [n for n in sorted(g.nodes) if g.degree(n) == 0]


def _mark(g: nx.DiGraph, u: str, v: str) -> str:
    sign = g.edges[u, v].get("sign")
    return f" [{sign}]" if sign else ""


def statements(g: nx.DiGraph) -> list[str]:
    """One edge-string statement per edge (sorted, ``[+]``/``[-]`` when signed), then one per
    isolated node."""
    lines = [f"{edge_name(u)} -> {edge_name(v)}{_mark(g, u, v)}" for u, v in sorted(g.edges)]
    return lines + [edge_name(n) for n in _isolated(g)]


def write_edge_string(g: nx.DiGraph) -> str:
    """The graph as an edge string, one edge (or isolated node) per line."""
    return "\n".join(statements(g)) + "\n"


def write_dot(g: nx.DiGraph) -> str:
    """The graph as DOT text."""
    lines = [
        f"  {dot_name(u)} -> {dot_name(v)}"
        + (f' [sign="{g.edges[u, v]["sign"]}"]' if g.edges[u, v].get("sign") else "")
        + ";"
        for u, v in sorted(g.edges)
    ]
    lines += [f"  {dot_name(n)};" for n in _isolated(g)]
    declared = sorted(n for n, flag in g.nodes(data="latent") if flag)
    lines += [f"  {dot_name(n)} [latent=true];" for n in declared]
    return "digraph {\n" + "".join(line + "\n" for line in lines) + "}\n"


def write_gml(g: nx.DiGraph) -> str:
    """The graph as GML text (written by networkx)."""
    return "\n".join(nx.generate_gml(g)) + "\n"
