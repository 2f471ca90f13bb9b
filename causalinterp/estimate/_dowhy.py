"""Identification adapter: the only module that imports DoWhy.

Identification uses DoWhy's graph criteria (back-door validity, front-door search,
instrument search) on the part of the DAG that can matter: the ancestors of the
treatment and the outcome (d-separation among these nodes only depends on their
ancestors, so nothing outside changes the answer).

DoWhy's ``identify_effect_auto`` is not called: its default back-door search enumerates
subsets of the candidate variables (measured here: 3.4 s for 14 observed confounders, and
twice that for every added one), and it always runs the front-door and instrument searches
too. Instead:

* The back-door set is the package's one back-door rule,
  :func:`causalinterp.graph.structure.backdoor_set` (also behind
  ``CausalGraph.backdoor_adjustment_set``): existence decided in polynomial time (van der
  Zander, Liśkiewicz and Textor, 2014), and the optimal adjustment set for precision when it
  is observed and valid (Henckel, Perković and Maathuis, 2022). Validity is d-separation in
  the graph without the treatment's outgoing edges, the test DoWhy's
  ``check_valid_backdoor_set`` makes.
* Only when no back-door set exists: DoWhy's front-door search, then a front-door set
  with observed covariates (:func:`causalinterp.estimate.instruments.conditional_frontdoor`),
  then DoWhy's instruments (observed ones with no common cause with the outcome), then
  instruments valid given observed covariates
  (:func:`causalinterp.estimate.instruments.conditional_instruments`; DoWhy's search
  rejects an instrument that is valid only given controls, the usual case on real data).

Each identification states its assumptions in one sentence (:attr:`Identification.assumptions`),
which the report prints.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

import networkx as nx

from causalinterp.errors import GraphError
from causalinterp.estimate.instruments import conditional_frontdoor, conditional_instruments
from causalinterp.graph import CausalGraph
from causalinterp.graph.structure import backdoor_set


@dataclass(frozen=True)
class Identification:
    """How (and whether) a feature's total effect on the outcome is identified.

    Attributes
    ----------
    strategy : {"backdoor", "frontdoor", "iv", "none", "no_path"}
        ``"none"`` means not identifiable from the DAG and the observed columns;
        ``"no_path"`` means there is no directed path to the outcome (a structural zero).
    adjustment_set : tuple of str
        Back-door adjustment set over observed columns (``()`` when none is needed). For
        ``"iv"``: observed covariates the instrumental-variable estimator conditions on
        for precision (parents of the outcome that are not descendants of the treatment;
        they never open a path from the instruments to the outcome).
    instruments : tuple of str
        Instruments, for ``"iv"``.
    mediators : tuple of str
        Front-door set, for ``"frontdoor"``.
    blocking_latents : tuple of str
        For ``"none"``: the latent confounders that block identification.
    conditional : bool
        For ``"iv"`` and ``"frontdoor"``: whether the design is valid only given
        ``adjustment_set`` (a conditional instrument or a front-door set with covariates),
        so those controls are required, not only there for precision.
    assumptions : str
        One sentence: what the strategy assumes beyond the DAG (empty for ``"none"`` and
        ``"no_path"``).
    """

    strategy: str
    adjustment_set: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    mediators: tuple[str, ...] = ()
    blocking_latents: tuple[str, ...] = ()
    conditional: bool = False
    # Wording, derived from the fields above: not part of what makes two identifications equal.
    assumptions: str = field(default="", compare=False)


def _api() -> SimpleNamespace:
    """DoWhy's identification functions (imported on first use: the import is slow)."""
    with _quiet():
        from dowhy.causal_identifier.auto_identifier import identify_frontdoor
        from dowhy.graph import (
            check_dseparation,
            do_surgery,
            get_instruments,
        )
    return SimpleNamespace(
        check_dseparation=check_dseparation,
        do_surgery=do_surgery,
        get_instruments=get_instruments,
        identify_frontdoor=identify_frontdoor,
    )


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence DoWhy's warnings and log records for the duration of a call."""
    logger = logging.getLogger("dowhy")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def identify_effect(
    graph: CausalGraph, treatment: str, outcome: str, observed: Sequence[str]
) -> Identification:
    """Identify the total effect of ``treatment`` on ``outcome``.

    Parameters
    ----------
    graph : CausalGraph
        The causal DAG.
    treatment, outcome : str
        Graph nodes; both must be observed.
    observed : sequence of str
        The graph nodes present in the data; all other nodes are latent.

    Returns
    -------
    Identification
        ``"no_path"`` when there is no directed path from treatment to outcome; otherwise
        the first of back-door, front-door, instrumental variables that applies, or
        ``"none"`` with the latent confounders that block identification.

    Raises
    ------
    GraphError
        When the treatment or outcome is not in the graph, or is not observed.
    """
    nodes = set(graph.nodes)
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if name not in nodes:
            raise GraphError(f"graph: {role} {name!r} is not a node; add it to the graph")
        if name not in set(observed):
            raise GraphError(f"graph: {role} {name!r} is not observed; add its column to the data")
    if treatment == outcome:
        raise GraphError(f"graph: {treatment!r} is both treatment and outcome; pick two nodes")
    if not graph.has_directed_path(treatment, outcome):
        return Identification(strategy="no_path")

    full = graph.to_networkx()
    keep = nx.ancestors(full, treatment) | nx.ancestors(full, outcome) | {treatment, outcome}
    g = nx.DiGraph(full.subgraph(keep))
    obs = (set(observed) & keep) - {treatment, outcome}

    api = _api()
    with _quiet():
        adjustment = backdoor_set(g, treatment, outcome, obs)
        if adjustment is not None:
            adjustment_set = _sorted(adjustment)
            return Identification(
                strategy="backdoor",
                adjustment_set=adjustment_set,
                assumptions=_assumptions("backdoor", treatment, outcome, adjustment_set),
            )

        front = api.identify_frontdoor(g, [treatment], [outcome], sorted(obs))
        if front:
            mediators = _sorted(front)
            return Identification(
                strategy="frontdoor",
                mediators=mediators,
                assumptions=_assumptions("frontdoor", treatment, outcome, (), mediators),
            )
        front_w = conditional_frontdoor(g, treatment, outcome, obs | {treatment, outcome})
        if front_w is not None:
            mediators, covariates = front_w
            return Identification(
                strategy="frontdoor",
                mediators=mediators,
                adjustment_set=covariates,
                conditional=True,
                assumptions=_assumptions("frontdoor", treatment, outcome, covariates, mediators),
            )

        instruments = set(api.get_instruments(g, [treatment], [outcome])) & obs
        if instruments:
            controls = _sorted(_iv_controls(api, g, treatment, outcome, obs, instruments))
            return Identification(
                strategy="iv",
                instruments=_sorted(instruments),
                adjustment_set=controls,
                assumptions=_assumptions(
                    "iv", treatment, outcome, controls, _sorted(instruments), conditional=False
                ),
            )
        found = conditional_instruments(g, treatment, outcome, obs | {treatment, outcome})
        if found is not None:
            chosen, given = found
            return Identification(
                strategy="iv",
                instruments=chosen,
                adjustment_set=given,
                conditional=True,
                assumptions=_assumptions("iv", treatment, outcome, given, chosen, conditional=True),
            )

        return Identification(
            strategy="none",
            blocking_latents=_sorted(_blocking_latents(api, g, treatment, outcome, obs)),
        )


def _sorted(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(names))


def _assumptions(
    strategy: str,
    t: str,
    y: str,
    given: tuple[str, ...],
    named: tuple[str, ...] = (),
    *,
    conditional: bool = False,
) -> str:
    """The one sentence the report prints about what ``strategy`` assumes beyond the DAG."""
    names = ", ".join(named)
    controls = ", ".join(given)
    if strategy == "backdoor":
        if not given:
            return f"No common cause of {t} and {y} is left open: no adjustment is needed."
        return (
            f"Adjusting for {controls} blocks every back-door path from {t} to {y} "
            "(no unobserved confounding given them)."
        )
    if strategy == "frontdoor":
        given_part = f" given {controls}" if given else ""
        return (
            f"Front-door through {names}{given_part}: {names} carry all of {t}'s effect on "
            f"{y} and are unconfounded with {t}{given_part}; the two stages are assumed "
            "linear (the effect is the product of the treatment-mediator and "
            "mediator-outcome slopes)."
        )
    kind = "conditional instrument" if conditional else "instrument"
    given_part = f" given {controls}" if given and conditional else ""
    precision = f" (controls {controls} for precision)" if given and not conditional else ""
    return (
        f"{names} is a {kind} for {t}{given_part}{precision}: it moves {t}, and reaches {y} "
        f"only through {t}. With a constant (homogeneous, linear) effect this is the "
        f"average effect; if the effect varies between units it is a local average effect "
        f"among the units whose {t} the instrument moves."
    )


def _iv_controls(
    api: SimpleNamespace, g: nx.DiGraph, t: str, y: str, obs: set[str], instruments: set[str]
) -> set[str]:
    """Observed parents of the outcome (not descendants of the treatment) to condition on.

    DoWhy's instruments share no ancestor with the outcome, so conditioning on these never
    connects an instrument to the outcome; the check below only guards that argument.
    """
    controls = (set(g.predecessors(y)) & obs) - nx.descendants(g, t) - {t} - instruments
    if not controls:
        return set()
    g_cut = api.do_surgery(g, [t], remove_outgoing_edges=True)
    if api.check_dseparation(g_cut, sorted(instruments), [y], controls):
        return controls
    return set()


def _blocking_latents(
    api: SimpleNamespace, g: nx.DiGraph, t: str, y: str, obs: set[str]
) -> set[str]:
    """Latent common causes of ``t`` and ``y`` that stay open after adjusting for all we can.

    A latent common cause counts when, given every observed non-descendant of ``t``, it is
    still d-connected to both ``t`` and ``y`` in the graph without ``t``'s outgoing edges.
    """
    latent = set(g.nodes) - obs - {t, y}
    g_bd = api.do_surgery(g, [t], remove_outgoing_edges=True)
    common = latent & nx.ancestors(g, t) & nx.ancestors(g_bd, y)
    given = obs - nx.descendants(g, t)
    open_ = {
        u
        for u in common
        if not api.check_dseparation(g_bd, [u], [t], given)
        and not api.check_dseparation(g_bd, [u], [y], given)
    }
    return open_ or common
