"""The model-agnostic explainers (:func:`exact_shap`, :func:`permutation_shap`), and no
silent slow path: they announce their cost, show progress and keep to a time budget.

When no fast exact explainer applies (tree, linear, native, pipeline), SHAP values come
from evaluating the model on ``2**p - 2`` coalitions (``p <= 8``) or ``10 (p - 1)``
permutation steps per explained row, each averaged over the background rows. That can take
minutes to hours for models with costly predictions. :func:`plan_model_agnostic` measures
the model's prediction speed on the background rows, says which explainer will run, why,
and how long it should take, and — given ``max_seconds`` — how many rows fit in that time.
Explaining fewer rows widens the sampling error of every mean |SHAP| by about
``sqrt(rows requested / rows explained)``; the plan states that factor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Fewest rows a time budget may cut the explanation down to.
MIN_ROWS = 10

#: Orderings per row (5 antithetic pairs) of the permutation explainer.
N_PERMUTATIONS = 10

# Rows handed to the model in one call by the model-agnostic explainers: large enough to
# amortise per-call overhead, small enough to bound memory (rows x features x 8 bytes).
_BATCH_ROWS = 1 << 18


@dataclass(frozen=True)
class SlowPathPlan:
    """What a model-agnostic explanation will cost, and the rows it will explain.

    Attributes
    ----------
    explainer : str
        ``"exact"`` or ``"permutation"``.
    reason : str
        Why no fast explainer applies.
    predictions_per_row : int
        Model predictions per explained row.
    seconds_per_prediction : float
        Measured on the background rows.
    rows_requested, rows : int
        Rows asked for, and rows that fit in ``max_seconds`` (all when no budget).
    expected_seconds : float
        Expected time for ``rows``.
    max_seconds : float or None
        The budget.
    se_factor : float
        About how much larger the mean |SHAP| standard errors are than with
        ``rows_requested`` rows (1.0 when nothing was cut).
    """

    explainer: str
    reason: str
    predictions_per_row: int
    seconds_per_prediction: float
    rows_requested: int
    rows: int
    expected_seconds: float
    max_seconds: float | None
    se_factor: float

    def message(self, model: str) -> str:
        """One line for standard error before the explanation starts."""
        text = (
            f"SHAP: model {model}: {self.reason}; using the model-agnostic "
            f"{self.explainer} explainer ({self.predictions_per_row:,} predictions per row); "
            f"expected {_seconds(self.expected_seconds)} for {self.rows:,} rows"
        )
        if self.rows < self.rows_requested:
            text += (
                f" (max_shap_seconds={self.max_seconds:g}: {self.rows:,} of "
                f"{self.rows_requested:,} rows explained, standard errors about "
                f"{self.se_factor:.1f}x larger)"
            )
        return text


def _seconds(value: float) -> str:
    if value < 0.1:
        return "< 0.1 s"
    return f"{value:.1f} s" if value < 10 else f"{value:,.0f} s"


def predictions_per_row(
    n_features: int, n_background: int, *, max_exact_features: int = 8, n_permutations: int = 10
) -> tuple[str, int]:
    """The model-agnostic explainer for ``n_features`` and its predictions per row."""
    if n_features <= max_exact_features:
        return "exact", max(0, (1 << n_features) - 2) * n_background
    half = max(1, n_permutations // 2)
    return "permutation", 2 * half * max(0, n_features - 1) * n_background


def plan_model_agnostic(
    predict: Callable[[np.ndarray], np.ndarray],
    bm: np.ndarray,
    *,
    rows_requested: int,
    reason: str,
    max_seconds: float | None = None,
    max_exact_features: int = 8,
    n_permutations: int = 10,
    probe_rows: int = 32768,
) -> SlowPathPlan:
    """Measure the model's speed and plan a model-agnostic explanation within a budget.

    Parameters
    ----------
    predict : callable
        The model's prediction on the outcome scale, ``(m, p)`` matrix to ``m`` values.
    bm : numpy.ndarray
        Background rows ``(nb, p)``; the timing probe repeats them to at most
        ``probe_rows`` rows.
    rows_requested : int
        Rows the caller would explain without a budget.
    reason : str
        Why no fast explainer applies (for the message).
    max_seconds : float, optional
        Time budget for the explanation; None for none.

    Returns
    -------
    SlowPathPlan

    Examples
    --------
    >>> import numpy as np
    >>> plan = plan_model_agnostic(lambda a: a.sum(1), np.ones((50, 3)), rows_requested=100,
    ...                            reason="no fast explainer for f", max_seconds=1e-9)
    >>> plan.explainer, plan.predictions_per_row, plan.rows
    ('exact', 300, 10)
    """
    nb, p = bm.shape
    explainer, per_row = predictions_per_row(
        p, nb, max_exact_features=max_exact_features, n_permutations=n_permutations
    )
    # The explainers predict on batches of up to 2**18 rows: time a large batch, so that
    # per-call overhead (a Pipeline's transformers) is amortised as it will be; the best
    # of two calls leaves out one-off warm-up costs.
    probe = np.resize(bm, (max(1, min(probe_rows, max(per_row * rows_requested, nb))), p))
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        predict(probe)
        timings.append(time.perf_counter() - start)
    seconds = min(timings) / len(probe)
    per_row_seconds = max(per_row, 1) * seconds
    rows = rows_requested
    if max_seconds is not None and rows_requested * per_row_seconds > max_seconds:
        affordable = int(max_seconds / per_row_seconds) if per_row_seconds > 0 else rows
        rows = min(rows_requested, max(MIN_ROWS, affordable))
    return SlowPathPlan(
        explainer=explainer,
        reason=reason,
        predictions_per_row=int(per_row),
        seconds_per_prediction=float(seconds),
        rows_requested=int(rows_requested),
        rows=int(rows),
        expected_seconds=float(rows * per_row_seconds),
        max_seconds=max_seconds,
        se_factor=math.sqrt(rows_requested / max(rows, 1)),
    )


def explain_in_chunks(
    explain_rows: Callable[[np.ndarray, np.random.SeedSequence], tuple[np.ndarray, float]],
    xm: np.ndarray,
    *,
    seed: np.random.SeedSequence,
    progress: bool,
    desc: str,
    chunk_rows: int = 64,
) -> tuple[np.ndarray, float]:
    """Run a model-agnostic explainer over row chunks, with a progress bar when asked.

    Rows are independent in both model-agnostic explainers, so chunking changes nothing
    but memory and feedback; each chunk gets its own child seed (fixed chunking: the same
    seed gives the same values).

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda rows, seed: (rows * 2.0, 0.0)
    >>> values, base = explain_in_chunks(f, np.ones((5, 2)), seed=np.random.SeedSequence(0),
    ...                                  progress=False, desc="SHAP", chunk_rows=2)
    >>> values.shape, base
    ((5, 2), 0.0)
    """
    starts = list(range(0, len(xm), chunk_rows))
    seeds = seed.spawn(len(starts))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(xm), desc=desc, unit="row", leave=False)
    parts, base = [], math.nan
    try:
        for start, child in zip(starts, seeds, strict=True):
            values, base = explain_rows(xm[start : start + chunk_rows], child)
            parts.append(values)
            if bar is not None:
                bar.update(len(values))
    finally:
        if bar is not None:
            bar.close()
    return np.concatenate(parts, axis=0), base


# --------------------------------------------------------------------------- explainers
def _mean_over_background(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, masks: np.ndarray, bm: np.ndarray
) -> np.ndarray:
    """v(S) = mean over background rows b of f(x_S, b_-S), for rows ``x`` (n, p) and
    coalitions ``masks`` (n, k, p) boolean; returns (n, k)."""
    n, k, p = masks.shape
    nb = len(bm)
    out = np.empty(n * k, dtype=np.float64)
    flat_masks = masks.reshape(n * k, p)
    per_chunk = max(1, _BATCH_ROWS // nb)
    for start in range(0, n * k, per_chunk):
        stop = min(n * k, start + per_chunk)
        xs = x[np.arange(start, stop) // k][:, None, :]
        ms = flat_masks[start:stop][:, None, :]
        z = np.where(ms, xs, bm[None, :, :]).reshape(-1, p)
        out[start:stop] = f(z).reshape(stop - start, nb).mean(axis=1)
    return out.reshape(n, k)


def exact_shap(
    f: Callable[[np.ndarray], np.ndarray], xm: np.ndarray, bm: np.ndarray
) -> tuple[np.ndarray, float]:
    """Exact interventional Shapley values of ``f`` by enumerating all coalitions.

    Parameters
    ----------
    f : callable
        Maps an ``(m, p)`` float matrix to ``m`` predictions.
    xm, bm : numpy.ndarray
        Rows to explain ``(n, p)`` and background rows ``(nb, p)``.

    Returns
    -------
    values : numpy.ndarray
        ``(n, p)``.
    base : float
        Mean of ``f`` over the background.
    """
    n, p = xm.shape
    base = float(np.mean(f(bm)))
    full = f(xm)
    n_sets = 1 << p
    bits = ((np.arange(n_sets)[:, None] >> np.arange(p)[None, :]) & 1).astype(bool)
    inner = np.arange(1, n_sets - 1)  # proper non-empty coalitions need the background
    v = np.empty((n, n_sets), dtype=np.float64)
    v[:, 0], v[:, -1] = base, full
    if len(inner):
        v[:, inner] = _mean_over_background(
            f, xm, np.broadcast_to(bits[inner], (n, len(inner), p)), bm
        )
    size = bits.sum(axis=1)
    weight = np.array(
        [
            math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) if s < p else 0.0
            for s in size
        ]
    )
    values = np.empty((n, p), dtype=np.float64)
    for i in range(p):
        without = np.flatnonzero(~bits[:, i])
        values[:, i] = (v[:, without | (1 << i)] - v[:, without]) @ weight[without]
    return values, base


def permutation_shap(
    f: Callable[[np.ndarray], np.ndarray],
    xm: np.ndarray,
    bm: np.ndarray,
    *,
    seed: int | np.random.SeedSequence,
    n_permutations: int = N_PERMUTATIONS,
) -> tuple[np.ndarray, float]:
    """Interventional Shapley values of ``f`` by antithetic permutation sampling.

    Each row gets ``n_permutations // 2`` random feature orderings and their reverses; the
    marginal contributions along each ordering telescope, so values add up exactly to
    ``f(x) - base``. The orderings come from a generator seeded by ``seed`` and drawn for
    all rows at once, so the result does not depend on batching.
    """
    n, p = xm.shape
    half = max(1, n_permutations // 2)
    rng = np.random.default_rng(seed)
    forward = rng.permuted(np.tile(np.arange(p), (n * half, 1)), axis=1).reshape(n, half, p)
    perms = np.concatenate([forward, forward[:, :, ::-1]], axis=1)  # (n, 2h, p)
    k = perms.shape[1]
    base = float(np.mean(f(bm)))
    full = f(xm)
    # masks[r, q, s, :] = the first s+1 features of ordering q are taken from x (s < p-1).
    rank = np.argsort(perms, axis=2)  # position of each feature in each ordering
    steps = np.arange(p - 1)
    masks = rank[:, :, None, :] <= steps[None, None, :, None]  # (n, k, p-1, p)
    v = np.empty((n, k, p + 1), dtype=np.float64)
    v[:, :, 0], v[:, :, -1] = base, full[:, None]
    if p > 1:
        v[:, :, 1:-1] = _mean_over_background(f, xm, masks.reshape(n, k * (p - 1), p), bm).reshape(
            n, k, p - 1
        )
    gains = np.diff(v, axis=2)  # gain of the feature added at each step, in ordering order
    values = np.take_along_axis(gains, rank, axis=2).mean(axis=1)
    return values, base
