"""The report: every stage's result in one object, rendered as JSON, Markdown and HTML."""

from __future__ import annotations

import base64
import json
import math
import numbers
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from causalinterp._io import write_text_atomic, write_texts_atomic
from causalinterp.attribute.attributions import Attributions
from causalinterp.data import CheckedData
from causalinterp.estimate._econml import describe_nuisance
from causalinterp.estimate.effects import Effects
from causalinterp.graph import CausalGraph
from causalinterp.graph.independence import GraphTest
from causalinterp.judge import FeatureVerdict
from causalinterp.refute.refutation import RefutationResult, Refutations
from causalinterp.render import plots

__all__ = ["SCHEMA_VERSION", "TABLE_COLUMNS", "VERDICT_LABELS", "Report", "escape_markdown"]

SCHEMA_VERSION = "1.1"

#: Verdicts in the order reports list them, with the words shown to readers.
VERDICT_LABELS: Mapping[str, str] = {
    "supported": "supported",
    "over_attributed": "over-attributed",
    "under_attributed": "under-attributed",
    "sign_conflict": "sign conflict",
    "fragile": "fragile",
    "no_detectable_effect": "no detectable effect",
    "no_causal_path": "no causal path",
    "not_identifiable": "not identifiable",
    "error": "error",
}

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

_VERSIONED_PACKAGES = (
    "causalinterp",
    "dowhy",
    "econml",
    "shap",
    "scikit-learn",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "networkx",
    "matplotlib",
    "jinja2",
)

_MARKDOWN_TABLE_ROWS = 25


# ----------------------------------------------------------------------------- helpers


def _round(value: float) -> float | None:
    """Six significant digits; NaN and infinities become None; -0.0 becomes 0.0."""
    if not math.isfinite(value):
        return None
    rounded = float(f"{value:.6g}")
    return rounded + 0.0  # folds -0.0 into 0.0


def _clean(value: Any) -> Any:
    """Turn ``value`` into plain JSON data, with sorted keys and rounded floats."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _round(float(value))
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_clean(v) for v in value), key=str)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.random.SeedSequence):
        return _clean(value.entropy)
    return str(value)


def _names(values: Sequence[Any] | None) -> list[str]:
    return sorted(str(v) for v in (values or ()))


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _default_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def escape_markdown(text: object) -> str:
    """Escape ``text`` so Markdown (GitHub flavour, tables included) shows it literally.

    Backslash-escapes Markdown punctuation (pipes, backticks, emphasis, brackets, headings,
    math dollars, ...) and turns ``&``, ``<`` and ``>`` into HTML entities, so a name such as
    ``<img src=x onerror=alert(1)>`` stays text. Line breaks become spaces.
    """
    out = []
    for char in " ".join(str(text).split()):
        if char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char in "\\`*_[]()#|~@:$":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _entities(text: str) -> str:
    """Only the HTML-significant characters, for text this module generated itself."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt(value: Any, digits: int = 3) -> str:
    """A number for reading: ``digits`` significant digits, an em dash when missing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = _float(value)
    if not math.isfinite(number):
        return "—"
    return f"{number:.{digits}g}"


def _fmt_p(value: Any) -> str:
    number = _float(value)
    if value is None or not math.isfinite(number):
        return "—"
    if number < 0.001:
        return "< 0.001"
    return f"{number:.3f}"


def _fmt_effect(effect: Mapping[str, Any] | None) -> str:
    if not effect:
        return "—"
    return f"{_fmt(effect['estimate'])} [{_fmt(effect['ci_low'])}, {_fmt(effect['ci_high'])}]"


def _support_text(value: bool | None) -> str:
    return {True: "yes", False: "no"}.get(value, "undetermined")  # type: ignore[arg-type]


def _identification_text(ident: Mapping[str, Any], esc: Callable[[str], str] = str) -> str:
    """A one-line reading of an identification result; ``esc`` escapes each name."""

    def listed(key: str) -> str:
        return ", ".join(esc(n) for n in ident.get(key) or ())

    strategy = ident.get("strategy", "")
    if strategy == "backdoor":
        if ident.get("adjustment_set"):
            return f"back-door, adjusting for {listed('adjustment_set')}"
        return "back-door, no adjustment needed"
    if strategy == "frontdoor":
        return f"front-door through {listed('mediators')}"
    if strategy == "iv":
        return f"instrumental variables: {listed('instruments')}"
    if strategy == "none":
        if ident.get("blocking_latents"):
            return f"not identifiable: latent confounding through {listed('blocking_latents')}"
        return "not identifiable from the DAG and the observed columns"
    if strategy == "no_path":
        return "no directed path to the outcome (effect is zero by the DAG)"
    return esc(str(strategy)) or "unknown"


def _verdict_label(verdict: str) -> str:
    return VERDICT_LABELS.get(verdict, str(verdict).replace("_", " "))


def _one_line(error: BaseException, limit: int = 300) -> str:
    message = " ".join(str(error).split())
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=True,  # every name comes from user data or the user's graph
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _fmt
    env.filters["pval"] = _fmt_p
    env.filters["verdict_label"] = _verdict_label
    env.filters["support"] = _support_text
    return env


def _render_plot(make: Callable[[], Any], alt: str, enabled: bool = True) -> dict[str, Any]:
    """Render one plot to a data URI; a failure becomes a short reason instead."""
    if not enabled:
        return {"uri": None, "error": None, "alt": alt}
    try:
        svg = plots.to_svg(make())
    except Exception as error:  # one bad plot must not take the report down
        return {"uri": None, "error": _one_line(error), "alt": alt}
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return {"uri": f"data:image/svg+xml;base64,{encoded}", "error": None, "alt": alt}


# ------------------------------------------------------------------------------ report


@dataclass(frozen=True, eq=False)
class Report:
    """Everything one analysis found, with renderers for people and machines.

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
        Options of the run (``seed``, ``refute``, ``material_share``, ``attribution_factor``...).
    run : Mapping[str, Any]
        ``started_at``, ``seconds`` per stage and package ``versions``; the only part of the
        report that differs between identical runs. Missing entries are filled in.
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

    def __post_init__(self) -> None:
        # Copies, so a caller mutating its own dicts later cannot change a finished report.
        object.__setattr__(self, "verdicts", dict(self.verdicts))
        object.__setattr__(self, "settings", dict(self.settings))
        run = dict(self.run)
        if not run.get("started_at"):
            run["started_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        run.setdefault("seconds", dict(getattr(self.effects, "seconds", {}) or {}))
        run.setdefault("versions", _default_versions())
        object.__setattr__(self, "run", run)

    # ------------------------------------------------------------------ plain accessors

    @property
    def outcome(self) -> str:
        """Name of the outcome variable."""
        return self.checked.outcome

    @property
    def features(self) -> tuple[str, ...]:
        """The model's features, in the model's order."""
        if self.checked.features:
            return tuple(self.checked.features)
        return tuple(str(c) for c in self.attributions.shap_values.columns)

    @property
    def flagged(self) -> tuple[str, ...]:
        """Flagged features, in the model's order."""
        return tuple(f for f in self.features if self._verdict(f).flagged)

    @property
    def graph_fits(self) -> bool | None:
        """Whether the DAG fits the data; None when it was not tested."""
        return None if self.graph_test is None else bool(self.graph_test.fits)

    @property
    def _refuted(self) -> bool:
        """Whether refuters ran (depth "none" keeps only the sensitivity analysis)."""
        return self.refutations is not None and self.refutations.depth != "none"

    def _verdict(self, feature: str) -> FeatureVerdict:
        verdict = self.verdicts.get(feature)
        if verdict is None:
            return FeatureVerdict(
                feature=feature,
                causal_support=None,
                verdict="error",
                reasons=("no verdict was computed for this feature",),
                flagged=False,
            )
        return verdict

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
                    "adjustment_set": ", ".join(_names(ident.adjustment_set)) if ident else "",
                    "reasons": "; ".join(verdict.reasons),
                }
            )
        frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
        frame["causal_support"] = frame["causal_support"].astype(object)
        frame["rank"] = frame["rank"].astype("Int64")
        return frame

    # ----------------------------------------------------------------------------- JSON

    def _feature_dict(self, name: str, total_shap: float) -> dict[str, Any]:
        verdict = self._verdict(name)
        effect = self.effects.by_feature.get(name)
        estimate = effect.estimate if effect is not None else None
        attribution = self.attributions.by_feature.get(name)
        ident = effect.identification if effect is not None else None

        error = None
        if effect is None:
            error = "no effect was computed for this feature"
        elif effect.status == "error":
            error = effect.message or "estimation failed"

        mean_abs = _float(attribution.mean_abs_shap) if attribution else math.nan
        share = mean_abs / total_shap if total_shap > 0 and math.isfinite(mean_abs) else None

        refutations: tuple[RefutationResult, ...] = ()
        sensitivity = None
        if self.refutations is not None:
            refutations = tuple(self.refutations.by_feature.get(name, ()))
            sensitivity = self.refutations.sensitivity.get(name)

        return {
            "name": name,
            "kind": self.checked.kinds.get(name),
            "causal_support": verdict.causal_support,
            "verdict": verdict.verdict,
            "flagged": bool(verdict.flagged),
            "reasons": list(verdict.reasons),
            "effect": None
            if estimate is None
            else {
                "estimate": estimate.estimate,
                "ci_low": estimate.ci_low,
                "ci_high": estimate.ci_high,
                "p_value": estimate.p_value,
                "stderr": estimate.stderr,
                "method": estimate.method,
                # Categorical treatments only: one entry per level against the reference.
                **({"levels": _levels_list(effect)} if getattr(effect, "levels", ()) else {}),
            },
            "attribution": {
                "mean_abs_shap": mean_abs,
                # Sampling errors of the summaries over the rows explained (0 when all were).
                "mean_abs_shap_se": _float(attribution.mean_abs_shap_se) if attribution else None,
                "slope": _float(attribution.slope) if attribution else None,
                "slope_se": _float(attribution.slope_se) if attribution else None,
                "rank": int(attribution.rank) if attribution else None,
                "share": share,
            },
            "identification": {
                "strategy": ident.strategy if ident else "none",
                "adjustment_set": _names(ident.adjustment_set if ident else ()),
                "instruments": _names(ident.instruments if ident else ()),
                "mediators": _names(ident.mediators if ident else ()),
                "blocking_latents": _names(ident.blocking_latents if ident else ()),
            },
            "refutations": [_refutation_dict(r) for r in refutations],
            "sensitivity": None
            if sensitivity is None
            else {
                "partial_r2": sensitivity.partial_r2,
                "robustness_value": sensitivity.robustness_value,
                "robustness_value_alpha": sensitivity.robustness_value_alpha,
                "e_value": sensitivity.e_value,
                "sentence": sensitivity.sentence,
            },
            "error": error,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data, in the ``report.json`` schema (version 1.0).

        Keys are sorted, floats rounded to 6 significant digits, NaN and infinities are None:
        the same inputs give the same data, apart from ``run``.
        """
        features = self.features
        shap_means = [
            _float(self.attributions.by_feature[f].mean_abs_shap)
            for f in features
            if f in self.attributions.by_feature
        ]
        total_shap = float(sum(v for v in shap_means if math.isfinite(v)))

        counts: dict[str, int] = {}
        for name in features:
            key = self._verdict(name).verdict
            counts[key] = counts.get(key, 0) + 1

        test = self.graph_test
        graph_test = None
        if test is not None:
            graph_test = {
                "method": test.method,
                "tested": int(test.tested),
                "alpha": test.alpha,
                "fits": bool(test.fits),
                "violations": [
                    {
                        "x": v.x,
                        "y": v.y,
                        "given": _names(v.given),
                        "test": v.test,
                        "p_value": v.p_value,
                        "p_adjusted": v.p_adjusted,
                    }
                    for v in test.violations
                ],
                "suggestions": [str(s) for s in test.suggestions],
            }

        settings = self.settings
        refute = settings.get("refute")
        if refute is None:
            refute = self.refutations.depth if self.refutations is not None else "none"
        seed = settings.get("seed", getattr(self.effects, "seed", None))

        data = {
            "schema_version": SCHEMA_VERSION,
            "outcome": self.outcome,
            "outcome_kind": self.checked.kinds.get(self.outcome),
            "scale": self.attributions.scale,
            "n_rows": int(self.checked.n_rows),
            "dropped_rows": int(self.checked.dropped_rows),
            "latent": _names(self.checked.latent),
            "graph": {
                "nodes": _names(self.graph.nodes),
                "edges": sorted([str(u), str(v)] for u, v in self.graph.edges),
            },
            "settings": {
                "seed": seed,
                "refute": refute,
                "refit": bool(getattr(self.refutations, "refit", False)),
                "material_share": settings.get("material_share"),
                "attribution_factor": settings.get("attribution_factor"),
                "explainer": self.attributions.explainer,
                "rows_explained": int(self.attributions.rows_explained),
                "nuisance": describe_nuisance(self.effects.nuisance),
            },
            "summary": {
                "flagged": list(self.flagged),
                "verdict_counts": counts,
                "graph_fits": self.graph_fits,
            },
            "graph_test": graph_test,
            "features": [self._feature_dict(name, total_shap) for name in features],
            "run": {
                "started_at": self.run.get("started_at"),
                "seconds": dict(self.run.get("seconds") or {}),
                "versions": {str(k): str(v) for k, v in (self.run.get("versions") or {}).items()},
            },
        }
        return _clean(data)

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
        text = (
            json.dumps(
                self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False
            )
            + "\n"
        )
        if path is not None:
            write_text_atomic(path, text)
        return text

    # ------------------------------------------------------------------------- Markdown

    def to_markdown(self) -> str:
        """A short summary for a pull-request comment.

        A headline with counts and flagged features, whether the DAG fits the data, a compact
        table and the failing refuters. Every name is escaped, so hostile column names show as
        text.

        Returns
        -------
        str
        """
        esc = escape_markdown
        data = self.to_dict()
        features = data["features"]
        summary = data["summary"]
        lines = [f"### causalinterp: model attributions vs causal effects on {esc(self.outcome)}"]
        lines.append("")

        supported = summary["verdict_counts"].get("supported", 0)
        headline = (
            f"**{len(features)} features**, {data['n_rows']} rows: "
            f"{supported} supported, **{len(summary['flagged'])} flagged**"
        )
        if summary["flagged"]:
            headline += ": " + ", ".join(esc(n) for n in summary["flagged"])
        lines.append(headline + ".")
        others = [
            f"{_verdict_label(v)} {n}"
            for v, n in _ordered_counts(summary["verdict_counts"])
            if v != "supported"
        ]
        if others:
            lines.append("")
            lines.append("Verdicts: " + ", ".join(esc(o) for o in others) + ".")
        lines.append("")
        lines.append(_markdown_graph_line(data["graph_test"], esc))
        lines.append("")

        lines.append(
            "| feature | verdict | causal effect [95% CI] | attribution slope | "
            "mean \\|SHAP\\| | identification |"
        )
        lines.append("|---|---|---|---:|---:|---|")
        for row in features[:_MARKDOWN_TABLE_ROWS]:
            name = esc(row["name"])
            if row["flagged"]:
                name = f"**{name}** ⚑"
            cells = [
                name,
                esc(_verdict_label(row["verdict"])),
                _entities(_fmt_effect(row["effect"])),
                _entities(_fmt(row["attribution"]["slope"])),
                _entities(_fmt(row["attribution"]["mean_abs_shap"])),
                _identification_text(row["identification"], esc),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        if len(features) > _MARKDOWN_TABLE_ROWS:
            lines.append("")
            lines.append(
                f"… and {len(features) - _MARKDOWN_TABLE_ROWS} more features in the full report."
            )
        lines.append("")

        if not self._refuted:
            lines.append("Refutation was not run.")
        else:
            failing = [
                (row["name"], ref)
                for row in features
                for ref in row["refutations"]
                if not ref["passed"]
            ]
            total = sum(len(row["refutations"]) for row in features)
            if total == 0:
                lines.append("No effect was estimated, so no refuter ran.")
            elif failing:
                lines.append(f"**Failing refuters** ({len(failing)} of {total}):")
                lines.append("")
                for name, ref in failing:
                    lines.append(
                        f"- {esc(name)}: {esc(str(ref['name']).replace('_', ' '))} "
                        f"(adjusted p {_entities(_fmt_p(ref['p_adjusted']))})"
                    )
            else:
                lines.append(f"All {total} refuter checks passed.")
        return "\n".join(lines) + "\n"

    # ----------------------------------------------------------------------------- HTML

    def _html_context(
        self, *, fragment: bool = False, include_plots: bool = True
    ) -> dict[str, Any]:
        data = self.to_dict()
        features = []
        for index, row in enumerate(data["features"], start=1):
            view = dict(row)
            view["index"] = index
            view["anchor"] = f"feature-{index}"
            view["identification_text"] = _identification_text(row["identification"])
            view["effect_text"] = _fmt_effect(row["effect"])
            view["verdict_class"] = row["verdict"] if row["verdict"] in VERDICT_LABELS else "other"
            features.append(view)

        ctx: dict[str, Any] = {
            "fragment": fragment,
            "data": data,
            "outcome": self.outcome,
            "features": features,
            "counts": [
                (verdict, verdict if verdict in VERDICT_LABELS else "other", n)
                for verdict, n in _ordered_counts(data["summary"]["verdict_counts"])
            ],
            "refuted": self._refuted,
        }
        if fragment:
            return ctx

        failing = []
        total_refuters = 0
        for view, name in zip(features, self.features, strict=True):
            refs = self.refutations.by_feature.get(name, ()) if self.refutations else ()
            total_refuters += len(refs)
            view["dependence_plot"] = _render_plot(
                lambda name=name: plots.plot_dependence(self, name),
                f"SHAP dependence plot of {name} with its causal effect",
                include_plots,
            )
            view["refutation_plots"] = [
                _render_plot(
                    lambda ref=ref: plots.plot_refutation(ref),
                    f"distribution of the {ref.name} refuter for {name}",
                    include_plots,
                )
                for ref in refs
            ]
            failing.extend((view, ref) for ref in view["refutations"] if not ref["passed"])
        ctx.update(
            include_plots=include_plots,
            failing_refuters=failing,
            total_refuters=total_refuters,
            refute_depth=self.refutations.depth if self.refutations is not None else None,
            refute_alpha=getattr(self.refutations, "alpha", None),
            settings_shown=_clean({**self.settings, **data["settings"]}),
            dag_plot=_render_plot(lambda: plots.plot_dag(self), "the causal DAG", include_plots),
            forest_plot=_render_plot(
                lambda: plots.plot_effects_vs_attributions(self),
                "causal effects beside attribution slopes, per feature",
                include_plots,
            ),
            seconds_total=sum(
                v for v in data["run"]["seconds"].values() if isinstance(v, int | float)
            ),
        )
        return ctx

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
        context = self._html_context(include_plots=include_plots)
        text = _environment().get_template("report.html").render(context)
        if path is not None:
            write_text_atomic(path, text)
        return text

    def _repr_html_(self) -> str:
        return _environment().get_template("report.html").render(self._html_context(fragment=True))

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


def _levels_list(effect: Any) -> list[dict[str, Any]]:
    """A categorical treatment's per-level effects, in level order (see docs/reliability.md)."""
    levels = []
    for level in effect.levels:
        e = level.estimate
        levels.append(
            {
                "level": level.level,
                "reference": level.reference,
                "n_rows": int(level.n_rows),
                "estimate": None if e is None else e.estimate,
                "ci_low": None if e is None else e.ci_low,
                "ci_high": None if e is None else e.ci_high,
                "p_value": None if e is None else e.p_value,
                "stderr": None if e is None else e.stderr,
                "method": None if e is None else e.method,
                "error": level.message or None,
            }
        )
    return levels


def _refutation_dict(result: RefutationResult) -> dict[str, Any]:
    values = np.asarray(result.distribution, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size:
        distribution = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
            "q025": float(np.quantile(values, 0.025)),
            "q975": float(np.quantile(values, 0.975)),
        }
    else:
        distribution = {"mean": None, "std": None, "q025": None, "q975": None}
    return {
        "name": result.name,
        "p_value": result.p_value,
        "p_adjusted": result.p_adjusted,
        "passed": bool(result.passed),
        "simulations": int(result.simulations),
        "distribution": distribution,
        "detail": result.detail,
    }


def _ordered_counts(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    order = {v: i for i, v in enumerate(VERDICT_LABELS)}
    return sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def _markdown_graph_line(test: Mapping[str, Any] | None, esc: Callable[[str], str]) -> str:
    if test is None:
        return "The DAG was not tested against the data."
    tested, violations = test["tested"], test["violations"]
    if test["fits"]:
        return (
            f"The DAG fits the data: none of {tested} implied independences is rejected "
            f"(α = {_fmt(test['alpha'])})."
        )
    shown = []
    for item in violations[:3]:
        given = ", ".join(esc(g) for g in item["given"])
        pair = f"{esc(item['x'])} ⟂ {esc(item['y'])}" + (f" \\| {given}" if given else "")
        shown.append(f"{pair} (adjusted p {_entities(_fmt_p(item['p_adjusted']))})")
    more = f" and {len(violations) - 3} more" if len(violations) > 3 else ""
    return (
        f"⚠️ **The DAG does not fit the data**: {len(violations)} of {tested} implied "
        f"independences are rejected: {'; '.join(shown)}{more}."
    )
