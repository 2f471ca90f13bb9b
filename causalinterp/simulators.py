"""Structural causal models with known interventional effects.

Case studies and tests need data whose true causal effects are known exactly. A
:class:`StructuralModel` is a set of mechanisms, one per variable; sampling it with an
intervention gives the data of the intervened world. True average per-unit effects are computed
by simulating interventions with common random numbers, the same way they are defined:

* binary treatment: ``E[Y | do(T=1)] - E[Y | do(T=0)]``;
* continuous treatment: ``E[Y | do(T := T + 1)] - E[Y]``, the average effect of raising every
  unit's treatment by one unit from its natural value.

For a binary outcome the mechanism returns its probability and ``Y`` is drawn from it; effects
are computed on the probability itself, so they are exact up to Monte-Carlo error in the other
variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from causalinterp.graph import CausalGraph

Values = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Mechanism:
    """How one variable arises from its parents and its own noise.

    Attributes
    ----------
    parents : tuple of str
        The variable's direct causes.
    function : callable
        ``function(parents: Mapping[str, ndarray], noise: ndarray) -> ndarray``. For a binary
        variable it returns the probability of 1, and the noise is not passed to it.
    kind : {"continuous", "binary", "count"}
        ``"binary"`` draws 0/1 with the returned probability; ``"count"`` draws a Poisson count
        with the returned mean.
    noise_scale : float
        Standard deviation of the Gaussian noise passed to continuous mechanisms.
    """

    parents: tuple[str, ...]
    function: Callable[[Values, np.ndarray], np.ndarray]
    kind: str = "continuous"
    noise_scale: float = 1.0


@dataclass(frozen=True)
class StructuralModel:
    """A structural causal model: mechanisms keyed by variable, some of them latent.

    Examples
    --------
    >>> model = StructuralModel({
    ...     "z": Mechanism((), lambda p, e: e),
    ...     "x": Mechanism(("z",), lambda p, e: p["z"] + e),
    ...     "y": Mechanism(("x", "z"), lambda p, e: 2 * p["x"] + p["z"] + e),
    ... })
    >>> round(model.true_effect("x", "y", n=1000), 6)
    2.0
    """

    mechanisms: Mapping[str, Mechanism]
    latent: tuple[str, ...] = ()
    #: Categorical variables: their level labels; the mechanism returns level codes 0, 1, ...
    #: and :meth:`sample` returns the labels (text, as a user's data would hold them).
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    order: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        g = nx.DiGraph()
        g.add_nodes_from(self.mechanisms)
        for name, mechanism in self.mechanisms.items():
            g.add_edges_from((parent, name) for parent in mechanism.parents)
        object.__setattr__(self, "order", tuple(nx.lexicographical_topological_sort(g)))

    @property
    def graph(self) -> CausalGraph:
        """The DAG of the model, latent variables included."""
        edges = [(p, n) for n, m in self.mechanisms.items() for p in m.parents]
        return CausalGraph.from_edges(edges, nodes=self.mechanisms)

    def sample(
        self,
        n: int,
        *,
        seed: int = 0,
        interventions: Mapping[str, Callable[[np.ndarray], np.ndarray] | float] | None = None,
        probabilities: bool = False,
        include_latent: bool = False,
    ) -> pd.DataFrame:
        """Draw ``n`` units, optionally under interventions.

        Parameters
        ----------
        n : int
            Number of units.
        seed : int
            Seed; the same seed gives the same units, with or without interventions (common
            random numbers), so differences between interventions are low-variance.
        interventions : mapping, optional
            Variable to a constant (``do(T=c)``) or a function of the variable's natural value
            (``do(T := f(T))``).
        probabilities : bool
            Return binary variables' probabilities instead of their draws.
        include_latent : bool
            Keep latent variables as columns.
        """
        interventions = interventions or {}
        rng = np.random.default_rng(seed)
        # One noise draw per variable in a fixed order: interventions do not shift the streams.
        noise = {name: (rng.standard_normal(n), rng.random(n)) for name in self.order}
        values: dict[str, np.ndarray] = {}
        probs: dict[str, np.ndarray] = {}
        for name in self.order:
            mechanism = self.mechanisms[name]
            parents = {p: values[p] for p in mechanism.parents}
            gaussian, uniform = noise[name]
            if mechanism.kind == "binary":
                p = np.clip(mechanism.function(parents, gaussian), 0.0, 1.0)
                probs[name] = p
                natural = (uniform < p).astype(float)
            elif mechanism.kind == "count":
                mean = np.maximum(mechanism.function(parents, gaussian), 0.0)
                natural = _poisson_from_uniform(mean, uniform)
            else:
                natural = mechanism.function(parents, mechanism.noise_scale * gaussian)
            intervention = interventions.get(name)
            if intervention is None:
                values[name] = np.asarray(natural, dtype=float)
            elif callable(intervention):
                values[name] = np.asarray(intervention(natural), dtype=float)
            else:
                values[name] = np.full(n, float(intervention))
            if intervention is not None:
                probs.pop(name, None)
        columns = {
            name: probs[name] if probabilities and name in probs else values[name]
            for name in self.order
            if include_latent or name not in self.latent
        }
        for name, labels in self.levels.items():
            if name in columns:
                columns[name] = np.asarray(labels, dtype=object)[values[name].astype(int)]
        return pd.DataFrame(columns)

    def true_effect(
        self, treatment: str, outcome: str, *, n: int = 400_000, seed: int = 1
    ) -> float:
        """The average per-unit effect of ``treatment`` on ``outcome`` by simulated intervention.

        Binary treatments: ``E[Y|do(T=1)] - E[Y|do(T=0)]``; otherwise the average effect of a
        one-unit increase from the natural value. Binary outcomes on the probability scale.
        """
        if treatment in self.levels:
            raise ValueError(
                f"{treatment}: categorical; use true_level_effect for one level's effect"
            )
        if self.mechanisms[treatment].kind == "binary":
            low, high = {treatment: 0.0}, {treatment: 1.0}
        else:
            low, high = {}, {treatment: lambda t: t + 1.0}
        y_low = self.sample(n, seed=seed, interventions=low, probabilities=True)[outcome]
        y_high = self.sample(n, seed=seed, interventions=high, probabilities=True)[outcome]
        return float(np.mean(y_high.to_numpy() - y_low.to_numpy()))


    def true_level_effect(
        self,
        treatment: str,
        level: str,
        reference: str,
        outcome: str,
        *,
        n: int = 400_000,
        seed: int = 1,
    ) -> float:
        """``E[Y | do(T = level)] - E[Y | do(T = reference)]`` of a categorical ``treatment``
        (binary outcomes on the probability scale)."""
        labels = self.levels[treatment]
        ys = [
            self.sample(
                n, seed=seed, interventions={treatment: float(labels.index(value))},
                probabilities=True,
            )[outcome].to_numpy()
            for value in (level, reference)
        ]
        return float(np.mean(ys[0] - ys[1]))


def _poisson_from_uniform(mean: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Poisson draws by inversion of the given uniforms, so counts share random numbers."""
    from scipy.stats import poisson

    return poisson.ppf(uniform, mean).astype(float)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def retention_model() -> StructuralModel:
    """Subscriber retention: who churns, and which of the model's signals are causes.

    The outcome ``churned`` is binary with a linear probability (effects are constant on the
    probability scale, so the truth is unambiguous). The structure contains every case the
    verdicts must tell apart:

    * ``premium_device`` — a proxy: caused by ``household_income`` (which lowers churn and is
      not a model feature), with no effect of its own;
    * ``cancel_page_visits`` — a consequence of churning (leakage);
    * ``loyalty_discount`` — a cause whose mediator ``monthly_bill`` is also a model feature;
    * ``support_calls`` — confounded by the latent ``frustration``: not identifiable;
    * ``monthly_bill``, ``outage_hours``, ``tenure_years`` — causes.
    """
    return StructuralModel(
        {
            "tenure_years": Mechanism((), lambda p, e: 0.5 + 5.5 * _uniform(e)),
            "household_income": Mechanism((), lambda p, e: 4.5 * np.exp(0.3 * e)),
            "frustration": Mechanism((), lambda p, e: e),
            "outage_hours": Mechanism((), lambda p, e: 3.0 * np.exp(0.3 * e)),
            "premium_device": Mechanism(
                ("household_income",),
                lambda p, e: _sigmoid(2.5 * (p["household_income"] - 4.7)),
                kind="binary",
            ),
            "loyalty_discount": Mechanism(
                ("tenure_years",),
                lambda p, e: 0.1 + 0.12 * p["tenure_years"],
                kind="binary",
            ),
            "monthly_bill": Mechanism(
                ("loyalty_discount", "tenure_years"),
                lambda p, e: 50.0 + 2.0 * p["tenure_years"] - 15.0 * p["loyalty_discount"] + e,
                noise_scale=8.0,
            ),
            "support_calls": Mechanism(
                ("frustration",),
                lambda p, e: np.exp(0.4 + 0.6 * p["frustration"]),
                kind="count",
            ),
            "churned": Mechanism(
                (
                    "tenure_years",
                    "household_income",
                    "frustration",
                    "outage_hours",
                    "loyalty_discount",
                    "monthly_bill",
                    "support_calls",
                ),
                lambda p, e: (
                    0.35
                    - 0.025 * (p["tenure_years"] - 3.25)
                    - 0.06 * (p["household_income"] - 4.7)
                    + 0.006 * (p["monthly_bill"] - 50.0)
                    - 0.04 * p["loyalty_discount"]
                    + 0.03 * (p["outage_hours"] - 3.0)
                    + 0.01 * p["support_calls"]
                    + 0.08 * p["frustration"]
                ),
                kind="binary",
            ),
            "cancel_page_visits": Mechanism(
                ("churned",), lambda p, e: 1.0 + 0.7 * p["churned"], kind="count"
            ),
        },
        latent=("frustration",),
    )


def _uniform(gaussian: np.ndarray) -> np.ndarray:
    """Uniform(0, 1) values from standard normal noise (probability integral transform)."""
    from scipy.special import ndtr

    return ndtr(gaussian)


def cutoff_model(blur: float = 0.0) -> StructuralModel:
    """A programme assigned by a cut-off on a score that also moves the outcome.

    ``score`` (standard normal) decides ``program``: with ``blur = 0`` every row with
    ``score < 0`` is treated and no other row is (a sharp regression-discontinuity design);
    with ``blur > 0``, P(program = 1) = logistic(-score / blur), a strong but overlapping
    assignment. ``earnings = 1.0 program + 1.5 score + 0.5 other + noise``: the effect of
    ``program`` is 1.0 everywhere (so also at the cut-off), and ``score`` confounds it.
    """

    def assign(p: Values, e: np.ndarray) -> np.ndarray:
        if blur <= 0:
            return (p["score"] < 0).astype(float)
        return _sigmoid(-p["score"] / blur)

    return StructuralModel(
        {
            "score": Mechanism((), lambda p, e: e),
            "other": Mechanism((), lambda p, e: e),
            "program": Mechanism(("score",), assign, kind="binary"),
            "earnings": Mechanism(
                ("program", "score", "other"),
                lambda p, e: 1.0 * p["program"] + 1.5 * p["score"] + 0.5 * p["other"] + e,
            ),
        }
    )


def conditional_iv_model() -> StructuralModel:
    """An instrument valid only given a covariate, and a latent confounder (true effect 1).

    ``z`` moves ``t``; ``r`` causes ``z``, ``t`` and (non-linearly) ``y``, so ``z`` is an
    instrument given ``r`` only; the latent ``u`` confounds ``t`` and ``y``, so no back-door
    set exists. ``s`` is an outcome parent (a control for precision). ``y`` is linear in ``t``
    with slope 1: the effect is constant, so the IV estimand is the average effect.
    """
    return StructuralModel(
        {
            "r": Mechanism((), lambda p, e: e),
            "s": Mechanism((), lambda p, e: e),
            "u": Mechanism((), lambda p, e: e),
            "z": Mechanism(("r",), lambda p, e: p["r"] + e),
            "t": Mechanism(
                ("z", "r", "u"), lambda p, e: 0.8 * p["z"] + 0.5 * np.tanh(p["r"]) + p["u"] + e
            ),
            "y": Mechanism(
                ("t", "r", "s", "u"),
                lambda p, e: (
                    1.0 * p["t"] + 2.0 * p["r"] + np.sin(2.0 * p["r"]) + 0.5 * p["s"]
                    + p["u"] + e
                ),
            ),
        },
        latent=("u",),
    )


def frontdoor_model() -> StructuralModel:
    """A front-door design with a covariate: ``t -> m -> y``, ``t`` and ``y`` confounded by
    the latent ``u``, ``c`` a common cause of ``t``, ``m`` and ``y`` (true effect 0.8 x 1.5 =
    1.2). Back-door and instruments fail; ``{m}`` with covariate ``c`` is a front-door set.
    """
    return StructuralModel(
        {
            "c": Mechanism((), lambda p, e: e),
            "u": Mechanism((), lambda p, e: e),
            "t": Mechanism(("c", "u"), lambda p, e: 0.5 * p["c"] + p["u"] + e),
            "m": Mechanism(("t", "c"), lambda p, e: 0.8 * p["t"] + 0.5 * np.tanh(p["c"]) + e),
            "y": Mechanism(
                ("m", "c", "u"), lambda p, e: 1.5 * p["m"] + 0.5 * p["c"] + 2.0 * p["u"] + e
            ),
        },
        latent=("u",),
    )


#: The regions of :func:`credit_default_model`, in code order; ``south`` is the most frequent
#: (the reference level of the analysis).
REGIONS = ("east", "north", "south", "west")


def credit_default_model() -> StructuralModel:
    """Credit default: a four-level categorical cause whose effect runs partly through a
    model feature.

    The outcome ``defaulted`` is binary with a linear probability, so every effect is the
    same on every row and the truth is unambiguous:

    * ``region`` (text, four levels, ``south`` the most frequent) lowers default directly
      (north -0.04, east -0.03, west -0.02 against south) and through the ``interest_rate``
      it sets (3, 2 and 1.5 points lower): total level effects -0.10, -0.07 and -0.05;
    * ``interest_rate`` raises default by 0.02 per point; it is confounded by ``income``;
    * ``income`` lowers both the rate and default (0.03 per unit);
    * ``age`` is a cause of nothing (no path to the outcome).

    A model given ``interest_rate`` beside ``region`` sees only region's direct effect (0.4x
    the total per level); a model given ``region`` and ``income`` alone sees all of it.
    """
    direct = np.array([-0.03, -0.04, 0.0, -0.02])  # east, north, south, west vs south
    rate_shift = np.array([-2.0, -3.0, 0.0, -1.5])
    shares = np.cumsum([0.2, 0.2, 0.4, 0.2])

    def region(p: Values, e: np.ndarray) -> np.ndarray:
        return np.searchsorted(shares, _uniform(e), side="right").clip(0, 3).astype(float)

    return StructuralModel(
        {
            "income": Mechanism((), lambda p, e: 5.0 * np.exp(0.25 * e)),
            "age": Mechanism((), lambda p, e: 40.0 + 10.0 * e),
            "region": Mechanism((), region),
            "interest_rate": Mechanism(
                ("region", "income"),
                lambda p, e: (
                    8.0 + rate_shift[p["region"].astype(int)] - 0.5 * (p["income"] - 5.0) + e
                ),
                noise_scale=1.5,
            ),
            "defaulted": Mechanism(
                ("region", "interest_rate", "income"),
                lambda p, e: (
                    0.25
                    + direct[p["region"].astype(int)]
                    + 0.02 * (p["interest_rate"] - 8.0)
                    - 0.03 * (p["income"] - 5.0)
                ),
                kind="binary",
            ),
        },
        levels={"region": REGIONS},
    )


#: The regions of :func:`credit_risk_model`, in code order; ``south`` is the most frequent
#: (the reference level of the analysis).
CREDIT_REGIONS = ("east", "north", "south", "west")


def credit_risk_model() -> StructuralModel:
    """Credit risk: a lender's default model whose seven features each have a verdict their
    structure dictates.

    The outcome ``defaulted`` is binary with a logistic probability (smooth everywhere: no
    threshold, no plateau). ``income`` (thousands, log-normal) lowers the interest rate and
    default; it is measured, but the model is not given it. ``stress`` (financial stress) is
    latent. The seven model features and the verdict each must get:

    * ``utilization`` (card utilisation, percent) — an exogenous cause, +0.025 log-odds per
      point: the model's slope is its effect, ``supported``;
    * ``interest_rate`` (percent) — a cause, +0.16 log-odds per point, confounded by the
      missing ``income`` (which lowers both): the model credits it with income's effect too,
      about twice the true effect, ``over_attributed``;
    * ``region`` (text: east, north, south, west; ``south`` the reference) — a cause, direct
      (-0.4, -0.6, -0.3 log-odds) and through the ``interest_rate`` it sets (1, 2 and 0.5
      points lower); with the rate in the model (and the rate's confounding by income) the
      model's level contrasts are a quarter to a third of the total level effects:
      ``under_attributed``, judged level by level;
    * ``late_payments`` (count) — a cause, +0.3 log-odds each, confounded with default by the
      latent ``stress``: ``not_identifiable``;
    * ``loan_term`` (months) — an arrow to ``defaulted`` in the graph, zero effect in the
      mechanism: ``no_detectable_effect``;
    * ``age`` (years) — a proxy of ``income`` with no effect of its own: ``no_causal_path``;
    * ``collection_calls`` (count) — made after a default (leakage): ``no_causal_path``.

    The leak is weak on purpose (0.5 calls expected without a default, 0.8 with one): a model
    given a strong consequence of the outcome conditions on a collider and shrinks every other
    slope, and ``utilization`` would then rightly be under-attributed.
    """
    direct = np.array([-0.4, -0.6, 0.0, -0.3])  # east, north, south, west: log-odds
    rate_shift = np.array([-1.0, -2.0, 0.0, -0.5])
    shares = np.cumsum([0.2, 0.2, 0.4, 0.2])

    def region(p: Values, e: np.ndarray) -> np.ndarray:
        return np.searchsorted(shares, _uniform(e), side="right").clip(0, 3).astype(float)

    def log_income(p: Values) -> np.ndarray:
        """Income on its standard-normal scale."""
        return np.log(p["income"] / 60.0) / 0.35

    return StructuralModel(
        {
            "income": Mechanism((), lambda p, e: 60.0 * np.exp(0.35 * e)),
            "stress": Mechanism((), lambda p, e: e),
            "region": Mechanism((), region),
            "age": Mechanism(
                ("income",),
                lambda p, e: np.clip(44.0 + 4.0 * log_income(p) + e, 21.0, 80.0),
                noise_scale=9.0,
            ),
            "utilization": Mechanism((), lambda p, e: 100.0 * _sigmoid(e - 0.4)),
            "loan_term": Mechanism((), lambda p, e: 12.0 + 48.0 * _uniform(e)),
            "interest_rate": Mechanism(
                ("region", "income"),
                lambda p, e: np.maximum(
                    12.0 + rate_shift[p["region"].astype(int)] - 3.0 * log_income(p) + e, 1.0
                ),
                noise_scale=1.5,
            ),
            "late_payments": Mechanism(
                ("stress",), lambda p, e: np.exp(-0.5 + 0.7 * p["stress"]), kind="count"
            ),
            "defaulted": Mechanism(
                (
                    "region", "interest_rate", "income", "utilization", "late_payments",
                    "stress", "loan_term",
                ),
                lambda p, e: _sigmoid(
                    -1.7
                    + direct[p["region"].astype(int)]
                    + 0.16 * (p["interest_rate"] - 12.0)
                    - 0.8 * log_income(p)
                    + 0.025 * (p["utilization"] - 40.0)
                    + 0.3 * p["late_payments"]
                    + 0.4 * p["stress"]
                    + 0.0 * p["loan_term"]
                ),
                kind="binary",
            ),
            "collection_calls": Mechanism(
                ("defaulted",), lambda p, e: 0.5 + 0.3 * p["defaulted"], kind="count"
            ),
        },
        latent=("stress",),
        levels={"region": CREDIT_REGIONS},
    )
