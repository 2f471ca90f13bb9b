"""monitor(): inputs, errors, options, windows by time, saved summaries and the CLI's exit codes."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from causalinterp.cli import main
from causalinterp.errors import DataError, ModelError, OptionError
from causalinterp.monitoring import ReferenceSummary, monitor, summarize_reference
from causalinterp.monitoring.attribution import ndcg
from causalinterp.monitoring.drift import benjamini_hochberg


@pytest.fixture(autouse=True, scope="module")
def _summary_cache(tmp_path_factory):
    # Reference summaries are cached in a temporary folder, never in the user's home.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CAUSALINTERP_CACHE_DIR", str(tmp_path_factory.mktemp("summaries")))
        yield


GRAPH = "z -> x; z -> y; x -> y; w -> y"
FEATURES = ["x", "w"]


def draw(n: int, seed: int, *, z_shift: float = 0.0, y_shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(z_shift, 1.0, n)
    x = z + rng.normal(size=n)
    w = rng.normal(size=n)
    y = 2.0 * x + 1.0 * w + z + y_shift + rng.normal(size=n)
    return pd.DataFrame({"z": z, "x": x, "w": w, "y": y})


@pytest.fixture(scope="module")
def model():
    ref = draw(1000, 0)
    return LinearRegression().fit(ref[FEATURES], ref["y"])


@pytest.fixture(scope="module")
def summary(model):
    return summarize_reference(draw(1000, 0), GRAPH, "y", model=model, max_shap_rows=200)


def test_latent_confounder_shift_is_ranked_first_and_stable_window_is_quiet(summary):
    result = monitor(
        summary,
        {
            "same": draw(800, 1).drop(columns="y"),
            "z moved": draw(800, 2, z_shift=0.8).drop(columns="y"),
        },
        n_bootstrap=50,
    )
    same, moved = result.windows
    assert same.alerts == ()
    assert moved.causal_drift.target == "prediction"
    assert moved.causal_drift.ranking[0].node == "z"
    # x drifts through z, its own mechanism does not change.
    assert {a.subject for a in moved.alerts if a.kind == "mechanism_change"} == {"z"}
    assert "upstream from z" in next(a.message for a in moved.alerts if a.subject == "x")
    assert result.exit_code == 1


def test_label_shift_ranks_the_outcome_and_raises_performance(summary):
    result = monitor(summary, draw(800, 3, y_shift=1.0), n_bootstrap=50)
    window = result.windows[0]
    assert window.causal_drift.target == "y"
    assert window.causal_drift.ranking[0].node == "y"
    kinds = {(a.kind, a.subject) for a in window.alerts}
    assert ("performance", "y") in kinds and ("outcome_drift", "y") in kinds


def test_thresholds_come_from_the_options_table(summary):
    window = draw(800, 4, z_shift=0.3).drop(columns="y")
    strict = monitor(summary, window, n_bootstrap=50)
    lax = monitor(
        summary,
        window,
        n_bootstrap=50,
        drift_threshold=5.0,
        mechanism_threshold=5.0,
        support_share=1.0,
        range_share=1.0,
        ndcg_threshold=0.0,
        share_change=1.0,
    )
    assert strict.windows[0].alerts and lax.windows[0].alerts == ()
    alert = strict.windows[0].alerts[0]
    assert str(alert.threshold).rstrip("0").rstrip(".") in alert.message.replace("%", "")


def test_bad_options_name_the_option_and_the_fix(summary):
    with pytest.raises(OptionError, match=r"^ndcg_threshold: expected a number in \[0, 1\]"):
        monitor(summary, draw(100, 5), ndcg_threshold=2.0)
    with pytest.raises(OptionError, match="did you mean 'drift_alpha'"):
        monitor(summary, draw(100, 5), drift_alfa=0.1)


def test_bad_windows_are_one_line_errors(summary, model):
    with pytest.raises(DataError, match=r"^current window 'window 1': lacks w, unlike the ref"):
        monitor(summary, draw(100, 5).drop(columns="w"))
    with pytest.raises(DataError, match="has no rows"):
        monitor(summary, draw(100, 5).iloc[:0])
    text = draw(100, 5).assign(x=lambda f: f["x"].astype(str))
    with pytest.raises(DataError, match="column 'x' is text but numeric in the reference"):
        monitor(summary, text)
    stranger = LinearRegression().fit(draw(100, 5)[["x", "z"]], draw(100, 5)["y"])
    with pytest.raises(ModelError, match="model LinearRegression"):
        summarize_reference(draw(300, 0), GRAPH, "y", model=stranger, features=FEATURES)


def test_windows_by_time_column(summary):
    frame = pd.concat([draw(400, 6), draw(400, 7, z_shift=1.0)], ignore_index=True)
    frame["day"] = ["2024-03-01"] * 400 + ["2024-03-09"] * 400
    result = monitor(summary, frame, time_column="day", window="7D", n_bootstrap=50)
    assert [w.name for w in result.windows] == ["2024-03-01", "2024-03-08"]
    assert result.windows[0].alerts == () and result.windows[1].alerts
    frame["day"] = "not a date"
    with pytest.raises(DataError, match="time column 'day' does not parse as dates"):
        monitor(summary, frame, time_column="day", window="7D")
    with pytest.raises(OptionError, match="window: 'weekly' is not a pandas frequency"):
        monitor(summary, frame, time_column="day", window="weekly")


def save_model(model, path: Path) -> None:
    """Save ``model`` as a .skops file, the safe format ``--model`` reads."""
    pytest.importorskip("skops.io").dump(model, path)


class _Payload:
    """A pickle that would create a file when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_saved_summary_gives_the_same_result_and_needs_its_model(summary, model, tmp_path):
    path = summary.save(tmp_path / "reference.summary")
    loaded = ReferenceSummary.load(path, model=model)
    window = draw(500, 8, z_shift=0.5)
    a = monitor(summary, window, n_bootstrap=50).to_dict()
    b = monitor(loaded, window, n_bootstrap=50).to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    # The file holds no model: the one it was made with must come along, and no other.
    with pytest.raises(ModelError, match=r"^model: .* was made with the model LinearRegression"):
        ReferenceSummary.load(path)
    other = LinearRegression().fit(draw(300, 1)[FEATURES], draw(300, 1)["y"])
    with pytest.raises(ModelError, match=r"not the model .* was made with"):
        ReferenceSummary.load(path, model=other)
    # Another version of the format is refused, naming both versions.
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(arrays["__meta__"].tobytes())
    arrays["__meta__"] = np.frombuffer(json.dumps({**meta, "version": 1}).encode(), np.uint8)
    np.savez(tmp_path / "old.npz", **arrays)
    with pytest.raises(DataError, match="a reference summary of version 1, not 3; write it"):
        ReferenceSummary.load(tmp_path / "old.npz", model=model)
    (tmp_path / "junk").write_text("no summary")
    with pytest.raises(DataError, match="not a reference summary; write one with"):
        ReferenceSummary.load(tmp_path / "junk")
    # A pickle posing as a summary is refused without being run.
    marker = tmp_path / "ran"
    (tmp_path / "evil.summary").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(DataError, match="not a reference summary"):
        ReferenceSummary.load(tmp_path / "evil.summary")
    assert not marker.exists()


def test_saved_summary_of_the_default_model_refits_it(tmp_path):
    reference = draw(600, 0)
    summary = summarize_reference(reference, GRAPH, "y", features=FEATURES, max_shap_rows=100)
    loaded = ReferenceSummary.load(summary.save(tmp_path / "ref.npz"))
    window = draw(400, 11, y_shift=1.0)
    a = monitor(summary, window, n_bootstrap=20).to_dict()
    b = monitor(loaded, window, n_bootstrap=20).to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b and a["model"] == "default"
    # The refitted trees predict exactly what the summarised ones did.
    rows = window[FEATURES]
    assert np.array_equal(summary.model.predict(rows), loaded.model.predict(rows))
    with pytest.raises(ModelError, match="made with the default model, not yours"):
        ReferenceSummary.load(tmp_path / "ref.npz", model=LinearRegression())


def test_cli_exit_codes(tmp_path, model, capsys):
    draw(1000, 0).to_csv(tmp_path / "ref.csv", index=False)
    draw(600, 1).to_csv(tmp_path / "same.csv", index=False)
    draw(600, 2, z_shift=1.0).to_csv(tmp_path / "moved.csv", index=False)
    draw(600, 3).drop(columns="w").to_csv(tmp_path / "bad.csv", index=False)
    save_model(model, tmp_path / "model.skops")
    base = [
        "monitor",
        "--graph",
        GRAPH,
        "--outcome",
        "y",
        "--model",
        str(tmp_path / "model.skops"),
        "--max-shap-rows",
        "100",
        "--n-bootstrap",
        "50",
        "--quiet",
    ]
    saved = tmp_path / "ref.summary"
    assert (
        main([*base, "--reference", str(tmp_path / "ref.csv"), "--save-reference", str(saved)]) == 0
    )
    nowhere = str(tmp_path / "no" / "such" / "folder.summary")
    argv = [*base, "--reference", str(tmp_path / "ref.csv"), "--save-reference", nowhere]
    assert main(argv) == 2
    assert "save-reference: cannot write" in capsys.readouterr().err
    assert (
        main(
            [
                *base,
                "--reference",
                str(saved),
                "--current",
                str(tmp_path / "same.csv"),
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                *base,
                "--reference",
                str(saved),
                "--current",
                str(tmp_path / "same.csv"),
                "--current",
                str(tmp_path / "moved.csv"),
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 1
    )
    data = json.loads((tmp_path / "b" / "monitor.json").read_text(encoding="utf-8"))
    assert data["windows"][1]["causal_drift"][0]["node"] == "z"
    capsys.readouterr()
    assert (
        main(
            [
                *base,
                "--reference",
                str(saved),
                "--current",
                str(tmp_path / "bad.csv"),
                "--out",
                str(tmp_path / "c"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "lacks w" in err
    # A pickled model is refused unread (no --trust-pickle), in one line, nothing written.
    marker = tmp_path / "ran"
    (tmp_path / "model.joblib").write_bytes(pickle.dumps(_Payload(marker)))
    argv = [*base[:5], "--model", str(tmp_path / "model.joblib")]
    argv += ["--reference", str(tmp_path / "ref.csv"), "--current", str(tmp_path / "same.csv")]
    assert main([*argv, "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--trust-pickle" in err and "model.joblib" in err
    assert not marker.exists() and not (tmp_path / "d").exists()
    # A saved summary without the model it was made with: exit 2, naming the fix.
    argv = [*base[:5], "--reference", str(saved), "--current", str(tmp_path / "same.csv")]
    assert main([*argv, "--out", str(tmp_path / "e")]) == 2
    assert "pass that model too (--model FILE" in capsys.readouterr().err


def test_causalinterp_monitor_is_the_function(summary):
    import causalinterp
    import causalinterp.monitoring

    # The subpackage is `monitoring`, so importing it does not rebind `causalinterp.monitor`.
    assert causalinterp.monitor is causalinterp.monitoring.monitor
    assert callable(causalinterp.monitor) and "monitor" in causalinterp.__all__
    result = causalinterp.monitor(summary, draw(300, 9), n_bootstrap=20)
    assert result.windows[0].n_rows == 300


def test_benjamini_hochberg_and_ndcg():
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.5]) == pytest.approx(
        [0.04, 0.0533333, 0.0533333, 0.5]
    )
    assert ndcg(np.array([0.6, 0.3, 0.1]), np.array([3.0, 2.0, 1.0])) == 1.0
    swapped = ndcg(np.array([0.6, 0.3, 0.1]), np.array([2.0, 3.0, 1.0]))
    assert swapped == pytest.approx(
        (0.3 + 0.6 / np.log2(3) + 0.1 / 2) / (0.6 + 0.3 / np.log2(3) + 0.1 / 2)
    )


def test_text_root_that_the_model_lacks_is_named_as_the_changed_mechanism():
    def regions(n, p, seed):
        r = np.random.default_rng(seed)
        region = r.choice(["north", "south", "east"], n, p=p)
        x = r.normal(size=n) + (region == "north")
        return pd.DataFrame({"region": region, "x": x, "y": x + r.normal(size=n)})

    reference = regions(1000, (0.5, 0.3, 0.2), 0)
    model = LinearRegression().fit(reference[["x"]], reference["y"])
    result = monitor(
        reference,
        {"same": regions(500, (0.5, 0.3, 0.2), 1), "moved": regions(500, (0.1, 0.3, 0.6), 2)},
        "region -> x; x -> y",
        "y",
        model=model,
        max_shap_rows=100,
        n_bootstrap=50,
    )
    same, moved = result.windows
    assert same.alerts == ()
    assert moved.causal_drift.ranking[0].node == "region"
    assert ("mechanism_change", "region") in {(a.kind, a.subject) for a in moved.alerts}
    assert "upstream from region" in next(a.message for a in moved.alerts if a.subject == "x")


def test_cli_config_file_and_time_windows(tmp_path, model, capsys):
    draw(1000, 0).to_csv(tmp_path / "ref.csv", index=False)
    days = pd.concat([draw(300, 1), draw(300, 2, z_shift=1.0)], ignore_index=True)
    days["date"] = ["2024-05-01T10:00"] * 300 + ["2024-05-02T09:30"] * 300
    days.to_csv(tmp_path / "days.csv", index=False)
    save_model(model, tmp_path / "model.skops")
    (tmp_path / "monitor.toml").write_text(
        'reference = "ref.csv"\ncurrent = ["days.csv"]\ngraph = "z -> x; z -> y; x -> y; w -> y"\n'
        'outcome = "y"\nmodel = "model.skops"\ntime_column = "date"\nwindow = "1D"\n'
        "max_shap_rows = 100\nn_bootstrap = 50\nmechanism_threshold = 0.2\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = main(["monitor", "--config", str(tmp_path / "monitor.toml"), "--out", str(out)])
    assert code == 1
    data = json.loads((out / "monitor.json").read_text(encoding="utf-8"))
    assert [w["name"] for w in data["windows"]] == ["2024-05-01", "2024-05-02"]
    assert data["windows"][0]["alerts"] == []
    assert data["settings"]["mechanism_threshold"] == 0.2
    printed = capsys.readouterr().out
    assert "2 window(s), 1 with alerts" in printed
    (tmp_path / "bad.toml").write_text('reference = "ref.csv"\ndrift_treshold = 0.2\n')
    assert main(["monitor", "--config", str(tmp_path / "bad.toml"), "--out", str(out)]) == 2
    assert "did you mean 'drift_threshold'" in capsys.readouterr().err


def test_attribution_drift_alerts_name_the_feature_the_model_now_leans_on(summary):
    window = draw(800, 10).drop(columns="y")
    window["w"] = 6.0 * window["w"]  # w's spread grows sixfold: the model's output follows it
    result = monitor(summary, window, n_bootstrap=100)
    attribution = result.windows[0].attribution
    w = next(s for s in attribution.shares if s.feature == "w")
    # Reference shares are about 0.8 (x) and 0.2 (w); with w six times as spread, ~0.4/0.6:
    # the order flips, so nDCG = (0.2 + 0.8 / log2 3) / (0.8 + 0.2 / log2 3), about 0.76.
    assert w.change == pytest.approx(0.40, abs=0.06) and w.ci_low > 0.25
    assert attribution.ndcg == pytest.approx(0.76, abs=0.04)
    kinds = {(a.kind, a.subject) for a in result.windows[0].alerts}
    assert ("attribution_share", "w") in kinds and ("attribution_ndcg", "ranking") in kinds


def test_every_monitor_option_is_a_keyword_a_flag_a_config_key_and_documented():
    import argparse

    from causalinterp import options
    from causalinterp.monitoring import cli, core

    table = options.names(["monitor"])
    accepted = set(core.THRESHOLDS) | set(core.SUMMARY_OPTIONS) | set(core.OTHER_OPTIONS)
    assert set(table) <= accepted
    assert set(table) <= set(cli.OPTION_NAMES) and set(table) <= options.case_keys(table)
    commands = argparse.ArgumentParser().add_subparsers()
    flags = cli.add_parser(commands).format_help()
    docs = (Path(__file__).resolve().parents[1] / "docs" / "monitoring.md").read_text("utf-8")
    for name in table:
        assert f"--{name.replace('_', '-')}" in flags, name
        default = options.default(name)
        assert f"`{name}`" in docs, name
        if name in core.THRESHOLDS:  # each threshold's default is stated beside it
            assert f"`{name}` ({default}" in docs or f"`{name}` {default}" in docs, name
