r"""The DOT reader and name writer (the subset of DOT a causal graph needs).

A hand-written parser: pydot (what networkx uses) was tried first, but it mangles escaped
quotes in names ("say \"hi\"" becomes `say \"hi\`), prints syntax errors to stdout and returns
None instead of raising with a position, so neither exact round trips nor line:column errors
were possible through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from causalinterp.errors import GraphError
from causalinterp.graph._messages import DOCS_HINT, parse_error, show

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
_DOT_HINT = "fix the DOT text (" + DOCS_HINT + ")"


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
                raise parse_error(text, i, "unterminated <...> name", "close it with >", origin)
            tokens.append(_Tok("id", text[i + 1 : j], i, quoted=True))
            i = j + 1
            continue
        m = _DOT_TOKEN.match(text, i)
        if m is None:
            if c == '"':
                raise parse_error(
                    text, i, "unterminated quoted name", 'close it with a double quote "', origin
                )
            if text.startswith("/*", i):
                raise parse_error(text, i, "unterminated comment", "close it with */", origin)
            raise parse_error(
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
                raise parse_error(
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
    """Recursive descent over the DOT grammar; of the attributes only edges' ``sign`` is kept."""

    def __init__(
        self,
        text: str,
        origin: str,
        signs: dict[tuple[str, str], str] | None = None,
        latent: set[str] | None = None,
    ) -> None:
        self.text = text
        self.signs = {} if signs is None else signs
        # Nodes declared unobserved with a node statement's latent=true.
        self.latent = set() if latent is None else latent
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
        return parse_error(self.text, tok.pos, problem, fix, self.origin)

    @staticmethod
    def describe(tok: _Tok) -> str:
        if tok.kind == "eof":
            return "the end of the text"
        if tok.kind == "id":
            return show(tok.value) if tok.quoted else tok.value
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
        made: list[tuple[str, str]] = []
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
            made += [(u, v) for u in left for v in right]
            self.edges.extend((u, v) for u in left for v in right)
            left = right
        if self.peek().kind == "[":
            for key, value, tok in self.attr_list():
                if key == "sign" and made:
                    self.edge_sign(made, value, tok)
                elif key == "latent" and not made:
                    self.node_latent(left, value, tok)

    def node_latent(self, nodes: list[str], value: str, tok: _Tok) -> None:
        """Record a node statement's ``latent=true`` (``false`` declares nothing)."""
        flag = value.strip().lower()
        if flag not in ("true", "false", "1", "0", "yes", "no"):
            raise self.fail(tok, f"latent={value!r} is not true or false", "write latent=true")
        if flag in ("true", "1", "yes"):
            self.latent.update(nodes)

    def edge_sign(self, edges: list[tuple[str, str]], value: str, tok: _Tok) -> None:
        """Record ``sign="+"``/``"-"`` of an edge statement; errors name the edge."""
        u, v = edges[0]
        where = f"sign {value!r} on edge {show(u)} -> {show(v)}"
        if value.strip() not in ("+", "-"):
            raise self.fail(tok, f"{where} is not '+' or '-'", 'write sign="+" or sign="-"')
        for edge in edges:
            if self.signs.setdefault(edge, value.strip()) != value.strip():
                raise self.fail(tok, f"edge {show(edge[0])} -> {show(edge[1])} is signed both "
                                "'+' and '-'", "keep one sign")

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

    def attr_list(self) -> list[tuple[str, str, _Tok]]:
        """The attributes read: (key, value, the value's token)."""
        found: list[tuple[str, str, _Tok]] = []
        while self.peek().kind == "[":
            self.next()
            while self.peek().kind != "]":
                tok = self.peek()
                if tok.kind != "id":
                    raise self.fail(tok, f"expected an attribute or ], found {self.describe(tok)}")
                key = self.id_value()
                if self.peek().kind == "=":
                    self.next()
                    if self.peek().kind != "id":
                        tok = self.peek()
                        raise self.fail(
                            tok, f"expected an attribute value, found {self.describe(tok)}"
                        )
                    value_tok = self.peek()
                    found.append((key, self.id_value(), value_tok))
                if self.peek().kind in (";", ","):
                    self.next()
            self.next()
        return found


def dot_name(name: str) -> str:
    """``name`` as written in DOT: bare when a plain identifier, else quoted."""
    if _DOT_PLAIN.fullmatch(name) and name.lower() not in _DOT_KEYWORDS:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_dot(
    text: str,
    origin: str = "",
    signs: dict[tuple[str, str], str] | None = None,
    latent: set[str] | None = None,
) -> tuple[list[str], list[tuple[str, str]]]:
    """(nodes in order of appearance, edges) of DOT ``text``; ``origin`` prefixes errors.

    Edge statements' ``sign="+"``/``"-"`` attributes go into ``signs``; the names of node
    statements with ``latent=true`` go into ``latent``.
    """
    return _DotParser(text, origin, signs, latent).parse()
