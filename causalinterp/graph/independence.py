"""Stage: test the DAG's implied conditional independences against the data.

Every verdict rests on the user's DAG. This stage lists the conditional independences the DAG
implies among the observed variables (one per separable non-adjacent pair), tests each one
with a calibrated test, corrects for multiple testing with Benjamini-Hochberg and says which
missing edges or common causes the violations point to. See ``docs/graph-test.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.preprocessing import SplineTransformer
from statsmodels.stats.multitest import multipletests
from threadpoolctl import threadpool_limits

from causalinterp._seeds import seed_sequence
from causalinterp.errors import DataError, GraphError, OptionError

__all__ = [
    "GraphTest",
    "Implication",
    "SkippedPair",
    "check_graph",
    "implied_independences",
]

METHODS = ("auto", "linear", "gcm")
# Below this many rows the flexible regressions of the GCM are too noisy (each of the two
# cross-fitting folds would train on fewer than 250 rows); "auto" then uses partial correlation.
GCM_MIN_ROWS = 500
# Beyond this many rows a seeded subsample is tested: the tests already have ample power and
# the cost of the boosted regressions grows linearly with the rows.
DEFAULT_MAX_ROWS = 20_000
# Additive spline basis of the GCM regressions: knots at these many quantiles, for columns with
# at least this many distinct values.
_SPLINE_KNOTS = 4
_SPLINE_MIN_VALUES = 20
# Pairwise products of continuous conditioning columns enter the basis up to this many columns.
_MAX_PRODUCT_COLUMNS = 8
# Upper bound on d-separation checks spent searching a smaller separating set under a cap.
_MAX_SUBSET_CHECKS = 5_000


@dataclass(frozen=True)
class Implication:
    """One implied conditional independence ``x ⟂ y | given`` and its test."""

    x: str
    y: str
    given: tuple[str, ...]
    test: str
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
    """

    method: str
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
    def fits(self) -> bool:
        return not self.violations


# --------------------------------------------------------------------------------------------
# Which independences the DAG implies
# --------------------------------------------------------------------------------------------


def _as_networkx(graph: object) -> nx.DiGraph:
    if isinstance(graph, nx.DiGraph):
        g = nx.DiGraph(graph)
    elif hasattr(graph, "to_networkx"):
        g = graph.to_networkx()
    else:
        raise GraphError(
            f"graph: expected a CausalGraph, got {type(graph).__name__}; "
            "build one with CausalGraph.parse(...)"
        )
    if not nx.is_directed_acyclic_graph(g):
        cycle = [u for u, _ in nx.find_cycle(g)]
        path = " -> ".join(str(n) for n in [*cycle, cycle[0]])
        raise GraphError(f"graph: cycle {path}; remove one of these edges")
    return g


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
    graph: object,
    observed: Sequence[str],
    *,
    max_conditioning: int | None = None,
) -> tuple[tuple[tuple[str, str, tuple[str, ...]], ...], tuple[SkippedPair, ...]]:
    """List one testable conditional independence per separable non-adjacent observed pair.

    Parameters
    ----------
    graph : CausalGraph
        The DAG (a ``networkx.DiGraph`` is accepted too).
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
# Tests
# --------------------------------------------------------------------------------------------


def _design(column: pd.Series, kind: str) -> np.ndarray:
    """The column as a numeric block: categorical columns become dummies (first level dropped)."""
    values = column.to_numpy(dtype=float)
    if kind == "categorical":
        levels = np.unique(values)
        if len(levels) > 1:
            return (values[:, None] == levels[None, 1:]).astype(float)
    return values[:, None]


def _linear_residuals(v: np.ndarray, z: np.ndarray | None) -> np.ndarray:
    if z is None or z.shape[1] == 0:
        return v - v.mean(axis=0)
    design = np.column_stack([np.ones(len(z)), z])
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    return v - design @ coef


def _additive_basis(z_train: np.ndarray, z_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares basis (train, test): intercept, columns, splines and pairwise products.

    Each many-valued column gets a cubic spline; the products of pairs of many-valued columns
    cover the commonest interaction. Few-valued (binary, dummy) columns enter as they are.
    """
    train_parts = [np.ones((len(z_train), 1)), z_train]
    test_parts = [np.ones((len(z_test), 1)), z_test]
    smooth = []
    for j in range(z_train.shape[1]):
        column = z_train[:, j]
        knots = np.unique(np.quantile(column, np.linspace(0.0, 1.0, _SPLINE_KNOTS)))
        if len(np.unique(column)) < _SPLINE_MIN_VALUES or len(knots) < 3:
            continue
        smooth.append(j)
        spline = SplineTransformer(
            knots=knots[:, None], degree=3, extrapolation="linear", include_bias=False
        ).fit(column[:, None])
        train_parts.append(spline.transform(column[:, None]))
        test_parts.append(spline.transform(z_test[:, j : j + 1]))
    if 2 <= len(smooth) <= _MAX_PRODUCT_COLUMNS:
        pairs = list(itertools.combinations(smooth, 2))
        train_parts.append(np.column_stack([z_train[:, a] * z_train[:, b] for a, b in pairs]))
        test_parts.append(np.column_stack([z_test[:, a] * z_test[:, b] for a, b in pairs]))
    return np.hstack(train_parts), np.hstack(test_parts)


def _best_stage(boost: HistGradientBoostingRegressor, z: np.ndarray, start: float) -> np.ndarray:
    """Predictions of the boosting stage with the best validation score.

    Early stopping keeps the ``n_iter_no_change`` trees fitted after the best stage; on pure
    noise they add variance to the residuals that the GCM's standard error does not see.
    ``start`` (the training mean) stands in when no tree improved on the constant.
    """
    best = int(np.argmax(boost.validation_score_))  # index 0 is the constant start
    if best == 0:
        return np.full(len(z), start)
    return next(itertools.islice(boost.staged_predict(z), best - 1, None))


def _flexible_residuals(v: np.ndarray, z: np.ndarray, folds: np.ndarray, seed: int) -> np.ndarray:
    """Cross-fitted residuals of ``v`` on ``z``: least squares, then boosted trees on the rest.

    The GCM stays calibrated only if both regressions are accurate: their errors multiply into a
    bias of the statistic. Least squares on splines and pairwise products makes linear, smooth
    additive and product relations (nearly) exact, where trees alone leave step-shaped errors
    that are alike for ``x`` and ``y``: in trials they gave 93% false positives on a quadratic
    null (3% with splines) and 32% on an interaction null (8% with the products). The boosted
    trees then pick up what is left, truncated at their best validation stage.
    """
    out = np.empty_like(v)
    for k in (0, 1):
        train, test = folds != k, folds == k
        basis_train, basis_test = _additive_basis(z[train], z[test])
        coef, *_ = np.linalg.lstsq(basis_train, v[train], rcond=None)
        rest = v[train] - basis_train @ coef
        for j in range(v.shape[1]):
            boost = HistGradientBoostingRegressor(
                max_iter=200,
                learning_rate=0.1,
                max_leaf_nodes=15,
                min_samples_leaf=20,
                early_stopping=True,
                validation_fraction=0.2,
                n_iter_no_change=5,
                random_state=seed,
            ).fit(z[train], rest[:, j])
            fitted = basis_test @ coef[:, j] + _best_stage(boost, z[test], float(rest[:, j].mean()))
            out[test, j] = v[test, j] - fitted
    return out


def _residual_product_test(rx: np.ndarray, ry: np.ndarray) -> float:
    """p-value of the GCM statistic: the normalised mean of residual products.

    Scalar case: ``sqrt(n) mean(R) / sd(R)`` is N(0, 1) under the null (Shah & Peters 2020).
    Dummy-coded categorical variables give a vector of products: Wald chi-square on its mean.
    """
    n = len(rx)
    products = (rx[:, :, None] * ry[:, None, :]).reshape(n, -1)
    mean = products.mean(axis=0)
    centred = products - mean
    cov = centred.T @ centred / n
    if products.shape[1] == 1:
        sd = float(np.sqrt(cov[0, 0]))
        if not np.isfinite(sd) or sd <= 1e-12 * (1.0 + abs(float(mean[0]))):
            return 1.0  # a constant residual carries no evidence of dependence
        stat = np.sqrt(n) * float(mean[0]) / sd
        return float(2.0 * stats.norm.sf(abs(stat)))
    wald = float(n * mean @ np.linalg.pinv(cov) @ mean)
    dof = max(int(np.linalg.matrix_rank(cov)), 1)
    return float(stats.chi2.sf(wald, dof))


def _partial_correlation_test(rx: np.ndarray, ry: np.ndarray, n_given_columns: int) -> float:
    if rx.shape[1] > 1 or ry.shape[1] > 1:
        return _residual_product_test(rx, ry)
    a, b = rx[:, 0], ry[:, 0]
    denom = np.sqrt(a @ a * (b @ b))
    if denom <= 0 or not np.isfinite(denom):
        return 1.0
    r = float(np.clip(a @ b / denom, -0.9999999, 0.9999999))
    dof = max(len(a) - n_given_columns - 3, 1)
    stat = np.arctanh(r) * np.sqrt(dof)
    return float(2.0 * stats.norm.sf(abs(stat)))


def _child(parent: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """The seed at ``key`` below ``parent``: what repeated ``spawn`` calls would reach."""
    return np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, *key))


def _gcm_residual_task(
    v: np.ndarray, z: np.ndarray, set_seed: np.random.SeedSequence, variable_index: int
) -> np.ndarray:
    """Cross-fitted flexible residuals of one variable on one conditioning set."""
    # The folds depend only on the conditioning set's seed, so every variable regressed on the
    # same set is cross-fitted on the same split; the trees get a seed per variable.
    n = len(v)
    folds = np.zeros(n, dtype=int)
    folds[np.random.default_rng(_child(set_seed, 0)).permutation(n)[: n // 2]] = 1
    tree_seed = int(_child(set_seed, 1, variable_index).generate_state(1)[0])
    # One OpenMP thread per regression: parallelism is across regressions (joblib), and
    # OpenMP teams spinning on busy cores slowed the boosted trees by over 50x in trials.
    with threadpool_limits(limits=1, user_api="openmp"):
        return _flexible_residuals(v, z, folds, tree_seed)


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


def _check_options(alpha: float, method: str, max_conditioning: int | None, max_rows: int) -> None:
    if method not in METHODS:
        raise OptionError(f"method: unknown {method!r}; use one of {', '.join(METHODS)}")
    if not (isinstance(alpha, int | float) and 0.0 < float(alpha) < 1.0):
        raise OptionError(f"alpha: {alpha!r} is not between 0 and 1; use e.g. 0.05")
    if max_conditioning is not None and (
        isinstance(max_conditioning, bool)
        or not isinstance(max_conditioning, int | np.integer)
        or max_conditioning < 0
    ):
        raise OptionError(
            f"max_conditioning: {max_conditioning!r} is not a non-negative integer; "
            "use e.g. 3, or None for no cap"
        )
    if isinstance(max_rows, bool) or not isinstance(max_rows, int | np.integer) or max_rows < 10:
        raise OptionError(f"max_rows: {max_rows!r} is too small; use at least 10")


def check_graph(
    graph: object,
    checked: object,
    *,
    alpha: float = 0.05,
    seed: int | np.random.SeedSequence = 0,
    n_jobs: int | None = None,
    method: str = "auto",
    max_conditioning: int | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> GraphTest:
    """Test the conditional independences the DAG implies among the observed variables.

    For each non-adjacent pair of observed nodes that some set of observed nodes d-separates
    in the DAG (latent nodes included), one independence ``x ⟂ y | given`` is tested; p-values
    are adjusted with Benjamini-Hochberg and an implication is violated when its adjusted
    p-value is below ``alpha``.

    Parameters
    ----------
    graph : CausalGraph
        The user's DAG.
    checked : CheckedData
        Checked data; ``frame`` holds numeric columns (binary coded 0/1), ``observed`` the graph
        nodes present in the data.
    alpha : float, default 0.05
        False discovery rate for the Benjamini-Hochberg step.
    seed : int or numpy.random.SeedSequence, default 0
        Seeds the subsample, the cross-fitting folds and the boosted trees.
    n_jobs : int, optional
        Implications tested in parallel through joblib; results do not depend on it.
    method : {"auto", "linear", "gcm"}, default "auto"
        ``"linear"``: partial correlation (Fisher z) for every implication. ``"gcm"``: the
        Generalised Covariance Measure with cross-fitted boosted regressions. ``"auto"``: GCM
        when the conditioning set is non-empty and at least 500 rows are tested, partial
        correlation otherwise.
    max_conditioning : int, optional
        Largest conditioning set tested; pairs needing a larger one are skipped.
    max_rows : int, default 20000
        Larger data are tested on a seeded subsample of this many rows.

    Returns
    -------
    GraphTest
        Implications in topological order of ``x`` then ``y``, suggestions ordered by strength
        of evidence, and skipped pairs.

    Raises
    ------
    OptionError
        For an invalid option value.
    GraphError
        If ``graph`` is not a DAG.
    DataError
        If ``checked`` has no usable data frame.
    """
    _check_options(alpha, method, max_conditioning, max_rows)
    root = seed_sequence(seed)
    g = _as_networkx(graph)
    frame = getattr(checked, "frame", None)
    if not isinstance(frame, pd.DataFrame):
        raise DataError("data: no checked data frame; pass the result of check_data(...)")
    kinds: Mapping[str, str] = getattr(checked, "kinds", {}) or {}
    declared = getattr(checked, "observed", None)
    candidates = frame.columns if declared is None else declared
    # A node is tested only if it is in the graph and really a column of the frame; anything
    # else is treated as latent, which can only remove tests, never make one wrong.
    observed = frozenset(str(c) for c in candidates if c in frame.columns) & frozenset(g.nodes)
    latent = frozenset(g.nodes) - observed

    found, skipped = implied_independences(g, sorted(observed), max_conditioning=max_conditioning)

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
        blocks[name] = _design(column, kind)

    def choose(given: tuple[str, ...]) -> str:
        if method == "linear":
            return "partial_correlation"
        if method == "gcm":
            return "gcm"
        return "gcm" if given and n >= GCM_MIN_ROWS else "partial_correlation"

    tests = [choose(given) for _, _, given in found]

    # GCM regressions of one variable on one conditioning set are shared by every implication
    # that needs them (the local Markov sets make this common), and are the only costly step.
    gcm_found = [imp for imp, t in zip(found, tests, strict=True) if t == "gcm" and imp[2]]
    given_sets = sorted({given for _, _, given in gcm_found})
    regressions = sorted({(given, v) for x, y, given in gcm_found for v in (x, y)})
    # Seeds per conditioning set (spawned in sorted order) and per variable name's position:
    # they depend neither on n_jobs nor on the order tasks finish in.
    set_seeds = dict(zip(given_sets, test_seed.spawn(len(given_sets)), strict=True))
    position = {v: i for i, v in enumerate(used)}

    def conditioning(given: tuple[str, ...]) -> np.ndarray:
        return np.hstack([blocks[v] for v in given])

    residual_list = (
        Parallel(n_jobs=n_jobs)(
            delayed(_gcm_residual_task)(
                blocks[v], conditioning(given), set_seeds[given], position[v]
            )
            for given, v in regressions
        )
        if regressions
        else []
    )
    residuals = dict(zip(regressions, residual_list, strict=True))

    p_values = []
    for (x, y, given), test in zip(found, tests, strict=True):
        if test == "gcm" and given:
            p_values.append(_residual_product_test(residuals[given, x], residuals[given, y]))
        elif test == "gcm":
            centred_x, centred_y = blocks[x] - blocks[x].mean(0), blocks[y] - blocks[y].mean(0)
            p_values.append(_residual_product_test(centred_x, centred_y))
        else:
            z = conditioning(given) if given else None
            rx, ry = _linear_residuals(blocks[x], z), _linear_residuals(blocks[y], z)
            p_values.append(_partial_correlation_test(rx, ry, 0 if z is None else z.shape[1]))

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
