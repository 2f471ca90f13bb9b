"""The report: every stage's result in one object; rendering is delegated to ``render/``."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from causalinterp._io import write_text_atomic, write_texts_atomic
from causalinterp.attribute.attributions import Attributions
from causalinterp.data import CheckedData
from causalinterp.errors import CausalInterpError
from causalinterp.estimate.effects import Effects, FeatureEffect
from causalinterp.graph import CausalGraph
from causalinterp.graph.independence import GraphTest
from causalinterp.refute.results import Refutations
from causalinterp.render import html as html_render
from causalinterp.render import json as json_render
from causalinterp.render import markdown as markdown_render
from causalinterp.render._text import VERDICT_LABELS, escape_markdown
from causalinterp.render.json import SCHEMA_VERSION
from causalinterp.verdicts import FeatureVerdict

__all__ = ["SCHEMA_VERSION", "TABLE_COLUMNS", "VERDICT_LABELS", "Report", "escape_markdown"]

#: Columns of :attr:`Report.table`, in order.
TABLE_COLUMNS: tuple[str, ...] = (
    "feature",
    "verdict",
    "causal_support",
    "flagged",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "mean_abs_shap",
    "slope",
    "rank",
    "strategy",
    "adjustment_set",
    "reasons",
)

# Verdicts that compare the slope with a causal effect distinguishable from zero.
_NEEDS_EFFECT = frozenset({"supported", "over_attributed", "under_attributed", "sign_conflict"})
# The p-value and the interval come from one standard error; the slack absorbs rounding only.
_P_SLACK = 1e-6


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _contradiction(verdict: FeatureVerdict, effect: FeatureEffect | None) -> str | None:
    """Why a verdict contradicts itself or its effect, or None when it is consistent."""
    if verdict.flagged and verdict.causal_support is True:
        return "is flagged although its causal support is True"
    estimate = effect.estimate if effect is not None else None
    if verdict.verdict == "no_causal_path" and estimate is not None:
        return f"has verdict 'no_causal_path' but an estimated effect ({estimate.estimate:.4g})"
    if verdict.verdict == "no_detectable_effect" and estimate is not None:
        low, high = _float(estimate.ci_low), _float(estimate.ci_high)
        if not (math.isfinite(low) and math.isfinite(high)):
            # An unbounded (Anderson-Rubin) set cannot tell: that is 'inconclusive'.
            return "has verdict 'no_detectable_effect' on an unbounded interval ('inconclusive')"
    if verdict.verdict in _NEEDS_EFFECT:
        if estimate is None:
            return f"has verdict {str(verdict.verdict)!r} but no estimated effect"
        low, high, p = (_float(v) for v in (estimate.ci_low, estimate.ci_high, estimate.p_value))
        if low <= 0.0 <= high or p > 0.05 + _P_SLACK:
            return (
                f"has verdict {str(verdict.verdict)!r} but its effect is not distinguishable "
                f"from zero (95% CI {low:.4g} to {high:.4g}, p = {p:.3g})"
            )
    return None


@dataclass(frozen=True, eq=False)
class Report:
    """Everything one analysis found; renders itself as JSON, Markdown and HTML.

    The report holds the stage results only. The renderers in :mod:`causalinterp.render`
    turn them into text (``render.json``, ``render.markdown``, ``render.html`` and
    ``render.plots``); :meth:`write` writes all three files atomically.

    A report refuses verdicts that contradict themselves or their effect (a flagged feature
    with causal support, ``no_causal_path`` with an estimated effect, a verdict that compares
    the slope with an effect whose interval includes zero, ``no_detectable_effect`` on an
    unbounded interval, which is ``inconclusive``): it raises
    :class:`~causalinterp.errors.CausalInterpError` naming the feature.

    Attributes
    ----------
    checked : CheckedData
        The checked data (outcome, model features, observed and latent variables).
    graph : CausalGraph
        The causal DAG.
    effects : Effects
        Identification and estimate of every feature's total effect on the outcome.
    attributions : Attributions
        SHAP attributions of the model.
    verdicts : Mapping[str, FeatureVerdict]
        The verdict on every feature.
    refutations : Refutations or None
        Refuter results and sensitivity per feature; None when refutation was not run.
    graph_test : GraphTest or None
        Test of the DAG's implied independences; None when not run.
    settings : Mapping[str, Any]
        Options of the run (``seed``, ``refute``, ``material_share``, ``attribution_factor``,
        ``nuisance``...).
    run : Mapping[str, Any]
        ``started_at``, ``seconds`` per stage and package ``versions``; the only part of the
        report that differs between identical runs. ``started_at`` defaults to now, ``seconds``
        to the effects stage's timings, ``versions`` to none.
    domain : DomainCheck or None
        Directions declared on the DAG checked on the model (``docs/domain-logic.md``); None
        when not run.
    curves : Curves or None
        Dose-response curves and heterogeneity tests (``docs/curves.md``); None when not run.
    """

    checked: CheckedData
    graph: CausalGraph
    effects: Effects
    attributions: Attributions
    verdicts: Mapping[str, FeatureVerdict]
    refutations: Refutations | None = None
    graph_test: GraphTest | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    run: Mapping[str, Any] = field(default_factory=dict)
    domain: Any = None  # causalinterp.domain.check.DomainCheck: directions and ICE checks
    curves: Any = None  # causalinterp.estimate.curves.Curves: dose-response, heterogeneity

    def __post_init__(self) -> None:
        # Copies, so a caller mutating its own dicts later cannot change a finished report.
        object.__setattr__(self, "verdicts", dict(self.verdicts))
        object.__setattr__(self, "settings", dict(self.settings))
        run = dict(self.run)
        if not run.get("started_at"):
            run["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        run.setdefault("seconds", dict(getattr(self.effects, "seconds", {}) or {}))
        run.setdefault("versions", {})
        object.__setattr__(self, "run", run)
        self._check_verdicts()

    def _check_verdicts(self) -> None:
        for key, verdict in self.verdicts.items():
            if verdict.feature != key:
                raise CausalInterpError(
                    f"verdicts: the verdict stored under {key!r} is for {verdict.feature!r}; "
                    "key each verdict by its own feature"
                )
            problem = _contradiction(verdict, self.effects.by_feature.get(key))
            if problem is not None:
                raise CausalInterpError(
                    f"verdicts: feature {key!r} {problem}; "
                    "build the verdicts with judge() from these effects"
                )

    # ------------------------------------------------------------------ plain accessors

    @property
    def outcome(self) -> str:
        """Name of the outcome variable."""
        return self.checked.outcome

    @property
    def features(self) -> tuple[str, ...]:
        """The model's features, in the model's order."""
        return json_render.model_features(self.checked, self.attributions)

    @property
    def flagged(self) -> tuple[str, ...]:
        """Flagged features, in the model's order."""
        return tuple(f for f in self.features if self._verdict(f).flagged)

    @property
    def graph_fits(self) -> bool | None:
        """Whether the DAG fits the data; None when it was not tested."""
        return None if self.graph_test is None else self.graph_test.fits

    @property
    def _refuted(self) -> bool:
        """Whether refuters ran (depth "none" keeps only the sensitivity analysis)."""
        return self.refutations is not None and self.refutations.depth != "none"

    def _verdict(self, feature: str) -> FeatureVerdict:
        return json_render.verdict_for(self.verdicts, feature)

    @property
    def table(self) -> pd.DataFrame:
        """One row per feature, in the model's order, with the columns in :data:`TABLE_COLUMNS`.

        ``adjustment_set`` is the names joined with ``", "``, ``reasons`` the reasons joined
        with ``"; "``; missing numbers are NaN.
        """
        rows = []
        for name in self.features:
            verdict = self._verdict(name)
            effect = self.effects.by_feature.get(name)
            estimate = effect.estimate if effect is not None else None
            attribution = self.attributions.by_feature.get(name)
            ident = effect.identification if effect is not None else None
            rows.append(
                {
                    "feature": name,
                    "verdict": verdict.verdict,
                    "causal_support": verdict.causal_support,
                    "flagged": bool(verdict.flagged),
                    "effect": _float(estimate.estimate) if estimate else math.nan,
                    "ci_low": _float(estimate.ci_low) if estimate else math.nan,
                    "ci_high": _float(estimate.ci_high) if estimate else math.nan,
                    "p_value": _float(estimate.p_value) if estimate else math.nan,
                    "mean_abs_shap": _float(attribution.mean_abs_shap) if attribution else math.nan,
                    "slope": _float(attribution.slope) if attribution else math.nan,
                    "rank": int(attribution.rank) if attribution else None,
                    "strategy": ident.strategy if ident else "",
                    "adjustment_set": ", ".join(sorted(map(str, ident.adjustment_set or ())))
                    if ident
                    else "",
                    "reasons": "; ".join(verdict.reasons),
                }
            )
        frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
        frame["causal_support"] = frame["causal_support"].astype(object)
        frame["rank"] = frame["rank"].astype("Int64")
        return frame

    # ------------------------------------------------------------------------ renderers

    def _stages(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "graph": self.graph,
            "effects": self.effects,
            "attributions": self.attributions,
            "verdicts": self.verdicts,
            "refutations": self.refutations,
            "graph_test": self.graph_test,
            "domain": self.domain,
            "curves": self.curves,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data, in the ``report.json`` schema (version 1.3).

        Keys are sorted, floats rounded to 6 significant digits, NaN and infinities are None:
        the same inputs give the same data, apart from ``run``. See docs/report-schema.md.
        """
        return json_render.report_dict(**self._stages(), settings=self.settings, run=self.run)

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The report as JSON text (see :meth:`to_dict`); written atomically if ``path`` is given.

        Parameters
        ----------
        path : str or os.PathLike, optional
            File to write. Its folder must exist.

        Returns
        -------
        str
            The JSON text, UTF-8, two-space indented, ending in a newline.
        """
        text = json_render.json_text(self.to_dict())
        if path is not None:
            write_text_atomic(path, text)
        return text

    def to_markdown(self) -> str:
        """A short summary for a pull-request comment.

        A headline with counts and flagged features, whether the DAG fits the data, a compact
        table and the failing refuters. Every name is escaped, so hostile column names show as
        text.

        Returns
        -------
        str
        """
        return markdown_render.render_markdown(self.to_dict(), refuted=self._refuted)

    def to_html(
        self, path: str | os.PathLike[str] | None = None, *, include_plots: bool = True
    ) -> str:
        """The full report as one self-contained HTML file.

        No network access is needed or made: CSS is inline, plots are embedded SVG images,
        there are no scripts, and a content security policy forbids loading anything else.
        A plot that fails to render is replaced by ``plot unavailable: <reason>``.

        Parameters
        ----------
        path : str or os.PathLike, optional
            File to write atomically. Its folder must exist.
        include_plots : bool, default True
            Draw the plots. Without them the file is small and renders in a fraction of the
            time (each plot takes a few tenths of a second); every table and text is kept.

        Returns
        -------
        str
            The HTML text.
        """
        text = html_render.render_html(
            self.to_dict(), **self._stages(), settings=self.settings, include_plots=include_plots
        )
        if path is not None:
            write_text_atomic(path, text)
        return text

    def _repr_html_(self) -> str:
        return html_render.render_summary_html(self.to_dict(), refuted=self._refuted)

    def write(
        self, out_dir: str | os.PathLike[str], *, include_plots: bool = True
    ) -> dict[str, Path]:
        """Write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir``.

        The folder is created if needed. All three texts are rendered before anything is
        written, and each file is replaced atomically, so a failure leaves earlier files whole;
        writing again into the same folder replaces them.

        Parameters
        ----------
        out_dir : str or os.PathLike
            Destination folder.
        include_plots : bool, default True
            Passed to :meth:`to_html`.

        Returns
        -------
        dict
            ``{"json": path, "markdown": path, "html": path}``.
        """
        folder = Path(out_dir)
        texts = {
            "json": ("report.json", self.to_json()),
            "markdown": ("report.md", self.to_markdown()),
            "html": ("report.html", self.to_html(include_plots=include_plots)),
        }
        folder.mkdir(parents=True, exist_ok=True)
        # All three complete on disk before any is renamed: a failure leaves the old set whole.
        written = write_texts_atomic({folder / filename: text for filename, text in texts.values()})
        return dict(zip(texts, written, strict=True))
