"""Stage: the causal graph — parsing, validation and the structural queries verdicts need.

A :class:`CausalGraph` is an immutable DAG over named variables. It can be written as an
edge string (``"A -> B; B -> C"``), DOT, GML, a networkx ``DiGraph``, a list of
``(cause, effect)`` pairs or a file in one of those text formats. Every constructor
validates the graph (acyclic, no self-loop, non-empty) and reports bad input as a one-line
:class:`~causalinterp.errors.GraphError`.

The structural queries (back-door sets, confounders, mediators, colliders) are built on
networkx's d-separation algorithms and answer one question for the verdicts: can a model's
partial dependence on a feature be read as that feature's total causal effect?
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import networkx as nx

from causalinterp.errors import GraphError

__all__ = ["CausalGraph", "FeatureSetDiagnosis", "GraphSource"]

GraphSource: TypeAlias = Any
"""Anything :meth:`CausalGraph.parse` accepts."""


@dataclass(frozen=True)
class FeatureSetDiagnosis:
    """How a model's feature set stands against the DAG, for one feature (the treatment).

    The question answered is: can the model's partial dependence on the treatment ``t`` be
    read as the total causal effect of ``t`` on the outcome ``y``? With ``S`` the model's
    other features, it can when ``S`` is a valid adjustment set: no mediator, no
    descendant of a collider, every back-door path blocked. Each field names one way it
    fails. All name tuples are sorted.

    Attributes
    ----------
    mediators_in_model : tuple of str
        Features in ``S`` that lie on a directed path ``t -> ... -> y``. Holding them fixed
        leaves the model only the direct effect of ``t``.
    missing_confounders : tuple of str
        Observed confounders of ``t`` and ``y`` (see :meth:`CausalGraph.confounders`) that
        are not in ``S`` and lie on a back-door path left open by ``S``.
    latent_confounders : tuple of str
        As ``missing_confounders``, for confounders absent from the data.
    outcome_descendant : bool
        ``t`` is a descendant of ``y``: the model uses a consequence of the outcome
        (leakage or reverse causation).
    colliders_in_model : tuple of str
        Features in ``S`` whose conditioning opens a non-causal path between ``t`` and
        ``y`` (see :meth:`CausalGraph.feature_set_diagnosis`).

    Examples
    --------
    >>> g = CausalGraph.parse("z -> x; z -> y; x -> m -> y")
    >>> d = g.feature_set_diagnosis("x", "y", ["x", "m"], observed=["x", "m", "y", "z"])
    >>> d.mediators_in_model, d.missing_confounders
    (('m',), ('z',))
    """

    mediators_in_model: tuple[str, ...]
    missing_confounders: tuple[str, ...]
    latent_confounders: tuple[str, ...]
    outcome_descendant: bool
    colliders_in_model: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Errors and name display
# --------------------------------------------------------------------------------------------

_DOCS_HINT = "see docs/graphs.md for the syntax"


def _error(problem: str, fix: str, origin: str = "") -> GraphError:
    where = f"{origin}: " if origin else ""
    return GraphError(f"graph: {where}{problem}; {fix}")


def _position(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}:{column}"


def _parse_error(text: str, pos: int, problem: str, fix: str, origin: str) -> GraphError:
    return _error(f"{_position(text, pos)}: {problem}", fix, origin)


def _show(name: str) -> str:
    """A node name as written in an edge string (for cycles and syntax errors: the user can
    find it in, or paste it into, the graph text)."""
    return _edge_name(name)


def _names(names: Iterable[Any]) -> str:
    """Names quoted as in every other message of the package: 'a', 'b'."""
    return ", ".join(repr(n) for n in sorted(names, key=str))


# --------------------------------------------------------------------------------------------
# Edge strings:  A -> B -> C; "a name" -> D   # comment
# --------------------------------------------------------------------------------------------

_EDGE_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_EDGE_ESCAPE_OUT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_EDGE_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
# Names that must be quoted in an edge string: they hold syntax, or they would make the text
# look like DOT/GML/comments to the format sniffer.
_EDGE_UNSAFE = re.compile(r'[;#"\n\r\t]|->|<-')
_SNIFF_KEYWORD = re.compile(r"(?i)(strict|digraph|graph)\b")
_EDGE_HINT = 'write each edge as A -> B, one per line or separated by ";"'


def _edge_name(name: str) -> str:
    if (
        name
        and name == name.strip()
        and not _EDGE_UNSAFE.search(name)
        and not _SNIFF_KEYWORD.match(name)
        and not name.startswith("/")
    ):
        return name
    return '"' + "".join(_EDGE_ESCAPE_OUT.get(c, c) for c in name) + '"'


def _is_blank(c: str) -> bool:
    return c != "\n" and c.isspace()


def _parse_edge_string(text: str, origin: str = "") -> tuple[list[str], list[tuple[str, str]]]:
    """Parse the edge-string grammar; return (nodes in order of appearance, edges)."""
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
                raise _parse_error(
                    text, i, "unterminated quoted name", 'close it with a double quote "', origin
                )
            raw = m.group(1)
            for esc in re.finditer(r"\\(.)", raw, re.S):
                if esc.group(1) not in _EDGE_ESCAPES:
                    raise _parse_error(
                        text,
                        i + 1 + esc.start(),
                        f"unknown escape \\{esc.group(1)} in a quoted name",
                        'inside quotes write \\" for a quote, \\\\ for a backslash, '
                        "\\n for a new line, \\t for a tab",
                        origin,
                    )
            name = re.sub(r"\\(.)", lambda e: _EDGE_ESCAPES[e.group(1)], raw, flags=re.S)
            if not name:
                raise _parse_error(
                    text, i, "empty name", "give every node a non-empty name", origin
                )
            return name, m.end()
        j = i
        while j < n and text[j] not in ';\n#"' and not text.startswith("->", j):
            j += 1
        raw = text[i:j]
        name = raw.strip()
        if not name:
            raise _parse_error(
                text, i, f"expected a node name, found {found(i)}", _EDGE_HINT, origin
            )
        if j < n and text[j] == '"':
            raise _parse_error(
                text,
                j,
                "a double quote inside a name",
                'quote the whole name and escape inner quotes: "say \\"hi\\""',
                origin,
            )
        back = raw.find("<-")
        if back >= 0:
            raise _parse_error(
                text,
                i + back,
                '"<-" is not an arrow here',
                'write edges cause first: B -> A (quote names that contain "<-")',
                origin,
            )
        if text.startswith("->", j) and raw.endswith("-"):
            raise _parse_error(
                text, j - 1, '"-->" is not an arrow', "write A -> B with a single dash", origin
            )
        return name, j

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
            raise _parse_error(text, i, 'expected a node name before "->"', _EDGE_HINT, origin)
        name, i = read_name(i)
        nodes.setdefault(name, None)
        chain = [name]
        while True:
            i = skip_blank(i)
            if text.startswith("->", i):
                i = skip_blank(i + 2)
                if at_end(i) or text.startswith("->", i):
                    raise _parse_error(
                        text,
                        i,
                        f'expected a node name after "->", found {found(i)}',
                        _EDGE_HINT,
                        origin,
                    )
                name, i = read_name(i)
                nodes.setdefault(name, None)
                edges.append((chain[-1], name))
                chain.append(name)
                continue
            if at_end(i):
                break
            raise _parse_error(
                text,
                i,
                f'expected "->", ";" or a new line after {_show(chain[-1])}, found {found(i)}',
                "put a name that holds quotes or symbols entirely in double quotes",
                origin,
            )
    return list(nodes), edges


# --------------------------------------------------------------------------------------------
# DOT
# --------------------------------------------------------------------------------------------
# A hand-written parser for the DOT subset a causal graph needs. pydot (what networkx uses)
# was tried first: it mangles escaped quotes in names ("say \"hi\"" becomes `say \"hi\`),
# prints syntax errors to stdout and returns None instead of raising with a position, so
# neither exact round trips nor line:column errors were possible through it.

_DOT_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})
_DOT_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOT_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n\f\v]+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<quoted>"(?:[^"\\]|\\.)*")
  | (?P<arrow>->)
  | (?P<undirected>--)
  | (?P<numeral>-?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))
  | (?P<id>[A-Za-z_\u0080-\U0010FFFF][A-Za-z0-9_\u0080-\U0010FFFF]*)
  | (?P<punct>[{}\[\]=;,:+])
    """,
    re.X | re.S,
)
_DOT_MAX_DEPTH = 100
_DOT_HINT = "fix the DOT text (" + _DOCS_HINT + ")"


@dataclass(frozen=True)
class _Tok:
    kind: str  # "id", "->", "--", one punctuation character, or "eof"
    value: str
    pos: int
    quoted: bool = False

    def keyword(self) -> str | None:
        low = self.value.lower()
        return low if self.kind == "id" and not self.quoted and low in _DOT_KEYWORDS else None


def _dot_unescape(body: str) -> str:
    # DOT's only escape is \" ; we also read \\ as one backslash (what to_dot writes) and
    # drop backslash-newline (DOT's line continuation). Other backslashes stay as written.
    def repl(m: re.Match[str]) -> str:
        c = m.group(1)
        if c in ('"', "\\"):
            return c
        if c in ("\n", "\r\n"):
            return ""
        return "\\" + c

    return re.sub(r"\\(\r\n|[\s\S])", repl, body)


def _dot_tokens(text: str, origin: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "#" and text[text.rfind("\n", 0, i) + 1 : i].strip() == "":
            # A line starting with '#' is C preprocessor output; DOT ignores it.
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c == "<":
            depth, j = 0, i
            while j < n:
                if text[j] == "<":
                    depth += 1
                elif text[j] == ">":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
                raise _parse_error(text, i, "unterminated <...> name", "close it with >", origin)
            tokens.append(_Tok("id", text[i + 1 : j], i, quoted=True))
            i = j + 1
            continue
        m = _DOT_TOKEN.match(text, i)
        if m is None:
            if c == '"':
                raise _parse_error(
                    text, i, "unterminated quoted name", 'close it with a double quote "', origin
                )
            if text.startswith("/*", i):
                raise _parse_error(text, i, "unterminated comment", "close it with */", origin)
            raise _parse_error(
                text,
                i,
                f"unexpected character {c!r}",
                'quote names that contain symbols: "my name"',
                origin,
            )
        kind = m.lastgroup
        value = m.group(0)
        if kind == "quoted":
            tokens.append(_Tok("id", _dot_unescape(value[1:-1]), i, quoted=True))
        elif kind == "numeral":
            nxt = m.end()
            if nxt < n and re.match(r"[A-Za-z_\u0080-\U0010FFFF]", text[nxt]):
                raise _parse_error(
                    text,
                    i,
                    f"a name starting with a digit ({value}{text[nxt]}...)",
                    'quote it: "2nd visit"',
                    origin,
                )
            tokens.append(_Tok("id", value, i))
        elif kind == "id":
            tokens.append(_Tok("id", value, i))
        elif kind in ("arrow", "undirected", "punct"):
            tokens.append(_Tok(value, value, i))
        i = m.end()
    tokens.append(_Tok("eof", "", n))
    return tokens


class _DotParser:
    """Recursive descent over the DOT grammar; attributes are read and ignored."""

    def __init__(self, text: str, origin: str) -> None:
        self.text = text
        self.origin = origin
        self.tokens = _dot_tokens(text, origin)
        self.i = 0
        self.nodes: dict[str, None] = {}
        self.edges: list[tuple[str, str]] = []
        self.depth = 0

    # -- helpers ------------------------------------------------------------------------
    def peek(self, k: int = 0) -> _Tok:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else self.tokens[-1]

    def next(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def fail(self, tok: _Tok, problem: str, fix: str = _DOT_HINT) -> GraphError:
        return _parse_error(self.text, tok.pos, problem, fix, self.origin)

    @staticmethod
    def describe(tok: _Tok) -> str:
        if tok.kind == "eof":
            return "the end of the text"
        if tok.kind == "id":
            return _show(tok.value) if tok.quoted else tok.value
        return repr(tok.value)

    def expect(self, kind: str, what: str) -> _Tok:
        tok = self.peek()
        if tok.kind != kind:
            raise self.fail(tok, f"expected {what}, found {self.describe(tok)}")
        return self.next()

    def id_value(self) -> str:
        tok = self.expect("id", "a name")
        value = tok.value
        # "abc" + "def" concatenates quoted strings.
        while tok.quoted and self.peek().kind == "+" and self.peek(1).quoted:
            self.next()
            tok = self.next()
            value += tok.value
        return value

    # -- grammar ------------------------------------------------------------------------
    def parse(self) -> tuple[list[str], list[tuple[str, str]]]:
        tok = self.peek()
        if tok.keyword() == "strict":
            self.next()
            tok = self.peek()
        if tok.keyword() == "graph":
            raise self.fail(
                tok,
                "undirected graph",
                "a causal graph needs directed edges: write digraph { A -> B }",
            )
        if tok.keyword() != "digraph":
            raise self.fail(
                tok,
                f'expected "digraph", found {self.describe(tok)}',
                "start DOT text with digraph { ... }",
            )
        self.next()
        if self.peek().kind == "id":
            self.id_value()
        self.expect("{", '"{"')
        self.stmt_list()
        self.expect("}", '"}"')
        tok = self.peek()
        if tok.kind != "eof":
            raise self.fail(
                tok,
                f"unexpected {self.describe(tok)} after the closing }}",
                "put one graph per text or file",
            )
        return list(self.nodes), self.edges

    def stmt_list(self) -> dict[str, None]:
        mentioned: dict[str, None] = {}
        while True:
            tok = self.peek()
            if tok.kind in ("}", "eof"):
                return mentioned
            if tok.kind == ";":
                self.next()
                continue
            self.stmt(mentioned)

    def stmt(self, mentioned: dict[str, None]) -> None:
        tok = self.peek()
        kw = tok.keyword()
        if kw in ("graph", "node", "edge"):
            self.next()
            if self.peek().kind == "[":
                self.attr_list()
                return
            raise self.fail(
                tok,
                f'"{tok.value}" is a DOT keyword',
                f'to use it as a name, quote it: "{tok.value}"',
            )
        if tok.kind == "id" and self.peek(1).kind == "=":
            self.id_value()
            self.next()
            self.id_value()
            return
        left = self.operand(mentioned)
        while self.peek().kind in ("->", "--"):
            arrow = self.next()
            if arrow.kind == "--":
                raise self.fail(
                    arrow,
                    'undirected edge "--"',
                    "a causal graph needs directed edges: write A -> B",
                )
            if self.peek().kind not in ("id", "{"):
                nxt = self.peek()
                raise self.fail(
                    nxt,
                    f'expected a node name after "->", found {self.describe(nxt)}',
                    "write each edge as A -> B",
                )
            right = self.operand(mentioned)
            self.edges.extend((u, v) for u in left for v in right)
            left = right
        if self.peek().kind == "[":
            self.attr_list()

    def operand(self, mentioned: dict[str, None]) -> list[str]:
        tok = self.peek()
        if tok.kind == "{" or tok.keyword() == "subgraph":
            if tok.keyword() == "subgraph":
                self.next()
                if self.peek().kind == "id":
                    self.id_value()
            opening = self.expect("{", '"{"')
            self.depth += 1
            if self.depth > _DOT_MAX_DEPTH:
                raise self.fail(opening, "subgraphs nested too deeply", "flatten the subgraphs")
            inner = self.stmt_list()
            self.expect("}", '"}"')
            self.depth -= 1
            mentioned.update(inner)
            return list(inner)
        kw = tok.keyword()
        if kw is not None:
            raise self.fail(
                tok,
                f'"{tok.value}" is a DOT keyword',
                f'to use it as a name, quote it: "{tok.value}"',
            )
        if tok.kind != "id":
            raise self.fail(tok, f"expected a node name, found {self.describe(tok)}")
        name = self.id_value()
        if not name:
            raise self.fail(tok, "empty name", "give every node a non-empty name")
        if self.peek().kind == ":":  # a port (A:p or A:p:n) names a point on node A
            self.next()
            self.expect("id", "a port name after ':'")
            if self.peek().kind == ":":
                self.next()
                self.expect("id", "a compass point after ':'")
        self.nodes.setdefault(name, None)
        mentioned.setdefault(name, None)
        return [name]

    def attr_list(self) -> None:
        while self.peek().kind == "[":
            self.next()
            while self.peek().kind != "]":
                tok = self.peek()
                if tok.kind != "id":
                    raise self.fail(tok, f"expected an attribute or ], found {self.describe(tok)}")
                self.id_value()
                if self.peek().kind == "=":
                    self.next()
                    if self.peek().kind != "id":
                        tok = self.peek()
                        raise self.fail(
                            tok, f"expected an attribute value, found {self.describe(tok)}"
                        )
                    self.id_value()
                if self.peek().kind in (";", ","):
                    self.next()
            self.next()


def _dot_name(name: str) -> str:
    if _DOT_PLAIN.fullmatch(name) and name.lower() not in _DOT_KEYWORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
    return _error(f"GML {message}", "fix the GML text (" + _DOCS_HINT + ")", origin)


def _parse_gml(text: str, origin: str = "") -> tuple[list[str], list[tuple[str, str]]]:
    try:
        g = _nx_parse_gml(text)
    except Exception as exc:  # networkx lets some malformed GML through as IndexError etc.
        raise _gml_error(exc, origin) from None
    if not g.is_directed() and g.number_of_edges():
        raise _error("GML graph is undirected", "add 'directed 1' inside graph [ ... ]", origin)
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
            raise _error(
                f"GML node {node!r} has a label that is not text", 'write label "name"', origin
            )
        if not name:
            raise _error(f"GML node {node!r} has an empty label", "give every node a name", origin)
        if name in seen:
            raise _error(
                f"GML label {name!r} is used by two nodes",
                "give every node its own label",
                origin,
            )
        seen[name] = node
        names[node] = name
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
    text: str, fmt: str = "auto", origin: str = ""
) -> tuple[list[str], list[tuple[str, str]]]:
    if fmt == "auto":
        fmt = _sniff(text)
    if fmt == "dot":
        return _DotParser(text, origin).parse()
    if fmt == "gml":
        return _parse_gml(text, origin)
    return _parse_edge_string(text, origin)


def _read_file(path: str | os.PathLike[str]) -> tuple[str, str, str]:
    """(text, format, origin) of a graph file."""
    p = Path(path)
    suffix = p.suffix.lower()
    fmt = _FILE_FORMATS.get(suffix)
    if fmt is None:
        problem = f"unknown file suffix {suffix!r}" if suffix else "file has no suffix"
        raise _error(f"{problem} for {p}", _SUFFIX_HINT)
    if not p.exists():
        raise _error(f"file {p} not found", "check the path")
    if not p.is_file():
        raise _error(f"{p} is not a file", "pass the path of a graph file")
    try:
        # newline="" keeps carriage returns inside quoted names exactly as written.
        with open(p, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise _error(f"file {p} is not UTF-8 text", "save it with UTF-8 encoding") from None
    except OSError as exc:
        raise _error(f"cannot read file {p} ({exc.strerror})", "check its permissions") from None
    return text, fmt, str(p)


# --------------------------------------------------------------------------------------------
# Building and validating
# --------------------------------------------------------------------------------------------


def _name(value: Any, origin: str = "") -> str:
    if value is None:
        raise _error("a node name is None", "give every node a name", origin)
    name = value if isinstance(value, str) else str(value)
    if not name:
        raise _error("empty node name", "give every node a non-empty name", origin)
    return name


def _build(nodes: Iterable[Any], edges: Iterable[tuple[Any, Any]], origin: str = "") -> nx.DiGraph:
    node_set = {_name(n, origin) for n in nodes}
    edge_set = {(_name(u, origin), _name(v, origin)) for u, v in edges}
    for u, v in edge_set:
        node_set.update((u, v))
    g = nx.DiGraph()
    # Sorted insertion makes every traversal (and so every message) deterministic.
    g.add_nodes_from(sorted(node_set))
    g.add_edges_from(sorted(edge_set))
    _validate(g, origin)
    return g


def _validate(g: nx.DiGraph, origin: str = "") -> None:
    if g.number_of_nodes() == 0:
        raise _error("the graph has no nodes", 'write at least one edge, e.g. "A -> B"', origin)
    loops = sorted(u for u, _ in nx.selfloop_edges(g))
    if loops:
        raise _error(
            f"self-loop {_show(loops[0])} -> {_show(loops[0])}",
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
        path = " -> ".join(_show(n) for n in [*loop, loop[0]])
        raise _error(
            f"cycle {path}", "a causal graph must be acyclic, remove one of these edges", origin
        )


def _edge_pairs(edges: Iterable[Any]) -> list[tuple[Any, Any]]:
    pairs = []
    for k, edge in enumerate(edges):
        if isinstance(edge, str | bytes) or not isinstance(edge, Iterable):
            raise _error(
                f"edge #{k} is {edge!r}, not a (cause, effect) pair",
                "pass edges as pairs like ('A', 'B'), or an edge string like \"A -> B\"",
            )
        pair = tuple(edge)
        if len(pair) != 2:
            raise _error(
                f"edge #{k} has {len(pair)} items, not 2",
                "pass edges as (cause, effect) pairs",
            )
        pairs.append(pair)
    return pairs


def _restore(nodes: tuple[str, ...], edges: tuple[tuple[str, str], ...]) -> CausalGraph:
    return CausalGraph.from_edges(edges, nodes)


# --------------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------------


class CausalGraph:
    """An immutable causal DAG over named variables.

    Build one with :meth:`parse` (which takes any supported source), or with a specific
    constructor: :meth:`from_edges`, :meth:`from_edge_string`, :meth:`from_dot`,
    :meth:`from_gml`, :meth:`from_networkx`, :meth:`from_file`. ``CausalGraph(source)`` is
    the same as ``CausalGraph.parse(source)``. Every constructor checks that the graph is
    non-empty, has no self-loop and no cycle; duplicate edges are merged.

    Node names are arbitrary non-empty strings (spaces, unicode, punctuation, quotes,
    HTML). Two graphs are equal when they have the same nodes and edges.

    Parameters
    ----------
    source : CausalGraph, networkx.DiGraph, list of (str, str), str or path
        See :meth:`parse`.

    Raises
    ------
    GraphError
        The source cannot be read or is not a DAG.

    Examples
    --------
    >>> g = CausalGraph.parse("age -> income; age -> spend; income -> spend")
    >>> g.nodes
    ('age', 'income', 'spend')
    >>> sorted(g.parents("spend"))
    ['age', 'income']
    >>> g.backdoor_adjustment_set("income", "spend", observed=g.nodes)
    frozenset({'age'})
    >>> CausalGraph.parse(g.to_dot()) == g
    True
    """

    __slots__ = ("_edges", "_g", "_nodes")

    _g: nx.DiGraph
    _nodes: tuple[str, ...]
    _edges: tuple[tuple[str, str], ...]

    def __init__(self, source: GraphSource) -> None:
        self._set(_load(source)._g)

    def _set(self, g: nx.DiGraph) -> None:
        object.__setattr__(self, "_g", g)
        object.__setattr__(self, "_nodes", tuple(sorted(g.nodes)))
        object.__setattr__(self, "_edges", tuple(sorted(g.edges)))

    @classmethod
    def _wrap(cls, g: nx.DiGraph) -> CausalGraph:
        obj = cls.__new__(cls)
        obj._set(g)
        return obj

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("CausalGraph is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self._nodes, self._edges))

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def parse(cls, source: GraphSource) -> CausalGraph:
        """Build a graph from any supported source.

        Parameters
        ----------
        source : CausalGraph, networkx.DiGraph, list of pairs, str, bytes or path
            - a ``CausalGraph`` (returned as is, it is immutable);
            - a networkx ``DiGraph`` or ``MultiDiGraph`` (attributes are dropped);
            - a list or tuple of ``(cause, effect)`` pairs;
            - a ``pathlib.Path``, or a one-line string that names a file or ends in a file
              suffix: the file is read by suffix (``.dot``/``.gv`` DOT, ``.gml`` GML,
              ``.edges`` edge string, ``.txt`` any text format);
            - text: DOT when it starts with ``digraph``/``strict``/``graph ... {``, GML when
              it starts with ``graph [``, otherwise an edge string (comments may come first).

        Returns
        -------
        CausalGraph

        Raises
        ------
        GraphError
            Unreadable source (with ``line:column`` for text), unknown file suffix, missing
            file, empty graph, self-loop or cycle.
        """
        if isinstance(source, cls):
            return source
        return _load(source)

    @classmethod
    def from_edges(cls, edges: Iterable[Any], nodes: Iterable[Any] = ()) -> CausalGraph:
        """Build a graph from ``(cause, effect)`` pairs, plus optional isolated ``nodes``.

        Names that are not strings are converted with ``str``.

        Examples
        --------
        >>> CausalGraph.from_edges([("a", "b")], nodes=["c"]).nodes
        ('a', 'b', 'c')
        """
        if isinstance(nodes, str):
            nodes = [nodes]
        return cls._wrap(_build(nodes, _edge_pairs(edges)))

    @classmethod
    def from_edge_string(cls, text: str) -> CausalGraph:
        """Build a graph from an edge string.

        Statements are separated by ``;`` or new lines; a statement is a chain
        ``A -> B -> C`` or a single name (an isolated node). Unquoted names run up to the
        next ``->``, ``;``, new line or ``#`` and are stripped of surrounding spaces. Names in
        double quotes may hold anything; inside quotes ``\\"``, ``\\\\``, ``\\n``, ``\\r``,
        ``\\t`` are escapes. ``#`` starts a comment to the end of the line.

        Examples
        --------
        >>> CausalGraph.from_edge_string('"tenure (years)" -> churn  # comment').edges
        (('tenure (years)', 'churn'),)
        """
        nodes, edges = _parse_edge_string(_text(text))
        return cls._wrap(_build(nodes, edges))

    @classmethod
    def from_dot(cls, text: str) -> CausalGraph:
        """Build a graph from DOT text (``digraph { ... }``).

        Supported: ``strict``, an optional graph name, node and edge statements, chains
        ``A -> B -> C``, subgraphs ``{A B} -> C``, ports, attribute lists (ignored), bare,
        numeral, quoted (``\\"`` and ``\\\\`` escapes) and ``<...>`` names, ``//``,
        ``/* */`` and ``#`` comments. Undirected graphs and ``--`` edges are errors.
        """
        nodes, edges = _DotParser(_text(text), "").parse()
        return cls._wrap(_build(nodes, edges))

    @classmethod
    def from_gml(cls, text: str) -> CausalGraph:
        """Build a graph from GML text (read with :func:`networkx.parse_gml`).

        A node's name is its ``label`` (its ``id`` when it has none). The graph must say
        ``directed 1`` when it has edges.
        """
        nodes, edges = _parse_gml(_text(text))
        return cls._wrap(_build(nodes, edges))

    @classmethod
    def from_networkx(cls, graph: nx.DiGraph) -> CausalGraph:
        """Build a graph from a networkx ``DiGraph`` (a copy; attributes are dropped)."""
        if not isinstance(graph, nx.Graph):
            raise _error(
                f"expected a networkx DiGraph, got {type(graph).__name__}",
                "pass a networkx.DiGraph",
            )
        if not graph.is_directed():
            raise _error(
                "the networkx graph is undirected", "a causal graph needs a networkx.DiGraph"
            )
        return cls._wrap(_build(graph.nodes, graph.edges()))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> CausalGraph:
        """Read a graph file; the suffix picks the format (see :meth:`parse`)."""
        text, fmt, origin = _read_file(path)
        nodes, edges = _parse_text(text, fmt, origin)
        return cls._wrap(_build(nodes, edges, origin))

    # -- structure ----------------------------------------------------------------------
    @property
    def nodes(self) -> tuple[str, ...]:
        """All node names, sorted."""
        return self._nodes

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """All ``(cause, effect)`` edges, sorted."""
        return self._edges

    def to_networkx(self) -> nx.DiGraph:
        """A new networkx ``DiGraph`` with the same nodes and edges (a copy)."""
        return self._g.copy()

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._g

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalGraph):
            return NotImplemented
        return self._nodes == other._nodes and self._edges == other._edges

    def __hash__(self) -> int:
        return hash((self._nodes, self._edges))

    def __repr__(self) -> str:
        statements = self._statements()
        if len(statements) <= 12:
            return f"CausalGraph.parse({'; '.join(statements)!r})"
        return f"<CausalGraph: {len(self._nodes)} nodes, {len(self._edges)} edges>"

    # -- writers ------------------------------------------------------------------------
    def _isolated(self) -> list[str]:
        return [n for n in self._nodes if self._g.degree(n) == 0]

    def _statements(self) -> list[str]:
        lines = [f"{_edge_name(u)} -> {_edge_name(v)}" for u, v in self._edges]
        return lines + [_edge_name(n) for n in self._isolated()]

    def to_edge_string(self) -> str:
        """The graph as an edge string, one edge (or isolated node) per line.

        ``CausalGraph.parse(g.to_edge_string()) == g`` for every graph.
        """
        return "\n".join(self._statements()) + "\n"

    def to_dot(self) -> str:
        """The graph as DOT text; reading it back gives an equal graph."""
        lines = [f"  {_dot_name(u)} -> {_dot_name(v)};" for u, v in self._edges]
        lines += [f"  {_dot_name(n)};" for n in self._isolated()]
        return "digraph {\n" + "".join(line + "\n" for line in lines) + "}\n"

    def to_gml(self) -> str:
        """The graph as GML text (written by networkx); reading it back gives an equal graph."""
        return "\n".join(nx.generate_gml(self._g)) + "\n"

    # -- checks -------------------------------------------------------------------------
    def _close(self, name: str) -> str:
        lowered = {n.lower(): n for n in self._nodes}
        matches = difflib.get_close_matches(name, self._nodes, n=3, cutoff=0.6)
        if name.lower() in lowered and lowered[name.lower()] not in matches:
            matches.insert(0, lowered[name.lower()])
        return f" (did you mean {_names(matches)}?)" if matches else ""

    def _need(self, name: Any, role: str = "node") -> str:
        if not isinstance(name, str) or name not in self._g:
            close = self._close(name) if isinstance(name, str) else ""
            raise _error(
                f"{role} {name!r} is not in the graph{close}",
                "check the spelling or add the node to the graph",
            )
        return name

    def _need_all(self, names: Any, role: str) -> frozenset[str]:
        if isinstance(names, str):
            names = [names]
        out = frozenset(names)
        for name in sorted(out, key=str):
            self._need(name, role)
        return out

    def validate_request(self, outcome: str, features: Iterable[str]) -> None:
        """Check that ``outcome`` and every feature are nodes of the graph.

        Raises
        ------
        GraphError
            Naming the outcome or every unknown feature, with close matches.
        """
        self._need(outcome, "outcome")
        if isinstance(features, str):
            features = [features]
        unknown = [f for f in dict.fromkeys(features) if f not in self]
        if unknown:
            parts = [repr(f) + (self._close(f) if isinstance(f, str) else "") for f in unknown]
            noun = "feature" if len(unknown) == 1 else "features"
            verb = "is" if len(unknown) == 1 else "are"
            raise _error(
                f"{noun} {', '.join(parts)} {verb} not in the graph",
                "check the spelling or add them to the graph",
            )

    # -- local structure ----------------------------------------------------------------
    def parents(self, node: str) -> frozenset[str]:
        """Direct causes of ``node``."""
        return frozenset(self._g.predecessors(self._need(node)))

    def children(self, node: str) -> frozenset[str]:
        """Direct effects of ``node``."""
        return frozenset(self._g.successors(self._need(node)))

    def ancestors(self, node: str) -> frozenset[str]:
        """Nodes with a directed path to ``node`` (``node`` excluded)."""
        return frozenset(nx.ancestors(self._g, self._need(node)))

    def descendants(self, node: str) -> frozenset[str]:
        """Nodes reached by a directed path from ``node`` (``node`` excluded)."""
        return frozenset(nx.descendants(self._g, self._need(node)))

    def has_directed_path(self, source: str, target: str) -> bool:
        """Whether a directed path ``source -> ... -> target`` exists (False if equal)."""
        self._need(source)
        self._need(target)
        return source != target and nx.has_path(self._g, source, target)

    def is_descendant_of(self, node: str, other: str) -> bool:
        """Whether ``node`` is a (strict) descendant of ``other``."""
        return self.has_directed_path(other, node)

    def latent(self, observed: Iterable[str]) -> frozenset[str]:
        """Nodes not in ``observed`` (names in ``observed`` outside the graph are ignored)."""
        if isinstance(observed, str):
            observed = [observed]
        return frozenset(self._g.nodes) - frozenset(observed)

    # -- causal structure ---------------------------------------------------------------
    def _pair(self, treatment: str, outcome: str) -> tuple[str, str]:
        t = self._need(treatment, "treatment")
        y = self._need(outcome, "outcome")
        if t == y:
            raise _error(
                f"treatment and outcome are the same node {t!r}",
                "pick two different nodes",
            )
        return t, y

    def mediators(self, treatment: str, outcome: str) -> frozenset[str]:
        """Nodes on a directed path ``treatment -> ... -> outcome`` (ends excluded).

        That is descendants(treatment) ∩ ancestors(outcome).
        """
        t, y = self._pair(treatment, outcome)
        return frozenset(nx.descendants(self._g, t) & nx.ancestors(self._g, y))

    def confounders(self, treatment: str, outcome: str) -> frozenset[str]:
        """Common causes of ``treatment`` and ``outcome``.

        A node ``c`` is a confounder when it is an ancestor of ``treatment`` and has a
        directed path to ``outcome`` that does not pass through ``treatment``; such a node
        starts a back-door path ``treatment <- ... c ... -> outcome``. Common ancestors
        whose every path to ``outcome`` goes through ``treatment`` (causes of the treatment
        only, such as instruments) are not confounders.

        Examples
        --------
        >>> g = CausalGraph.parse("u -> x; u -> y; z -> x; x -> y")
        >>> sorted(g.confounders("x", "y"))
        ['u']
        """
        t, y = self._pair(treatment, outcome)
        without_t = nx.restricted_view(self._g, [t], [])
        return frozenset(nx.ancestors(self._g, t) & nx.ancestors(without_t, y))

    def is_d_separated(
        self, x: str | Iterable[str], y: str | Iterable[str], given: str | Iterable[str] = ()
    ) -> bool:
        """Whether ``x`` and ``y`` are d-separated given ``given`` (``networkx.is_d_separator``).

        Each argument is a node name or a collection of names; the three sets must be
        disjoint.
        """
        xs = self._need_all(x, "node")
        ys = self._need_all(y, "node")
        zs = self._need_all(given, "node")
        overlap = (xs & ys) | (xs & zs) | (ys & zs)
        if overlap:
            raise _error(
                f"d-separation sets overlap in {_names(overlap)}",
                "pass disjoint x, y and given",
            )
        return nx.is_d_separator(self._g, set(xs), set(ys), set(zs))

    def _proper_backdoor_graph(self, t: str, y: str) -> nx.DiGraph:
        # Remove the first edge of every proper causal path t -> ... -> y: what is left
        # connecting t and y is non-causal (Perković et al., 2018).
        an_y = nx.ancestors(self._g, y) | {y}
        g = self._g.copy()
        g.remove_edges_from([(t, c) for c in self._g.successors(t) if c in an_y])
        return g

    def backdoor_adjustment_set(
        self, treatment: str, outcome: str, observed: Iterable[str]
    ) -> frozenset[str] | None:
        """A minimal valid back-door adjustment set over observed nodes, or None.

        The set contains no descendant of ``treatment`` and d-separates ``treatment`` from
        ``outcome`` in the proper back-door graph (the DAG without the first edge of each
        directed path ``treatment -> ... -> outcome``); that is Pearl's back-door
        criterion. It is found with :func:`networkx.find_minimal_d_separator`, restricted to
        observed non-descendants of ``treatment``, so it is inclusion-minimal and
        deterministic. ``frozenset()`` means no adjustment is needed.

        Parameters
        ----------
        treatment, outcome : str
        observed : iterable of str
            Nodes present in the data; names outside the graph are ignored.

        Returns
        -------
        frozenset of str or None
            None when no set of observed nodes satisfies the criterion (e.g. a latent
            confounder).

        Examples
        --------
        >>> g = CausalGraph.parse("u -> x; u -> y; x -> y")
        >>> g.backdoor_adjustment_set("x", "y", ["x", "y", "u"])
        frozenset({'u'})
        >>> g.backdoor_adjustment_set("x", "y", ["x", "y"]) is None
        True
        """
        t, y = self._pair(treatment, outcome)
        if isinstance(observed, str):
            observed = [observed]
        allowed = (set(observed) & set(self._g)) - nx.descendants(self._g, t) - {t, y}
        found = nx.find_minimal_d_separator(
            self._proper_backdoor_graph(t, y), {t}, {y}, restricted=allowed
        )
        return None if found is None else frozenset(found)

    def feature_set_diagnosis(
        self,
        treatment: str,
        outcome: str,
        model_features: Iterable[str],
        observed: Iterable[str],
    ) -> FeatureSetDiagnosis:
        """Can the model's partial dependence on ``treatment`` be read as its total effect?

        With ``t`` the treatment, ``y`` the outcome, ``S`` = ``model_features`` minus
        ``{t, y}``, ``De``/``An`` descendants/ancestors and ``G'`` the proper back-door
        graph (see :meth:`backdoor_adjustment_set`):

        - ``mediators_in_model`` = S ∩ De(t) ∩ An(y): conditioning on them removes the
          indirect effect, the model shows only the direct one.
        - ``outcome_descendant``: t ∈ De(y), leakage or reverse causation.
        - ``missing_confounders`` / ``latent_confounders``: empty when t and y are
          d-separated in G' given Z = S \\ De(t). Otherwise the confounders ``c`` (see
          :meth:`confounders`) not in S that lie on a (simple) path between t and y in G'
          that is open given Z: a back-door path the model leaves open. Observed ones are
          "missing", the others "latent". A common cause whose every back-door path runs
          through a closer confounder is on no such path and is not named.
        - ``colliders_in_model``: features ``C`` in S such that
          (a) C ∈ De(t) ∩ De(y), a common effect; or
          (b) C is not a mediator and, with Zc = S \\ mediators, some path between t and
          y in G' is open given Zc because of C alone: it passes a collider activated by
          C (the collider is C or an ancestor of C) and by no other member of Zc. When
          Zc \\ {C} blocks every back-door path this is exactly "t ⟂ y | Zc \\ {C} but not
          t ⟂ y | Zc" (M-bias); unlike that test it also names C when other paths are
          open too (M-bias next to a missing confounder, two M-structures).

        Open paths are enumerated exactly; past a budget of 5,000 search steps (huge,
        dense graphs only) d-connecting walks replace paths, which may also name a node
        whose connections to t and y share a vertex.

        Parameters
        ----------
        treatment, outcome : str
        model_features : iterable of str
            All the model's features (``treatment`` among them or not).
        observed : iterable of str
            Nodes present in the data; names outside the graph are ignored.

        Returns
        -------
        FeatureSetDiagnosis

        Examples
        --------
        M-bias: ``c`` is a collider between causes of ``x`` and ``y``.

        >>> g = CausalGraph.parse("a -> x; a -> c; b -> c; b -> y; x -> y")
        >>> g.feature_set_diagnosis("x", "y", ["x", "c"], g.nodes).colliders_in_model
        ('c',)
        """
        t, y = self._pair(treatment, outcome)
        if isinstance(model_features, str):
            model_features = [model_features]
        features = list(model_features)
        self.validate_request(y, features)
        if isinstance(observed, str):
            observed = [observed]
        obs = set(observed) & set(self._g)
        s = set(features) - {t, y}
        g = self._g
        de_t = nx.descendants(g, t)
        de_y = nx.descendants(g, y)
        an_y = nx.ancestors(g, y)
        mediators = s & de_t & an_y
        gp = self._proper_backdoor_graph(t, y)

        z = s - de_t
        named = _confounders_on_open_paths(gp, t, y, z, self.confounders(t, y) - s)
        colliders = s & de_t & de_y
        colliders |= _colliders_opening_paths(gp, t, y, s - mediators, exclude=colliders)
        return FeatureSetDiagnosis(
            mediators_in_model=tuple(sorted(mediators)),
            missing_confounders=tuple(sorted(named & obs)),
            latent_confounders=tuple(sorted(named - obs)),
            outcome_descendant=t in de_y,
            colliders_in_model=tuple(sorted(colliders)),
        )


# --------------------------------------------------------------------------------------------
# Open paths for the diagnosis
# --------------------------------------------------------------------------------------------
# A path arrives at a node "up" (from one of its children: the node is a tail there) or
# "down" (from one of its parents: an arrowhead into it). It may continue
#   - from "up" at v not in Z: to v's parents (up) and children (down);
#   - from "down" at v: to v's children (down) if v not in Z, and to v's parents (up) if
#     v is in Z or an ancestor of Z (an activated collider).
# Which nodes lie on some open *simple* path has no known fast exact algorithm, so the
# simple paths are enumerated, within a step budget, over An({t, y} ∪ Z) (no other node
# can lie on an open path). Past the budget (only huge, dense graphs) d-connecting walks
# are used instead: they may also name a node whose connections share a vertex.

_PATH_BUDGET = 5_000


def _ancestors_of(g: nx.DiGraph, nodes: Iterable[str]) -> set[str]:
    """``nodes`` and all their ancestors (one traversal for the whole set)."""
    out = set(nodes)
    stack = list(out)
    while stack:
        for parent in g.predecessors(stack.pop()):
            if parent not in out:
                out.add(parent)
                stack.append(parent)
    return out


def _steps(g: nx.DiGraph, v: str, kind: str, z: set[str], an_z: set[str]) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    if kind == "up":
        if v not in z:
            steps += [(p, "up") for p in g.predecessors(v)]
            steps += [(c, "down") for c in g.successors(v)]
    else:
        if v not in z:
            steps += [(c, "down") for c in g.successors(v)]
        if v in an_z:
            steps += [(p, "up") for p in g.predecessors(v)]
    return steps


def _first_steps(g: nx.DiGraph, start: str) -> list[tuple[str, str]]:
    return [(p, "up") for p in g.predecessors(start)] + [(c, "down") for c in g.successors(start)]


def _open_reach(
    g: nx.DiGraph, start: str, avoid: str, z: set[str], an_z: set[str]
) -> dict[str, set[str]]:
    """Nodes reached from ``start`` by walks open given ``z``, with how they are entered.

    Walks never pass through ``start`` again nor through ``avoid``.
    """
    reached: dict[str, set[str]] = {}
    stack = _first_steps(g, start)
    seen: set[tuple[str, str]] = set()
    while stack:
        state = stack.pop()
        v, kind = state
        if state in seen or v == start:
            continue
        seen.add(state)
        reached.setdefault(v, set()).add(kind)
        if v != avoid:
            stack.extend(_steps(g, v, kind, z, an_z))
    return reached


class _OpenPaths:
    """The open paths between t and y given z in g, searched once per question."""

    def __init__(self, g: nx.DiGraph, t: str, y: str, z: set[str]) -> None:
        self.g, self.t, self.y, self.z = g, t, y, z
        self.an_z = _ancestors_of(g, z)
        self.from_t = _open_reach(g, t, y, z, self.an_z)
        self.from_y = _open_reach(g, y, t, z, self.an_z)
        # A node on an open path is an ancestor of t, y or z, and is reached by open walks
        # from both ends; nothing else needs to be searched.
        self.allowed = (_ancestors_of(g, z | {t, y}) & self.from_t.keys() & self.from_y.keys()) | {
            y
        }

    def search(self, visit: Any) -> bool:
        """Call ``visit(interior, colliders)`` for each open simple path t ... y.

        ``visit`` returns True to stop. Returns False when the step budget ran out first.
        """
        g, t, y, z, an_z, allowed = self.g, self.t, self.y, self.z, self.an_z, self.allowed
        path, kinds, on_path = [t], [""], {t}
        stack = [iter(_first_steps(g, t))]
        steps = 0
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                on_path.discard(path.pop())
                kinds.pop()
                continue
            w, kind = step
            if w in on_path or w not in allowed:
                continue
            steps += 1
            if steps > _PATH_BUDGET:
                return False
            if w == y:
                leaving = [*kinds[2:], kind][: len(path) - 1]  # empty for an edge t - y
                colliders = [
                    v
                    for v, came, went in zip(path[1:], kinds[1:], leaving, strict=True)
                    if came == "down" and went == "up"
                ]
                if visit(path[1:], colliders):
                    return True
                continue
            path.append(w)
            kinds.append(kind)
            on_path.add(w)
            stack.append(iter(_steps(g, w, kind, z, an_z)))
        return True

    def meets(self, v: str) -> bool:
        """Walk test: open walks from t and from y reach v and join there unblocked."""
        kinds_t, kinds_y = self.from_t.get(v, set()), self.from_y.get(v, set())
        if v in self.an_z:
            return bool(kinds_t and kinds_y)
        return any(not (a == b == "down") for a in kinds_t for b in kinds_y)

    def collider_on_walk(self, v: str) -> bool:
        """Walk test: an open walk t ... -> v <- ... y, v an activated collider."""
        return (
            v in self.an_z and "down" in self.from_t.get(v, ()) and "down" in self.from_y.get(v, ())
        )


def _confounders_on_open_paths(
    g: nx.DiGraph, t: str, y: str, z: set[str], candidates: frozenset[str]
) -> set[str]:
    """The candidates that lie on a path between t and y open given ``z`` in ``g``."""
    if not candidates or nx.is_d_separator(g, {t}, {y}, z):
        return set()
    paths = _OpenPaths(g, t, y, z)
    candidates = candidates & paths.allowed
    found: set[str] = set()

    def visit(interior: list[str], colliders: list[str]) -> bool:
        found.update(candidates.intersection(interior))
        return found == candidates

    if not candidates or paths.search(visit):
        return found
    return {c for c in candidates if paths.meets(c)}


def _colliders_opening_paths(
    g: nx.DiGraph, t: str, y: str, z: set[str], exclude: set[str]
) -> set[str]:
    """Members c of ``z`` such that an open path passes a collider that only c activates."""
    if nx.is_d_separator(g, {t}, {y}, z):
        return set()
    only = {k: next(iter(acts)) for k, acts in _single_activators(g, z).items()}
    only = {k: c for k, c in only.items() if c not in exclude}
    if not only:
        return set()
    paths = _OpenPaths(g, t, y, z)
    only = {k: c for k, c in only.items() if k in paths.allowed}
    wanted = set(only.values())
    found: set[str] = set()

    def visit(interior: list[str], colliders: list[str]) -> bool:
        found.update(only[k] for k in colliders if k in only)
        return found == wanted

    if not wanted or paths.search(visit):
        return found
    return {c for k, c in only.items() if paths.collider_on_walk(k)}


def _single_activators(g: nx.DiGraph, z: set[str]) -> dict[str, set[str]]:
    """Nodes whose only member of ``z`` among themselves and their descendants is one node.

    A collider on a path is opened by conditioning on it or on a descendant; a node mapped
    to ``{c}`` is a collider that only ``c`` opens.
    """
    capped: dict[str, frozenset[str] | None] = {}  # None: two or more
    for v in reversed(list(nx.topological_sort(g))):
        acc: set[str] = {v} if v in z else set()
        many = False
        for child in g.successors(v):
            sub = capped[child]
            if sub is None or len(acc | sub) > 1:
                many = True
                break
            acc |= sub
        capped[v] = None if many else frozenset(acc)
    return {v: set(acts) for v, acts in capped.items() if acts}


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _error("the text is not UTF-8", "decode it or save it as UTF-8") from None
    if not isinstance(value, str):
        raise _error(f"expected text, got {type(value).__name__}", "pass a string")
    return value


def _load(source: GraphSource) -> CausalGraph:
    if isinstance(source, CausalGraph):
        return CausalGraph._wrap(source._g)
    if isinstance(source, nx.Graph):
        return CausalGraph.from_networkx(source)
    if isinstance(source, os.PathLike):
        return CausalGraph.from_file(source)
    if isinstance(source, str | bytes):
        text = _text(source)
        if _looks_like_path(text):
            return CausalGraph.from_file(text.strip())
        nodes, edges = _parse_text(text)
        return CausalGraph._wrap(_build(nodes, edges))
    if isinstance(source, Iterable) and not isinstance(source, Mapping):
        return CausalGraph.from_edges(source)
    raise _error(
        f"cannot read a graph from {type(source).__name__}",
        'pass an edge string like "A -> B", DOT or GML text, a file path, '
        "a networkx.DiGraph or a list of (cause, effect) pairs",
    )
