"""Refit a model with monotone constraints and show what enforcing the directions costs.

The model and its constrained twin are fitted on the same seeded training split and scored on
the same validation rows, so the score difference isolates the constraints. Its confidence
interval is a paired bootstrap over the validation rows: each resample scores both models on
the same rows, so the interval reflects the uncertainty of the *difference*, which is much
smaller than that of either score.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalinterp._progress import status
from causalinterp._seeds import seed_sequence
from causalinterp.data import check_data
from causalinterp.domain import _trees
from causalinterp.domain.directions import Directions, derive_directions, directions_from
from causalinterp.domain.verification import Verification, prediction_function, verify
from causalinterp.errors import OptionError
from causalinterp.options import validate


@dataclass(frozen=True)
class ScoreChange:
    """One validation metric before and after the constraints.

    ``difference`` is ``after - before``; (``ci_low``, ``ci_high``) its paired-bootstrap
    interval. ``better`` says which way is an improvement (``"lower"`` for log-loss and RMSE,
    ``"higher"`` for AUC).
    """

    metric: str
    before: float
    after: float
    difference: float
    ci_low: float
    ci_high: float
    better: str

    @property
    def cost(self) -> float:
        """How much worse the constrained model is (negative: better)."""
        return self.difference if self.better == "lower" else -self.difference


@dataclass(frozen=True)
class Constrained:
    """The result of :func:`constrain`.

    Attributes
    ----------
    model : str
        The model's class.
    family : {"sklearn", "lightgbm", "xgboost"}
    directions : Directions
        Every feature's direction and why.
    constraints : Mapping[str, int]
        Feature to +1, -1 or 0, as passed to the library.
    scores : tuple of ScoreChange
        Log-loss and AUC (binary outcomes) or RMSE.
    before, after : Verification
        ICE checks of the unconstrained and constrained refits (same rows, same grids).
    n_train, n_validation : int
    seed : int or numpy.random.SeedSequence
        The seed as given (a SeedSequence is kept whole: ``to_dict`` records its entropy
        and spawn key).
    level : float
        Confidence level of the score differences' intervals.
    unconstrained, constrained : estimator
        The two fitted models (not compared).
    verdicts : pandas.DataFrame or None
        The verdict table of :func:`causalinterp.analyze` on the constrained model, when asked.
    """

    model: str
    family: str
    directions: Directions
    constraints: Mapping[str, int]
    scores: tuple[ScoreChange, ...]
    before: Verification
    after: Verification
    n_train: int
    n_validation: int
    seed: int | np.random.SeedSequence
    level: float = 0.95
    unconstrained: Any = field(default=None, repr=False, compare=False)
    constrained: Any = field(default=None, repr=False, compare=False)
    verdicts: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The constrain.json data (docs/domain-logic.md): sorted keys, six significant digits."""
        from causalinterp.domain.render import constrain_dict
        from causalinterp.render.json import clean

        return clean(constrain_dict(self))

    def to_markdown(self) -> str:
        """constrain.md: the violations and scores before and after, every name escaped."""
        from causalinterp.domain.render import constrain_markdown

        return constrain_markdown(self)

    def write(
        self, out_dir: str | os.PathLike[str], *, save_model: bool = False
    ) -> dict[str, Path]:
        """Write ``constrain.json``, ``constrain.md`` and the constrained model into ``out_dir``.

        The folder is created if needed; the texts are replaced atomically together, so a
        failure leaves earlier files whole.

        Parameters
        ----------
        out_dir : str or os.PathLike
            Destination folder.
        save_model : bool, default False
            Also save the constrained model in its own format (scikit-learn: skops; LightGBM:
            text; XGBoost: JSON); ``constrain.json`` then names the file and the types to
            trust when loading it.

        Returns
        -------
        dict
            ``{"json": path, "markdown": path}``, and ``"model": path`` when saved.
        """
        from causalinterp._io import write_texts_atomic
        from causalinterp.render.json import json_text

        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        content = self.to_dict()
        saved = None
        if save_model and self.constrained is not None:
            saved = _trees.save(self.constrained, folder, "constrained_model")
            content["model_file"] = saved.name
            # skops refuses tree internals unless named as trusted; say which, for loading.
            content["model_trusted_types"] = _trees.types_to_trust(saved)
        written = write_texts_atomic({
            folder / "constrain.json": json_text(content),
            folder / "constrain.md": self.to_markdown(),
        })
        paths = dict(zip(("json", "markdown"), written, strict=True))
        if saved is not None:
            paths["model"] = saved
        return paths


def constrain(
    model: Any,
    data: pd.DataFrame,
    graph: Any,
    outcome: str,
    *,
    features: Iterable[str] | None = None,
    signs: Mapping[tuple[str, str], Any] | None = None,
    effects: Mapping[str, tuple[float, float, float]] | None = None,
    directions: Directions | Mapping[str, Any] | None = None,
    validation_fraction: float = 0.25,
    score_bootstrap: int = 1000,
    score_alpha: float = 0.05,
    ice_rows: int = 200,
    ice_grid: int = 50,
    ice_tolerance: float = 0.01,
    seed: int | np.random.SeedSequence = 0,
    verdicts: bool = False,
    analyze_options: Mapping[str, Any] | None = None,
    n_jobs: int | None = None,
    backend: str | None = None,
    progress: bool | None = None,
) -> Constrained:
    """Refit ``model``'s family with monotone constraints from the DAG and compare.

    Parameters
    ----------
    model : estimator or None
        A scikit-learn histogram gradient boosting, decision tree, random forest or extra
        trees model, or a LightGBM or XGBoost scikit-learn model (fitted or not: it is cloned
        and refitted). None: causalinterp's default model (histogram gradient boosting).
    data : pandas.DataFrame
        The rows; checked as by :func:`causalinterp.analyze`.
    graph : CausalGraph, networkx.DiGraph or any graph source
        The DAG; a networkx DiGraph may carry edge attributes ``sign``.
    outcome : str
        The outcome column (binary or continuous).
    features : iterable of str, optional
        The model's features (default: the model's ``feature_names_in_``, else every observed
        graph node but the outcome).
    signs : mapping (cause, effect) -> "+" or "-", optional
        Declared edge signs.
    effects : mapping feature -> (estimate, ci_low, ci_high), optional
        Estimated effects, for suggested directions where nothing is declared.
    directions : Directions or mapping feature -> "+", "-" or None, optional
        Use these directions instead of deriving them from the DAG.
    validation_fraction : float, default 0.25
        Share of rows held out (stratified for a binary outcome).
    score_bootstrap : int, default 1000
        Paired bootstrap resamples for the score differences' intervals.
    score_alpha : float, default 0.05
        The intervals are at level ``1 - score_alpha``.
    ice_rows, ice_grid : int
        Rows and grid points of the ICE checks (see :func:`verify`).
    ice_tolerance : float, default 0.01
        Relative tolerance of the ICE checks (see :func:`verify`).
    seed : int or numpy.random.SeedSequence, default 0
        Seeds the split, the models' ``random_state`` (when they have none), the ICE rows and
        the bootstrap; recorded as given (a SeedSequence by its entropy and spawn key).
    verdicts : bool, default False
        Also run :func:`causalinterp.analyze` on the constrained model (slow: estimates
        every effect) and keep its verdict table.
    analyze_options : mapping, optional
        Options passed to :func:`causalinterp.analyze` with ``verdicts=True``.
    n_jobs, backend, progress
        Parallel features of the ICE checks (joblib semantics, as in
        :func:`causalinterp.analyze`); progress lines on standard error (default: when it is
        a terminal).

    Returns
    -------
    Constrained

    Raises
    ------
    ModelError
        The model family takes no monotone constraints.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 1, 400)
    >>> df = pd.DataFrame({"x": x, "y": x + 0.3 * np.sin(12 * x) + 0.1 * rng.normal(size=400)})
    >>> out = constrain(None, df, "x -> y", "y", signs={("x", "y"): "+"})
    >>> out.after.by_feature["x"].violation_share
    0.0
    """
    validate({"validation_fraction": validation_fraction, "score_bootstrap": score_bootstrap,
              "score_alpha": score_alpha, "ice_rows": ice_rows, "ice_grid": ice_grid,
              "ice_tolerance": ice_tolerance, "verdicts": verdicts, "n_jobs": n_jobs,
              "backend": backend, "progress": progress})
    root = seed_sequence(seed)
    split_seed, model_seed, verify_seed, boot_seed = root.spawn(4)
    if features is None and model is not None and hasattr(model, "feature_names_in_"):
        features = [str(c) for c in model.feature_names_in_]
    checked = check_data(data, _plain_graph(graph), outcome, features=features)
    features = list(checked.features)
    categorical = [f for f in features if checked.kinds[f] == "categorical"]
    derived = derive_directions(graph, outcome, features, signs=signs, effects=effects,
                                categorical=categorical)
    if directions is not None:
        derived = _override(derived, directions_from(directions))
    if model is None:
        from causalinterp.attribute._default_model import default_model

        model = default_model(checked.outcome_kind, seed=model_seed)
    _trees.family(model)  # refuse an unsupported family before any fitting
    wanted = derived.expected()
    unconstrained = _seeded(_trees.with_constraints(model, features, {}), model_seed)
    constrained = _seeded(_trees.with_constraints(model, features, wanted), model_seed)

    x = checked.frame[features]
    y = checked.frame[outcome]
    binary = checked.outcome_kind == "binary"
    train, valid = _split(y.to_numpy(), validation_fraction, split_seed, binary)
    say = status(progress, "constrain")
    say(f"fitting {type(model).__name__} on {len(train)} rows, without and with constraints")
    unconstrained.fit(x.iloc[train], y.iloc[train])
    constrained.fit(x.iloc[train], y.iloc[train])
    say(f"scoring both on {len(valid)} validation rows ({score_bootstrap} bootstrap resamples)")

    predict_before, _ = prediction_function(unconstrained, features)
    predict_after, _ = prediction_function(constrained, features)
    xv = x.iloc[valid].to_numpy(dtype=float)
    scores = _scores(y.to_numpy()[valid], predict_before(xv), predict_after(xv), binary,
                     score_bootstrap, score_alpha, boot_seed)
    check = {"ice_rows": ice_rows, "ice_grid": ice_grid, "ice_tolerance": ice_tolerance,
             "seed": verify_seed, "n_jobs": n_jobs, "backend": backend, "progress": progress,
             "features": features}
    say("checking both models' ICE curves against the directions")
    before = verify(unconstrained, x, derived, **check)
    after = verify(constrained, x, derived, **check)
    table = None
    if verdicts:
        from causalinterp.pipeline import analyze

        say("re-running the analysis on the constrained model")
        report = analyze(data, _plain_graph(graph), outcome, model=constrained,
                         features=features, seed=_analysis_seed(seed), n_jobs=n_jobs,
                         backend=backend, progress=progress,
                         **dict(analyze_options or {}))
        table = report.table
        # Report.table is a property; older Reports had it as a method.
        table = table() if callable(table) else table
    return Constrained(
        model=type(model).__name__,
        family=_trees.family(model),
        directions=derived,
        constraints={f: {"+": 1, "-": -1}.get(wanted.get(f) or "", 0) for f in features},
        scores=scores,
        before=before,
        after=after,
        n_train=len(train),
        n_validation=len(valid),
        seed=seed if isinstance(seed, np.random.SeedSequence) else int(seed),
        level=1 - score_alpha,
        unconstrained=unconstrained,
        constrained=constrained,
        verdicts=table,
    )


def _analysis_seed(seed: int | np.random.SeedSequence) -> int:
    """analyze() takes an integer seed: a SeedSequence's first generated word stands for it."""
    if isinstance(seed, np.random.SeedSequence):
        return int(seed_sequence(seed).generate_state(1)[0])
    return int(seed)


def _plain_graph(graph: Any) -> Any:
    # Parse here so that errors name the graph once.
    from causalinterp.graph import CausalGraph

    return CausalGraph.parse(graph)


def _override(derived: Directions, given: dict[str, str | None]) -> Directions:
    from dataclasses import replace

    from causalinterp.domain.directions import Direction

    unknown = [f for f in given if f not in derived.features]
    if unknown:
        raise OptionError(f"directions: {', '.join(map(repr, unknown))} not among the "
                          f"features ({', '.join(derived.features)}); direct only the features")
    by_feature = dict(derived.by_feature)
    for name, sign in given.items():
        by_feature[name] = Direction(name, sign, "declared" if sign else None,
                                     "declared" if sign else "unsigned",
                                     "given explicitly", ())
    return replace(derived, by_feature=by_feature)


def _seeded(model: Any, seed: np.random.SeedSequence) -> Any:
    """Give the model a seeded ``random_state`` when it has none, so refits are repeatable."""
    params = model.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None:
        model.set_params(random_state=int(seed.generate_state(1)[0] % (2**31 - 1)))
    return model


def _split(
    y: np.ndarray, fraction: float, seed: np.random.SeedSequence, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == v) for v in np.unique(y)] if stratify else [np.arange(len(y))]
    valid = []
    for rows in groups:
        take = round(fraction * len(rows))
        valid.append(rng.permutation(rows)[:take])
    held = np.sort(np.concatenate(valid))
    train = np.setdiff1d(np.arange(len(y)), held)
    return train, held


def _scores(
    y: np.ndarray, before: np.ndarray, after: np.ndarray, binary: bool, n_boot: int,
    alpha: float, seed: np.random.SeedSequence,
) -> tuple[ScoreChange, ...]:
    n = len(y)
    if binary:
        loss_b, loss_a = _log_loss(y, before), _log_loss(y, after)
    else:
        loss_b, loss_a = (y - before) ** 2, (y - after) ** 2
    rank_b = _AUC(y, before) if binary else None
    rank_a = _AUC(y, after) if binary else None
    rng = np.random.default_rng(seed)
    boot_loss, boot_auc = [], []
    # Multinomial counts = a resample of the rows; weighting by them scores both models on
    # exactly the same resampled rows (the pairing). Chunks bound the memory to 100 x n.
    for start in range(0, n_boot, 100):
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=min(100, n_boot - start))
        weights = weights.astype(float)
        if binary:
            boot_loss.append(weights @ (loss_a - loss_b) / n)
            boot_auc.append(rank_a(weights) - rank_b(weights))
        else:
            boot_loss.append(np.sqrt(weights @ loss_a / n) - np.sqrt(weights @ loss_b / n))
    loss = np.concatenate(boot_loss)
    if not binary:
        rmse_b, rmse_a = float(np.sqrt(loss_b.mean())), float(np.sqrt(loss_a.mean()))
        return (_change("rmse", rmse_b, rmse_a, rmse_a - rmse_b, loss, alpha, "lower"),)
    changes = [_change("log_loss", float(loss_b.mean()), float(loss_a.mean()),
                       float(loss_a.mean() - loss_b.mean()), loss, alpha, "lower")]
    if len(np.unique(y)) == 2:
        ones = np.ones((1, n))
        auc_b, auc_a = float(rank_b(ones)[0]), float(rank_a(ones)[0])
        diffs = np.concatenate(boot_auc)
        changes.append(_change("auc", auc_b, auc_a, auc_a - auc_b, diffs[np.isfinite(diffs)],
                               alpha, "higher"))
    return tuple(changes)


def _log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row log-loss; probabilities clipped as scikit-learn does, so 0 and 1 stay finite."""
    eps = np.finfo(float).eps
    p = np.clip(p, eps, 1 - eps)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


class _AUC:
    """Weighted ROC AUC of fixed scores for many weight vectors at once.

    AUC is the probability that a positive outranks a negative (ties count half); with the
    rows sorted once by score it is a cumulative sum per weight vector, so a thousand
    bootstrap resamples cost a few matrix operations instead of a thousand sorts.
    """

    def __init__(self, y: np.ndarray, scores: np.ndarray) -> None:
        order = np.argsort(scores, kind="stable")
        ordered = scores[order]
        self.order = order
        self.positive = (y[order] == 1).astype(float)
        # First row of each run of tied scores.
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        w = weights[:, self.order]
        pos = np.add.reduceat(w * self.positive, self.starts, axis=1)
        neg = np.add.reduceat(w * (1 - self.positive), self.starts, axis=1)
        below = np.cumsum(neg, axis=1) - neg
        with np.errstate(invalid="ignore", divide="ignore"):
            # A resample without both classes has no AUC: NaN, dropped by the caller.
            return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def _change(metric: str, before: float, after: float, point: float, boot: np.ndarray,
            alpha: float, better: str) -> ScoreChange:
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2]) if len(boot) else (np.nan, np.nan)
    return ScoreChange(metric, before, after, point, float(low), float(high), better)
