"""Stage: test the DAG's implied conditional independences against the data.

Every verdict rests on the user's DAG. This stage lists the conditional independences the DAG
implies among the observed variables (one per separable non-adjacent pair), tests each one
with a calibrated test, corrects for multiple testing with Benjamini-Hochberg and says which
missing edges or common causes the violations point to. See ``docs/graph-test.md``.

The regressions run through :func:`causalinterp._progress.run_parallel`, like every parallel
stage, so ``n_jobs``, ``backend``, an enclosing ``joblib.parallel_config`` and the progress bar
apply here too; seeds, not scheduling, decide the numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import networkx as nx
import numpy as np
from statsmodels.stats.multitest import multipletests

from causalinterp import options
from causalinterp._progress import resolve_progress, run_parallel
from causalinterp._seeds import seed_sequence
from causalinterp.data import CheckedData
from causalinterp.errors import DataError, GraphError
from causalinterp.graph._citests import (
    design,
    gcm_residuals,
    linear_residuals,
    partial_correlation_test,
    residual_product_test,
)
from causalinterp.graph.causal_graph import CausalGraph

__all__ = [
    "CITest",
    "GraphTest",
    "GraphTestMethod",
    "Implication",
    "SkippedPair",
    "check_graph",
    "implied_independences",
]


class GraphTestMethod(StrEnum):
    """How the implications are tested (the ``graph_test_method`` option)."""

    AUTO = "auto"
    """GCM when the conditioning set is non-empty and enough rows are tested, else linear."""
    LINEAR = "linear"
    """Partial correlation for every implication."""
    GCM = "gcm"
    """The Generalised Covariance Measure for every implication."""


class CITest(StrEnum):
    """The conditional-independence test one implication was tested with."""

    PARTIAL_CORRELATION = "partial_correlation"
    """Fisher z test of the partial correlation (Wald test for categorical variables)."""
    GCM = "gcm"
    """Generalised Covariance Measure on cross-fitted flexible residuals."""


METHODS = tuple(GraphTestMethod)
_DEFAULT_SEED: int = options.default("seed")
# Below this many rows the flexible regressions of the GCM are too noisy (each of the two
# cross-fitting folds would train on fewer than 250 rows); "auto" then uses partial correlation.
GCM_MIN_ROWS = 500
# Beyond this many rows a seeded subsample is tested: the tests already have ample power and
# the cost of the boosted regressions grows linearly with the rows.
DEFAULT_MAX_ROWS = 20_000
# Upper bound on d-separation checks spent searching a smaller separating set under a cap.
_MAX_SUBSET_CHECKS = 5_000


@dataclass(frozen=True)
class Implication:
    """One implied conditional independence ``x ⟂ y | given`` and its test.

    ``test`` is a :class:`CITest` (equal to, and serialised as, its plain string).
    """

    x: str
    y: str
    given: tuple[str, ...]
    test: CITest
    p_value: float
    p_adjusted: float
    violated: bool


@dataclass(frozen=True)
class SkippedPair:
    """A non-adjacent observed pair whose implied independence could not be tested.

    ``reason`` is a short sentence, e.g. that only latent variables separate the pair.
    """

    x: str
    y: str
    reason: str


@dataclass(frozen=True)
class GraphTest:
    """Result of testing the DAG against the data.

    ``suggestions`` names missing edges or confounders the violations point to.
    ``skipped`` lists non-adjacent observed pairs that could not be tested (only a set
    containing latent variables separates them, or every separating set exceeds
    ``max_conditioning``). ``rows_used`` is the number of rows tested (after subsampling).
    ``method`` is the :class:`GraphTestMethod` asked for (equal to its plain string).
    """

    method: GraphTestMethod
    implications: tuple[Implication, ...]
    alpha: float
    suggestions: tuple[str, ...]
    skipped: tuple[SkippedPair, ...] = ()
    rows_used: int = 0

    @property
    def tested(self) -> int:
        return len(self.implications)

    @property
    def violations(self) -> tuple[Implication, ...]:
        return tuple(i for i in self.implications if i.violated)

    @property
    def fits(self) -> bool | None:
        """Whether no implied independence is rejected; None when the DAG implies none that
        could be tested (untestable here, which is not the same as fitting)."""
        if not self.implications:
            return None
        return not self.violations


# --------------------------------------------------------------------------------------------
# Which independences the DAG implies
# --------------------------------------------------------------------------------------------


def _as_networkx(graph: CausalGraph) -> nx.DiGraph:
    # A CausalGraph is a DAG by construction; anything else is refused rather than guessed at.
    if not isinstance(graph, CausalGraph):
        raise GraphError(
            f"graph: expected a CausalGraph, got {type(graph).__name__}; "
            "build one with CausalGraph.parse(...)"
        )
    return graph.to_networkx()


def _separates(g: nx.DiGraph, x: str, y: str, given: Iterable[str]) -> bool:
    return nx.is_d_separator(g, {x}, {y}, set(given))


def _smallest_separator(
    g: nx.DiGraph,
    x: str,
    y: str,
    observed: frozenset[str],
    descendants: Mapping[str, frozenset[str]],
    max_conditioning: int | None,
) -> tuple[tuple[str, ...] | None, str]:
    """A separating set over observed nodes, as small as cheaply found, or (None, reason)."""
    # Candidates in order of preference: the local Markov sets (observed parents of either
    # node) read most naturally; the restricted minimal separator covers latent parents.
    # ``x`` precedes ``y`` topologically, so the parents of ``y`` always separate them when
    # no parent is latent.
    candidates: list[frozenset[str]] = [frozenset(g.predecessors(y)) & observed]
    if y not in descendants[x]:
        candidates.append(frozenset(g.predecessors(x)) & observed)
    minimal = nx.find_minimal_d_separator(g, x, y, restricted=set(observed))
    if minimal is not None:
        candidates.append(frozenset(minimal))
    valid = [c for c in candidates if _separates(g, x, y, c)]
    if not valid:
        return (
            None,
            "no set of observed variables separates them; they are linked through latent ones",
        )
    best = min(valid, key=len)  # min keeps the first of equal size: the preference order
    if max_conditioning is None or len(best) <= max_conditioning:
        return tuple(sorted(best)), ""
    # A separating set may as well be drawn from the observed ancestors of the pair.
    # (Minimal separators consist of ancestors of the pair, so nothing smaller lies elsewhere.)
    pool = sorted((nx.ancestors(g, x) | nx.ancestors(g, y)) & observed - {x, y})
    subsets = itertools.chain.from_iterable(
        itertools.combinations(pool, size) for size in range(max_conditioning + 1)
    )
    for subset in itertools.islice(subsets, _MAX_SUBSET_CHECKS):
        if _separates(g, x, y, subset):
            return tuple(sorted(subset)), ""
    return None, (
        f"every separating set found needs {len(best)} variables, "
        f"more than max_conditioning={max_conditioning}"
    )


def implied_independences(
    graph: CausalGraph,
    observed: Sequence[str],
    *,
    max_conditioning: int | None = None,
) -> tuple[tuple[tuple[str, str, tuple[str, ...]], ...], tuple[SkippedPair, ...]]:
    """List one testable conditional independence per separable non-adjacent observed pair.

    Parameters
    ----------
    graph : CausalGraph
        The DAG.
    observed : sequence of str
        The graph nodes present in the data; all other nodes are latent.
    max_conditioning : int, optional
        Largest conditioning set allowed; pairs that need more are skipped.

    Returns
    -------
    implications : tuple of (x, y, given)
        ``x`` precedes ``y`` in a deterministic topological order; ``given`` is sorted and is
        verified by d-separation in the full DAG (latent nodes included).
    skipped : tuple of SkippedPair
        Non-adjacent observed pairs with no usable observed separating set.
    """
    g = _as_networkx(graph)
    obs = frozenset(str(n) for n in observed) & frozenset(g.nodes)
    order = [n for n in nx.lexicographical_topological_sort(g, key=str) if n in obs]
    descendants = {n: frozenset(nx.descendants(g, n)) for n in order}
    found: list[tuple[str, str, tuple[str, ...]]] = []
    skipped: list[SkippedPair] = []
    for i, x in enumerate(order):
        for y in order[i + 1 :]:
            if g.has_edge(x, y) or g.has_edge(y, x):
                continue  # adjacent: the DAG implies no independence between them
            given, reason = _smallest_separator(g, x, y, obs, descendants, max_conditioning)
            if given is None:
                skipped.append(SkippedPair(x, y, reason))
            else:
                found.append((x, y, given))
    return tuple(found), tuple(skipped)


# --------------------------------------------------------------------------------------------
# Suggestions
# --------------------------------------------------------------------------------------------


def _braces(names: Sequence[str]) -> str:
    return "{" + ", ".join(names) + "}"


def _suggestion(imp: Implication, g: nx.DiGraph, latent: frozenset[str]) -> str:
    given = f" given {_braces(imp.given)}" if imp.given else ""
    text = (
        f"{imp.x} and {imp.y} are dependent{given}: the graph may be missing an edge between "
        f"{imp.x} and {imp.y}, or a common cause of both"
    )
    hints = []
    for a, b in ((imp.x, imp.y), (imp.y, imp.x)):
        for parent in sorted(set(g.predecessors(a)) & latent):
            if not g.has_edge(parent, b):
                hints.append(f"the latent {parent} (a cause of {a}) may also affect {b}")
    if hints:
        text += "; " + "; ".join(hints)
    return text


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def check_graph(
    graph: CausalGraph,
    checked: CheckedData,
    *,
    graph_test_method: str = options.default("graph_test_method"),
    graph_test_alpha: float = options.default("graph_test_alpha"),
    graph_test_max_conditioning: int | None = options.default("graph_test_max_conditioning"),
    graph_test_max_rows: int = options.default("graph_test_max_rows"),
    seed: int | np.random.SeedSequence = _DEFAULT_SEED,
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = None,
) -> GraphTest:
    """Test the conditional independences the DAG implies among the observed variables.

    For each non-adjacent pair of observed nodes that some set of observed nodes d-separates
    in the DAG (latent nodes included), one independence ``x ⟂ y | given`` is tested; p-values
    are adjusted with Benjamini-Hochberg and an implication is violated when its adjusted
    p-value is below ``alpha``. Violations are turned into suggestions: the missing edges or
    common causes they point to. See ``docs/graph-test.md``.

    Parameters
    ----------
    graph : CausalGraph
        The user's DAG.
    checked : CheckedData
        The result of :func:`causalinterp.check_data`: ``frame`` holds numeric columns
        (binary coded 0/1), ``kinds`` each column's kind and ``observed`` the graph nodes
        present in the data; every other node is latent.
    graph_test_method : {"auto", "linear", "gcm"}, default "auto"
        ``"linear"``: partial correlation (Fisher z) for every implication. ``"gcm"``: the
        Generalised Covariance Measure with cross-fitted boosted regressions. ``"auto"``: GCM
        when the conditioning set is non-empty and at least 500 rows are tested, partial
        correlation otherwise.
    graph_test_alpha : float, default 0.05
        False discovery rate for the Benjamini-Hochberg step.
    graph_test_max_conditioning : int, optional
        Largest conditioning set tested; pairs needing a larger one are skipped (None: no cap).
    graph_test_max_rows : int, default 20000
        Larger data are tested on a seeded subsample of this many rows.
    seed : int or numpy.random.SeedSequence, default 0
        Seeds the subsample, the cross-fitting folds and the boosted trees.
    n_jobs : int, optional
        Regressions run in parallel through joblib; results do not depend on it. None keeps
        the active ``joblib.parallel_config`` (serial outside one).
    backend : str, optional
        A joblib backend (``"loky"``, ``"threading"``, ``"dask"``); None keeps the active
        configuration.
    progress : bool or None, default None
        Show a progress bar over the regressions on standard error (None: when standard error
        is a terminal).

    Returns
    -------
    GraphTest
        Implications in topological order of ``x`` then ``y``, suggestions ordered by strength
        of evidence, and skipped pairs.

    Raises
    ------
    OptionError
        For an invalid option value (the message names the option as in
        :mod:`causalinterp.options`, e.g. ``graph_test_alpha``).
    GraphError
        If ``graph`` is not a :class:`CausalGraph`.
    DataError
        If ``checked`` is not a :class:`~causalinterp.data.CheckedData`, or too few rows are
        left to test.

    Examples
    --------
    Data generated by ``a -> b -> c`` satisfy ``a ⟂ c | b``, the one implication of the DAG:

    >>> import numpy as np, pandas as pd
    >>> from causalinterp import CausalGraph, check_data, check_graph
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=500)
    >>> b = a + rng.normal(size=500)
    >>> df = pd.DataFrame({"a": a, "b": b, "c": b + rng.normal(size=500)})
    >>> graph = CausalGraph.parse("a -> b -> c")
    >>> result = check_graph(graph, check_data(df, graph, "c"), graph_test_method="linear")
    >>> [(i.x, i.y, i.given) for i in result.implications], result.fits
    ([('a', 'c', ('b',))], True)

    A DAG that omits the edge ``a -> c`` is contradicted by data that have it:

    >>> df["c"] = df["c"] + a
    >>> result = check_graph(graph, check_data(df, graph, "c"), graph_test_method="linear")
    >>> result.fits, result.suggestions[0].split(":")[0]
    (False, 'a and c are dependent given {b}')
    """
    values = {
        "graph_test_method": graph_test_method,
        "graph_test_alpha": graph_test_alpha,
        "graph_test_max_conditioning": graph_test_max_conditioning,
        "graph_test_max_rows": graph_test_max_rows,
        "n_jobs": n_jobs,
        "backend": backend,
        "progress": progress,
    }
    if not isinstance(seed, np.random.SeedSequence):  # a SeedSequence is already a seed
        values["seed"] = seed
    opt = options.validate(values)
    method = GraphTestMethod(opt["graph_test_method"])
    alpha = opt["graph_test_alpha"]
    max_conditioning = opt["graph_test_max_conditioning"]
    max_rows = opt["graph_test_max_rows"]
    root = seed_sequence(seed)
    g = _as_networkx(graph)
    if not isinstance(checked, CheckedData):
        raise DataError(
            f"data: no checked data frame (got {type(checked).__name__}); "
            "pass the result of check_data(...)"
        )
    frame = checked.frame
    kinds: Mapping[str, str] = checked.kinds
    candidates = checked.observed
    # A node is tested only if it is in the graph and really a column of the frame; anything
    # else is treated as latent, which can only remove tests, never make one wrong.
    observed = frozenset(str(c) for c in candidates if c in frame.columns) & frozenset(g.nodes)
    latent = frozenset(g.nodes) - observed

    found, skipped = implied_independences(
        graph, sorted(observed), max_conditioning=max_conditioning
    )

    sample_seed, test_seed = root.spawn(2)
    n_total = len(frame)
    rows = np.arange(n_total)
    if n_total > max_rows:
        rows = np.sort(np.random.default_rng(sample_seed).choice(n_total, max_rows, replace=False))
    n = len(rows)
    if found and n < 10:
        raise DataError(f"data: only {n} rows; at least 10 are needed to test the graph")

    used = sorted({v for x, y, given in found for v in (x, y, *given)})
    blocks = {}
    for name in used:
        column = frame[name].iloc[rows]
        kind = kinds.get(name) or ("binary" if column.nunique() <= 2 else "continuous")
        blocks[name] = design(column, kind)

    def choose(given: tuple[str, ...]) -> CITest:
        if method == GraphTestMethod.LINEAR:
            return CITest.PARTIAL_CORRELATION
        if method == GraphTestMethod.GCM:
            return CITest.GCM
        return CITest.GCM if given and n >= GCM_MIN_ROWS else CITest.PARTIAL_CORRELATION

    tests = [choose(given) for _, _, given in found]

    # GCM regressions of one variable on one conditioning set are shared by every implication
    # that needs them (the local Markov sets make this common), and are the only costly step.
    gcm_found = [imp for imp, t in zip(found, tests, strict=True) if t == CITest.GCM and imp[2]]
    given_sets = sorted({given for _, _, given in gcm_found})
    regressions = sorted({(given, v) for x, y, given in gcm_found for v in (x, y)})
    # Seeds per conditioning set (spawned in sorted order) and per variable name's position:
    # they depend neither on n_jobs nor on the order tasks finish in.
    set_seeds = dict(zip(given_sets, test_seed.spawn(len(given_sets)), strict=True))
    position = {v: i for i, v in enumerate(used)}

    def conditioning(given: tuple[str, ...]) -> np.ndarray:
        return np.hstack([blocks[v] for v in given])

    residual_list = run_parallel(
        gcm_residuals,
        [
            (blocks[v], conditioning(given), set_seeds[given], position[v])
            for given, v in regressions
        ],
        n_jobs=opt["n_jobs"],
        backend=opt["backend"],
        progress=resolve_progress(opt["progress"]),
        desc="graph test",
        unit="regression",
    )
    residuals = dict(zip(regressions, residual_list, strict=True))

    p_values = []
    for (x, y, given), test in zip(found, tests, strict=True):
        if test == CITest.GCM and given:
            p_values.append(residual_product_test(residuals[given, x], residuals[given, y]))
        elif test == CITest.GCM:
            centred_x, centred_y = blocks[x] - blocks[x].mean(0), blocks[y] - blocks[y].mean(0)
            p_values.append(residual_product_test(centred_x, centred_y))
        else:
            z = conditioning(given) if given else None
            rx, ry = linear_residuals(blocks[x], z), linear_residuals(blocks[y], z)
            p_values.append(partial_correlation_test(rx, ry, 0 if z is None else z.shape[1]))

    if p_values:
        _, adjusted, _, _ = multipletests(np.asarray(p_values), alpha=alpha, method="fdr_bh")
    else:
        adjusted = np.array([])
    implications = tuple(
        Implication(
            x=x,
            y=y,
            given=given,
            test=test,
            p_value=float(p),
            p_adjusted=float(q),
            violated=bool(q < alpha),
        )
        for (x, y, given), test, p, q in zip(found, tests, p_values, adjusted, strict=True)
    )
    strongest_first = sorted(
        (i for i in implications if i.violated), key=lambda i: (i.p_adjusted, i.p_value)
    )
    suggestions = tuple(dict.fromkeys(_suggestion(i, g, latent) for i in strongest_first))
    return GraphTest(
        method=method,
        implications=implications,
        alpha=float(alpha),
        suggestions=suggestions,
        skipped=skipped,
        rows_used=n,
    )
