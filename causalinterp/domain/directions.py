"""Which direction a model must respect in each feature, from signs declared on the DAG's edges.

A model's partial dependence (and each row's ICE curve) moves one feature while holding the
model's *other features* fixed. The direction the curve must follow is therefore not the sign
of the feature's total causal effect but the sign of its association with the outcome given
the model's other features. The rule (see ``docs/domain-logic.md``):

1. List the paths between the feature and the outcome that are *open* given the model's other
   features (d-connecting paths: no non-collider on them is a model feature, and every collider
   on them is a model feature or has one among its descendants).
2. A path's sign is the product of its edges' declared signs, flipped once per collider (in a
   linear model, conditioning on a common effect of ``a`` and ``b`` induces an association of
   the opposite sign to the product of their two effects). A path with an unsigned edge has no
   sign.
3. The feature's direction is the common sign of all open paths. When the only open path is
   the direct edge this is the edge's declared sign; paths of both signs make the direction
   unknown (``None``, status ``"conflict"``), as does an open path with an unsigned edge
   (status ``"unsigned"``). No open path means the model should be flat in the feature.

When nothing is declared for a feature, a significant estimated effect may stand in, marked
``source="suggested"``: it is the *total* effect, which equals the direction the model must
respect only when no mediator of the feature is among the model's features and no open
non-causal path remains.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from causalinterp.errors import GraphError, OptionError
from causalinterp.graph import CausalGraph

#: Declared signs are "+" (the effect raises the outcome) or "-" (it lowers it).
SIGNS = ("+", "-")
#: Enumerating open paths is exponential in dense graphs: past this many, the direction is
#: reported as unknown (status "too_many_paths") rather than guessed.
MAX_PATHS = 10_000
#: Partial walks the path search may extend before it gives up (a guard on dense graphs).
MAX_EXPANSIONS = 200_000

_ALIASES = {"+": "+", "-": "-", "+1": "+", "-1": "-", "1": "+", "positive": "+",
            "negative": "-", "increasing": "+", "decreasing": "-"}


@dataclass(frozen=True)
class PathSign:
    """One open path between a feature and the outcome.

    Attributes
    ----------
    nodes : tuple of str
        The path, from the feature to the outcome.
    arrows : tuple of str
        ``"->"`` or ``"<-"`` between consecutive nodes.
    sign : {"+", "-"} or None
        Product of the edge signs, flipped once per collider; None when an edge is unsigned.
    causal : bool
        Every arrow points towards the outcome (a causal path).
    """

    nodes: tuple[str, ...]
    arrows: tuple[str, ...]
    sign: str | None
    causal: bool

    def text(self) -> str:
        """The path as ``a -> b <- c [+]``."""
        parts = [self.nodes[0]]
        for arrow, node in zip(self.arrows, self.nodes[1:], strict=True):
            parts += [arrow, node]
        return " ".join(parts) + f" [{self.sign or '?'}]"


@dataclass(frozen=True)
class Direction:
    """The direction one feature's ICE curves must follow.

    Attributes
    ----------
    feature : str
    direction : {"+", "-"} or None
        ``"+"``: the prediction must not fall when the feature rises; ``"-"``: must not rise.
    source : {"declared", "suggested"} or None
        Where the direction comes from: the declared edge signs, or an estimated effect.
    status : str
        ``"declared"``, ``"suggested"``, ``"conflict"`` (open paths of both signs),
        ``"unsigned"`` (an open path has an edge without a declared sign), ``"no_path"`` (no
        open path: the model should not depend on the feature), ``"categorical"`` (unordered
        levels have no direction) or ``"too_many_paths"``.
    reason : str
        One sentence saying why.
    paths : tuple of PathSign
        The open paths the rule used.
    """

    feature: str
    direction: str | None
    source: str | None
    status: str
    reason: str
    paths: tuple[PathSign, ...] = ()


@dataclass(frozen=True)
class Directions:
    """Every feature's direction for one outcome and one model feature set."""

    outcome: str
    features: tuple[str, ...]
    by_feature: Mapping[str, Direction]
    signs: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def expected(self) -> dict[str, str | None]:
        """Feature to ``"+"``, ``"-"`` or None."""
        return {name: d.direction for name, d in self.by_feature.items()}


def normalise_sign(value: Any, where: str) -> str:
    """``"+"`` or ``"-"`` for a sign written as ``"+"``, ``"-"``, ``1``, ``-1``, ``"positive"``...

    Raises
    ------
    GraphError
        Naming ``where`` (the edge) and the accepted spellings.
    """
    key = str(value).strip().lower() if not isinstance(value, bool) else ""
    if isinstance(value, int | float) and not isinstance(value, bool) and value in (1, -1):
        key = "+" if value > 0 else "-"
    if key in _ALIASES:
        return _ALIASES[key]
    raise GraphError(f"{where}: sign {value!r} is not a direction; write '+' or '-'")


def edge_signs(
    graph: Any, signs: Mapping[Any, Any] | str | None = None
) -> tuple[CausalGraph, dict[tuple[str, str], str]]:
    """The graph and its declared edge signs: the graph's own (:attr:`CausalGraph.signs`,
    from ``a -> b [+]``, ``sign="+"`` or a networkx edge attribute ``sign``) and ``signs``.

    Parameters
    ----------
    graph : CausalGraph, networkx.DiGraph or any source CausalGraph.parse accepts
    signs : mapping or str, optional
        Explicit signs; they override the graph's. Keys are ``(cause, effect)`` pairs or
        ``"cause -> effect"`` strings (a ``[signs]`` table of ``case.toml``); a string is
        read with :func:`parse_signs` (``"price -> churn [+]; income -> churn [-]"``).

    Returns
    -------
    (CausalGraph, dict)

    Raises
    ------
    GraphError
        A sign on an edge that is not in the graph, or a value that is not a direction.

    Examples
    --------
    >>> g, s = edge_signs("price -> churn; income -> churn", {("price", "churn"): "+"})
    >>> s
    {('price', 'churn'): '+'}
    """
    cg = CausalGraph.parse(graph)
    declared = dict(cg.signs)
    if isinstance(signs, str):
        signs = parse_signs(signs)
    if signs is not None and not isinstance(signs, Mapping):
        raise OptionError(f"signs: expected a mapping edge -> '+' or '-', got "
                          f"{type(signs).__name__}; pass e.g. {{('price', 'churn'): '+'}}")
    for key, sign in (signs or {}).items():
        if isinstance(key, str) and key.count("->") == 1:
            key = tuple(part.strip() for part in key.split("->"))
        if not (isinstance(key, tuple) and len(key) == 2):
            raise GraphError(
                f"signs: key {key!r} is not an edge; key signs by (cause, effect) pairs or "
                "'cause -> effect' strings"
            )
        u, v = str(key[0]), str(key[1])
        if (u, v) not in set(cg.edges):
            hint = " (the graph has it the other way round)" if (v, u) in set(cg.edges) else ""
            raise GraphError(
                f"signs: edge {u} -> {v} is not in the graph{hint}; sign only the graph's edges"
            )
        declared[(u, v)] = normalise_sign(sign, f"signs: edge {u} -> {v}")
    return cg, declared


def suggest_direction(estimate: float, ci_low: float, ci_high: float) -> str | None:
    """``"+"`` or ``"-"`` when the confidence interval excludes zero, else None.

    Examples
    --------
    >>> suggest_direction(0.3, 0.1, 0.5), suggest_direction(0.3, -0.1, 0.7)
    ('+', None)
    """
    if ci_low > 0:
        return "+"
    if ci_high < 0:
        return "-"
    return None


def derive_directions(
    graph: Any,
    outcome: str,
    features: Iterable[str],
    *,
    signs: Mapping[tuple[str, str], Any] | None = None,
    effects: Mapping[str, tuple[float, float, float]] | None = None,
    categorical: Iterable[str] = (),
) -> Directions:
    """The direction each model feature's ICE curves must follow.

    Parameters
    ----------
    graph : CausalGraph, networkx.DiGraph or any source CausalGraph.parse accepts
        The DAG; a networkx DiGraph may carry signs in the edge attribute ``sign``.
    outcome : str
        The outcome node.
    features : iterable of str
        The model's features: what its partial dependence holds fixed.
    signs : mapping (cause, effect) -> "+" or "-", optional
        Declared edge signs (override the graph's).
    effects : mapping feature -> (estimate, ci_low, ci_high), optional
        Estimated effects; a significant one is used as a *suggested* direction for a
        feature whose open paths carry no declared signs.
    categorical : iterable of str
        Features with unordered levels: no direction.

    Returns
    -------
    Directions

    Examples
    --------
    A mediator in the model blocks the indirect path, so the direct edge decides:

    >>> g = "price -> bill; bill -> churn; price -> churn"
    >>> s = {("price", "bill"): "+", ("bill", "churn"): "+", ("price", "churn"): "-"}
    >>> derive_directions(g, "churn", ["price", "bill"], signs=s).expected()["price"]
    '-'

    Without the mediator, both routes are open and disagree:

    >>> derive_directions(g, "churn", ["price"], signs=s).by_feature["price"].status
    'conflict'
    """
    cg, declared = edge_signs(graph, signs)
    features = tuple(str(f) for f in features)
    cg.validate_request(outcome, features)
    categorical = set(categorical)
    g = cg.to_networkx()
    by_feature: dict[str, Direction] = {}
    for feature in features:
        if feature in categorical:
            by_feature[feature] = Direction(
                feature, None, None, "categorical",
                f"{feature} is categorical: unordered levels have no direction",
            )
            continue
        held = set(features) - {feature}
        direction = _direction(g, feature, outcome, held, declared)
        if direction.status in ("unsigned", "no_signs") and effects and feature in effects:
            direction = _suggested(direction, *effects[feature])
        if direction.status == "no_signs":
            direction = Direction(
                feature, None, None, "unsigned", direction.reason, direction.paths
            )
        by_feature[feature] = direction
    return Directions(outcome, features, by_feature, dict(sorted(declared.items())))


def _suggested(derived: Direction, estimate: float, low: float, high: float) -> Direction:
    sign = suggest_direction(float(estimate), float(low), float(high))
    if sign is None:
        return derived
    return Direction(
        derived.feature, sign, "suggested", "suggested",
        f"suggested from the estimated effect {estimate:.3g} [{low:.3g}, {high:.3g}], whose "
        f"interval excludes 0 ({derived.reason}); declare the edge signs to make it binding",
        derived.paths,
    )


def _direction(
    g: nx.DiGraph, feature: str, outcome: str, held: set[str], signs: Mapping[tuple[str, str], str]
) -> Direction:
    try:
        paths = open_paths(g, feature, outcome, held, signs)
    except _TooMany:
        return Direction(
            feature, None, None, "too_many_paths",
            f"more than {MAX_PATHS} open paths between {feature} and {outcome}; declare "
            "fewer edges or add the intermediate variables to the model",
        )
    if not paths:
        return Direction(
            feature, None, None, "no_path",
            f"no open path between {feature} and {outcome} given the model's other features: "
            "the model should not depend on it",
        )
    unsigned = [p for p in paths if p.sign is None]
    if unsigned:
        signed_any = any(_edge(p, i) in signs for p in paths for i in range(len(p.arrows)))
        status = "unsigned" if signed_any else "no_signs"
        return Direction(
            feature, None, None, status,
            f"the open path {unsigned[0].text()} has an edge without a declared sign",
            tuple(paths),
        )
    found = {p.sign for p in paths}
    if len(found) > 1:
        plus = next(p for p in paths if p.sign == "+")
        minus = next(p for p in paths if p.sign == "-")
        return Direction(
            feature, None, None, "conflict",
            f"open paths disagree: {plus.text()} and {minus.text()}; the direction depends "
            "on their strengths",
            tuple(paths),
        )
    sign = found.pop()
    if len(paths) == 1:
        route = "direct edge" if len(paths[0].nodes) == 2 else "path"
        reason = f"the only open path is the {route} {paths[0].text()}"
    else:
        reason = f"all {len(paths)} open paths have sign {sign}"
    return Direction(feature, sign, "declared", "declared", reason, tuple(paths))


def _edge(path: PathSign, i: int) -> tuple[str, str]:
    a, b = path.nodes[i], path.nodes[i + 1]
    return (a, b) if path.arrows[i] == "->" else (b, a)


class _TooMany(Exception):
    pass


def open_paths(
    g: nx.DiGraph,
    source: str,
    target: str,
    given: set[str],
    signs: Mapping[tuple[str, str], str],
) -> list[PathSign]:
    """The paths between ``source`` and ``target`` that are d-connecting given ``given``.

    Only the ancestors of ``{source, target} | given`` can lie on a d-connecting path, so the
    search runs on that subgraph.
    """
    keep = set(given) | {source, target}
    for node in list(keep):
        keep |= nx.ancestors(g, node)
    sub = g.subgraph(keep)
    with_descendant_given = {
        v for v in sub if v in given or nx.descendants(g, v) & given
    }
    paths: list[PathSign] = []
    # Depth-first over the skeleton, abandoning a walk at its first blocked node: blocked
    # walks are never completed, so the cost follows the open paths, not every simple path
    # (which grows exponentially in a dense graph).
    expansions = 0
    stack: list[tuple[tuple[str, ...], tuple[str, ...]]] = [((source,), ())]
    while stack:
        nodes, arrows = stack.pop()
        last = nodes[-1]
        if last == target:
            if len(paths) >= MAX_PATHS:
                raise _TooMany
            paths.append(_signed(nodes, arrows, signs))
            continue
        expansions += 1
        if expansions > MAX_EXPANSIONS:
            raise _TooMany
        for step, following in _steps(sub, last):
            if following in nodes:
                continue
            if len(nodes) > 1:
                collider = arrows[-1] == "->" and step == "<-"
                if (last not in with_descendant_given) if collider else (last in given):
                    continue  # this walk is blocked at ``last``
            stack.append(((*nodes, following), (*arrows, step)))
    return sorted(paths, key=lambda p: (len(p.nodes), p.nodes))


def _steps(g: nx.DiGraph, node: str) -> list[tuple[str, str]]:
    """The skeleton's edges at ``node`` as (arrow, neighbour), in a fixed order."""
    outgoing = [("->", v) for v in g.successors(node)]
    return sorted(outgoing + [("<-", u) for u in g.predecessors(node)])


def _signed(
    nodes: tuple[str, ...], arrows: tuple[str, ...], signs: Mapping[tuple[str, str], str]
) -> PathSign:
    """An open path with its sign: the product of its edges' signs (None if one is unsigned);
    each collider on it flips the sign of the association it transmits."""
    colliders = sum(a == "->" and b == "<-" for a, b in itertools.pairwise(arrows))
    sign: str | None = "+" if colliders % 2 == 0 else "-"
    for a, b, arrow in zip(nodes, nodes[1:], arrows, strict=False):
        edge_sign = signs.get((a, b) if arrow == "->" else (b, a))
        if edge_sign is None:
            return PathSign(nodes, arrows, None, all(x == "->" for x in arrows))
        if edge_sign == "-":
            sign = "-" if sign == "+" else "+"
    return PathSign(nodes, arrows, sign, all(x == "->" for x in arrows))


def directions_from(value: Directions | Mapping[str, Any]) -> dict[str, str | None]:
    """Feature to direction from a :class:`Directions` or a plain mapping (checked)."""
    if isinstance(value, Directions):
        return value.expected()
    if not isinstance(value, Mapping):
        raise OptionError(
            f"directions: expected a mapping feature -> '+' or '-', got {type(value).__name__}; "
            "pass e.g. {'price': '+'} or the result of derive_directions"
        )
    out: dict[str, str | None] = {}
    for name, sign in value.items():
        if sign is None:
            out[str(name)] = None
            continue
        try:
            out[str(name)] = normalise_sign(sign, f"directions: feature {name}")
        except GraphError as error:
            raise OptionError(str(error)) from None
    return out


_SIGN_HINT = "write e.g. 'price -> churn [+]; income -> churn [-]'"


def parse_signs(text: str) -> dict[tuple[str, str], str]:
    """Edge signs written as ``cause -> effect [+]`` statements separated by ``;`` or lines.

    The same syntax as signed edges in the edge-string graph format; ``signs=`` given as text
    and the command line's ``constrain --signs`` read it. Errors name the statement and its
    position.

    Examples
    --------
    >>> parse_signs("price -> churn [+]; income -> churn [-]")
    {('price', 'churn'): '+', ('income', 'churn'): '-'}
    """
    found: dict[tuple[str, str], str] = {}
    position = 0
    for raw in text.replace("\n", ";").split(";"):
        start = position + len(raw) - len(raw.lstrip())
        position += len(raw) + 1
        statement = raw.strip()
        if not statement:
            continue
        where = f"signs: statement {statement!r} at character {start + 1}"
        arrow = statement.find("->")
        bracket = statement.rfind("[")
        if arrow < 0:
            raise GraphError(f"{where}: no '->'; {_SIGN_HINT}")
        if bracket < arrow or not statement.endswith("]"):
            raise GraphError(f"{where}: no sign in brackets after the edge; {_SIGN_HINT}")
        cause = statement[:arrow].strip()
        effect = statement[arrow + 2:bracket].strip()
        if not cause or not effect:
            raise GraphError(f"{where}: the edge needs a cause and an effect; {_SIGN_HINT}")
        sign = statement[bracket + 1:-1].strip()
        if sign not in SIGNS:
            raise GraphError(f"{where}: sign {sign!r} is not '+' or '-'; {_SIGN_HINT}")
        if (cause, effect) in found and found[(cause, effect)] != sign:
            raise GraphError(f"{where}: edge {cause} -> {effect} is signed twice with different "
                             "signs; keep one")
        found[(cause, effect)] = sign
    return found
