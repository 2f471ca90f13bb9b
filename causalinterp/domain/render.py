"""Renderers of the domain-logic results: JSON objects, Markdown and ICE plots.

Results (:mod:`~causalinterp.domain.verification`, :mod:`~causalinterp.domain.refit`) know nothing
of their presentation; everything shown to a reader is built here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from causalinterp.domain.directions import Direction, Directions
from causalinterp.domain.verification import FeatureCheck, Verification
from causalinterp.render._text import escape_markdown as _md
from causalinterp.render._text import round_number

if TYPE_CHECKING:  # the result of constrain(), which sits above the pipeline; only its type
    from causalinterp.domain.refit import Constrained


def _num(value: float | None) -> float | None:
    # The one rounding rule of every JSON output (six significant digits).
    return None if value is None else round_number(value)


def seed_record(seed: Any) -> int | dict[str, Any]:
    """A seed as JSON: the integer, or a SeedSequence's entropy and spawn key (reproducible).

    Examples
    --------
    >>> seed_record(7)
    7
    >>> seed_record(np.random.SeedSequence(7, spawn_key=(2,)))
    {'entropy': 7, 'spawn_key': [2]}
    """
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": seed.entropy, "spawn_key": [int(k) for k in seed.spawn_key]}
    return int(seed)


def domain_object(
    direction: Direction, check: FeatureCheck | None, *, material: bool | None = False
) -> dict[str, Any]:
    """The ``domain`` object of one feature in ``report.json``.

    Keys: ``direction`` ("+", "-" or null), ``source`` ("declared", "suggested" or null),
    ``status``, ``reason``, ``violation_share`` (null when not checked), ``max_violation``,
    ``max_violation_at``, ``exact`` (the exact tree check's status or null), ``material``
    (whether the attribution is material; null when its share is unknown, e.g. its
    attribution failed, so nothing could be raised) and ``against_direction``: a material
    attribution whose curves violate a *declared* direction ("flagged" is the attribution
    flag's word only).

    Examples
    --------
    >>> from causalinterp.domain.directions import Direction
    >>> flat = Direction("x", None, None, "no_path", "no open path")
    >>> domain_object(flat, None)["direction"] is None
    True
    """
    violated = check is not None and check.violated
    return {
        "direction": direction.direction,
        "source": direction.source,
        "status": direction.status,
        "reason": direction.reason,
        "violation_share": _num(check.violation_share) if check else None,
        "max_violation": _num(check.max_violation) if check else None,
        "max_violation_at": list(check.max_violation_at) if check and check.max_violation_at
        else None,
        "exact": check.exact.status if check and check.exact else None,
        "material": material,
        "against_direction": bool(material and violated and direction.source == "declared"),
    }


def domain_objects(
    directions: Directions,
    verification: Verification | None,
    *,
    material: Iterable[str] = (),
    unknown: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Feature to its ``domain`` object (see :func:`domain_object`).

    ``material`` names the features whose attribution is material (the report's judgement);
    ``unknown`` those whose attribution share could not be read.

    Examples
    --------
    >>> from causalinterp.domain.directions import derive_directions
    >>> d = derive_directions("x -> y", "y", ["x"], signs={("x", "y"): "-"})
    >>> domain_objects(d, None)["x"]["direction"]
    '-'
    """
    material, unknown = set(material), set(unknown)
    checks = verification.by_feature if verification is not None else {}
    return {
        name: domain_object(
            d, checks.get(name), material=None if name in unknown else name in material
        )
        for name, d in directions.by_feature.items()
    }


def domain_markdown(objects: dict[str, dict[str, Any]]) -> str:
    """The "Domain logic" section of ``report.md`` from :func:`domain_objects`' output.

    Examples
    --------
    >>> from causalinterp.domain.directions import derive_directions
    >>> d = derive_directions("x -> y", "y", ["x"], signs={("x", "y"): "+"})
    >>> print(domain_markdown(domain_objects(d, None)).splitlines()[-1])
    | x | + | declared | not checked | the only open path is the direct edge x -&gt; y \\[+\\] |
    """
    lines = [
        "## Domain logic",
        "",
        "| feature | direction | source | violation share | why |",
        "|---|---|---|---|---|",
    ]
    against = []
    for name, obj in objects.items():
        share = obj.get("violation_share")
        shown = "not checked" if share is None else f"{share:.0%}"
        if obj.get("exact") == "violated" and not share:
            shown += " (exact check: violated between grid points)"
        lines.append(f"| {_md(name)} | {obj['direction'] or '—'} | {obj['source'] or '—'} | "
                     f"{shown} | {_md(obj['reason'])} |")
        if obj.get("against_direction"):
            against.append(name)
    if against:
        # "Flagged" is the attribution flag's word only: a violated direction has its own.
        lines += ["", "**Against a declared direction:** the material attribution of " + ", ".join(
            _md(n) for n in against) + " moves against its declared direction; the "
            "model uses a pattern the DAG rules out (see docs/domain-logic.md)."]
    return "\n".join(lines)


def constrain_dict(result: Constrained) -> dict[str, Any]:
    """The content of ``constrain.json``.

    Per feature: ``direction``, ``source``, ``constraint`` (+1/-1/0),
    ``violation_share_before`` and ``violation_share_after``; the scores before and after
    with the difference's interval.
    """
    features = {}
    for name, direction in result.directions.by_feature.items():
        before = result.before.by_feature.get(name)
        after = result.after.by_feature.get(name)
        features[name] = {
            "direction": direction.direction,
            "source": direction.source,
            "status": direction.status,
            "reason": direction.reason,
            "constraint": int(result.constraints.get(name, 0)),
            "violation_share_before": _num(before.violation_share) if before else None,
            "violation_share_after": _num(after.violation_share) if after else None,
            "max_violation_before": _num(before.max_violation) if before else None,
            "max_violation_after": _num(after.max_violation) if after else None,
            "exact_before": before.exact.status if before and before.exact else None,
            "exact_after": after.exact.status if after and after.exact else None,
        }
    out: dict[str, Any] = {
        "model": result.model,
        "family": result.family,
        "outcome": result.directions.outcome,
        "seed": seed_record(result.seed),
        "n_train": result.n_train,
        "n_validation": result.n_validation,
        "ice_rows": result.before.n_rows,
        "ice_grid": result.before.n_grid,
        "scale": result.before.scale,
        "level": result.level,
        "scores": {
            s.metric: {
                "before": _num(s.before), "after": _num(s.after),
                "difference": _num(s.difference), "ci_low": _num(s.ci_low),
                "ci_high": _num(s.ci_high), "better": s.better,
            }
            for s in result.scores
        },
        "features": features,
        "signs": [{"edge": [u, v], "sign": s} for (u, v), s in result.directions.signs.items()],
    }
    if result.verdicts is not None:
        table = result.verdicts.astype(object).where(result.verdicts.notna(), None)
        out["verdicts_after"] = table.to_dict(orient="records")
    return out


def constrain_markdown(result: Constrained) -> str:
    """A Markdown summary of :func:`causalinterp.constrain`'s result."""
    lines = [
        f"# Domain logic: {result.model} refitted with monotone constraints",
        "",
        f"Outcome `{result.directions.outcome}`; {result.n_train} training and "
        f"{result.n_validation} validation rows (seed {_seed_text(result.seed)}). Violations: "
        f"share of {result.before.n_rows} sampled rows whose ICE curve moves against the "
        f"direction on a {result.before.n_grid}-point grid.",
        "",
        "| feature | direction | source | violations before | violations after | why |",
        "|---|---|---|---|---|---|",
    ]
    for name, d in result.directions.by_feature.items():
        before = result.before.by_feature.get(name)
        after = result.after.by_feature.get(name)
        lines.append(
            f"| {_md(name)} | {d.direction or '—'} | {d.source or '—'} | "
            f"{_share(before)} | {_share(after)} | {_md(d.reason)} |"
        )
    level = f"{result.level:.0%} interval"
    lines += ["", f"| metric | before | after | after − before | {level} |",
              "|---|---|---|---|---|"]
    for s in result.scores:
        lines.append(
            f"| {s.metric} | {s.before:.4f} | {s.after:.4f} | {s.difference:+.4f} | "
            f"[{s.ci_low:+.4f}, {s.ci_high:+.4f}] |"
        )
    lines += ["", _cost_sentence(result), ""]
    return "\n".join(lines)


def _seed_text(seed: Any) -> str:
    record = seed_record(seed)
    if isinstance(record, int):
        return str(record)
    return f"SeedSequence({record['entropy']}, spawn_key={tuple(record['spawn_key'])})"


def _cost_sentence(result: Constrained) -> str:
    worse = [s for s in result.scores if s.cost > 0 and
             (s.ci_low > 0 if s.better == "lower" else s.ci_high < 0)]
    if not worse:
        return ("The constraints cost no validation accuracy that the interval can tell from "
                "zero.")
    names = ", ".join(s.metric for s in worse)
    return (f"The constraints make {names} measurably worse: the unconstrained model uses "
            "movements against the declared directions to fit the data (see "
            "docs/domain-logic.md on what that cost means).")


def _share(check: FeatureCheck | None) -> str:
    return "—" if check is None else f"{check.violation_share:.0%}"


def plot_ice(check: FeatureCheck, *, ax: Any = None, max_curves: int = 200) -> Any:
    """ICE curves of one feature, the violating ones highlighted.

    Parameters
    ----------
    check : FeatureCheck
        One feature of :func:`causalinterp.domain.verify`.
    ax : matplotlib Axes, optional
        Draw here; default a new figure.
    max_curves : int, default 200
        Curves drawn (violating ones first).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from causalinterp.domain import verify
    >>> df = pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0) % 7})
    >>> m = DecisionTreeRegressor(max_depth=3).fit(df[["x"]], df["y"])
    >>> fig = plot_ice(verify(m, df, {"x": "+"}).by_feature["x"])
    """
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    from causalinterp.render._figure import fit_margins, new_figure, set_title

    own_figure = ax is None
    if own_figure:
        figure = new_figure(4.6, 3.0, margins={})  # fitted to the tick labels below
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    grid = np.asarray(check.grid)
    curves = np.asarray(check.curves, dtype=float)
    bad = np.asarray(check.violating, dtype=bool)
    order = np.concatenate([np.flatnonzero(~bad), np.flatnonzero(bad)])[-max_curves:]
    ok_color, bad_color = "#9aa5b1", matplotlib.colors.to_hex("#c0392b")
    from matplotlib.collections import LineCollection

    # One collection per kind, drawn as a raster inside the SVG: two hundred curves as vector
    # paths made each plot 400 kB and slow to render; as pixels they are a few kB.
    for violating, color, alpha, width in ((False, ok_color, 0.35, 0.7),
                                           (True, bad_color, 0.8, 1.1)):
        rows = [i for i in order if bad[i] == violating]
        if rows:
            lines = LineCollection([np.column_stack([grid, curves[i]]) for i in rows],
                                   colors=color, alpha=alpha, linewidths=width, rasterized=True)
            ax.add_collection(lines)
    ax.autoscale_view()
    if len(curves):
        ax.plot(grid, curves.mean(axis=0), color="black", linewidth=2.0, label="average")
    if check.max_violation_at is not None:
        ax.axvspan(*sorted(check.max_violation_at), color=bad_color, alpha=0.08)
    arrow = "rising" if check.direction == "+" else "falling"
    set_title(ax, f"{check.feature}: expected {arrow}; {check.violation_share:.0%} of curves "
              "violate", fontsize=10)
    ax.set_xlabel(check.feature)
    ax.set_ylabel("prediction")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    from matplotlib.lines import Line2D

    ax.legend(handles=[Line2D([], [], color=bad_color, label="against the direction"),
                       Line2D([], [], color=ok_color, label="respects it"),
                       Line2D([], [], color="black", linewidth=2, label="average")],
              fontsize=8, frameon=True, framealpha=0.85, edgecolor="none")
    if own_figure:
        fit_margins(ax, tick_size=10, bottom=0.5, top=0.3)
    return figure


def report_section(check: Any) -> dict[str, Any]:
    """The top-level ``domain`` section of ``report.json`` from a :class:`DomainCheck`.

    Keys: ``signs`` (the declared edge signs), ``checked`` (features whose ICE curves were
    checked), ``against_direction`` (material attributions violating a declared direction),
    ``ice_rows``, ``ice_grid``, ``ice_tolerance`` and ``threshold`` (the relative tolerance
    and the move on the prediction scale it amounts to), ``scale`` (null when nothing was
    checked) and ``error``.

    Examples
    --------
    >>> from causalinterp.domain.check import DomainCheck
    >>> report_section(DomainCheck(None, None, {}, "no graph"))["error"]
    'no graph'
    """
    verification = check.verification
    directions = check.directions
    return {
        "signs": [{"edge": [u, v], "sign": s} for (u, v), s in
                  (directions.signs.items() if directions is not None else ())],
        "checked": list(verification.by_feature) if verification is not None else [],
        "against_direction": list(check.against_direction),
        "ice_rows": verification.n_rows if verification is not None else None,
        "ice_grid": verification.n_grid if verification is not None else None,
        "ice_tolerance": verification.tolerance if verification is not None else None,
        "threshold": _num(verification.threshold) if verification is not None else None,
        "scale": verification.scale if verification is not None else None,
        "error": check.error,
    }


def feature_json(check: Any, feature: str) -> dict[str, Any] | None:
    """The ``domain`` object of ``feature`` in ``report.json`` (:func:`domain_object`), or
    None for a feature the check has no object for."""
    obj = check.objects.get(feature)
    return dict(obj) if obj is not None else None


def markdown_section(data: dict[str, Any]) -> str:
    """The "Domain logic" section of ``report.md`` from ``report.json`` data ("" without one)."""
    section = data.get("domain")
    if section is None:
        return ""
    objects = {row["name"]: row["domain"] for row in data["features"] if row.get("domain")}
    text = domain_markdown(objects)
    if section.get("error"):
        text += "\n\nThe domain check did not run completely: " + _md(section["error"])
    return text


def html_section(
    data: dict[str, Any], check: Any, render_plot: Any, include_plots: bool
) -> dict[str, Any] | None:
    """What the report template's "Domain logic" section needs, or None without a check.

    ``render_plot(make, alt, enabled)`` is the HTML renderer's plot helper (a failing plot
    becomes a note, never an exception).
    """
    if check is None or data.get("domain") is None:
        return None
    rows = []
    checks = check.verification.by_feature if check.verification is not None else {}
    for row in data["features"]:
        obj = row.get("domain")
        if not obj:
            continue
        feature_check = checks.get(row["name"])
        share = obj.get("violation_share")
        rows.append({
            "name": row["name"],
            "direction": obj["direction"],
            "source": obj["source"],
            "share": "not checked" if share is None else f"{share:.0%}",
            "violated": bool(share) or obj.get("exact") == "violated",
            "exact": obj.get("exact"),
            "reason": obj["reason"],
            "error": obj.get("error"),
            "against_direction": bool(obj.get("against_direction")),
            "plot": None if feature_check is None else render_plot(
                lambda c=feature_check: plot_ice(c, max_curves=60),
                f"ICE curves of {row['name']}, those against the direction highlighted",
                include_plots,
            ),
        })
    domain = data["domain"]
    return {"rows": rows, "against_direction": domain["against_direction"],
            "error": domain["error"], "ice_rows": domain["ice_rows"],
            "ice_grid": domain["ice_grid"]}
