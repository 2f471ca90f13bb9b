"""The one command-line wrapper of every subcommand: bad input is one line and exit 2; Ctrl-C
exits 130 with nothing written, also when a library swallowed the interrupt."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal

import pytest

from causalinterp import _command
from causalinterp.cli import main
from causalinterp.errors import DataError


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("command", "target", "argv"),
    [
        ("explain", "causalinterp.explain.cli._explain",
         ["--analysis", "a", "--data", "d.csv", "--rows", "1"]),
        ("constrain", "causalinterp.domain.refit.constrain",
         ["--data", "DATA", "--graph", "x -> y", "--outcome", "y"]),
    ],
)
def test_ctrl_c_exits_130_and_writes_nothing(command, target, argv, monkeypatch, tmp_path,
                                             capsys):
    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,2\n2,3\n3,5\n")
    monkeypatch.setattr(target, _interrupt)
    out = tmp_path / "out"
    argv = [a if a != "DATA" else str(data) for a in argv]
    assert main([command, *argv, "--out", str(out)]) == 130
    assert capsys.readouterr().err == "causalinterp: interrupted; nothing was written\n"
    assert not out.exists()


def test_a_swallowed_interrupt_still_exits_130_and_writes_nothing(tmp_path, capsys):
    written = []
    # What the command must restore: Python's default handler, or SIG_IGN when the test
    # process was started in the background (a shell's `&` ignores SIGINT).
    before = signal.getsignal(signal.SIGINT)

    @_command.command
    def run(args: argparse.Namespace) -> int:
        # Ctrl-C while a library is working, and the library swallows it.
        with contextlib.suppress(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
        _command.write_out(written.append, tmp_path)
        return 0

    assert run(argparse.Namespace()) == 130
    assert written == []
    assert "interrupted; nothing was written" in capsys.readouterr().err
    # The handler is the previous one again once the command returns.
    assert signal.getsignal(signal.SIGINT) is before


def test_bad_input_is_one_line_and_exit_2(capsys):
    @_command.command
    def run(args: argparse.Namespace) -> int:
        raise DataError("data: file 'x.csv' does not exist; check the path")

    assert run(argparse.Namespace()) == 2
    assert capsys.readouterr().err == (
        "causalinterp: error: data: file 'x.csv' does not exist; check the path\n"
    )


def test_an_unwritable_folder_is_one_line(tmp_path):
    def fail(folder):
        raise PermissionError(13, "Permission denied")

    with pytest.raises(Exception, match=r"^out: cannot write the reports to '.*' \(Permission "
                       r"denied\); pass a writable folder$"):
        _command.write_out(fail, tmp_path)
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(Exception, match=r"is a file, not a folder; pass a folder"):
        _command.check_out(target)


def test_explain_options_come_from_the_table_on_the_command_line_and_in_a_config(
    tmp_path, capsys
):
    # The flags and the config keys are the options table's rows: same checks, same words.
    config = tmp_path / "explain.toml"
    config.write_text('explaner = "lime"\n')
    argv = ["explain", "--analysis", str(tmp_path), "--data", "d.csv", "--rows", "1",
            "--out", str(tmp_path / "out")]
    assert main([*argv, "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"causalinterp: error: explaner: not an option of config {config}; "
        "did you mean 'explainer'?\n"
    )
    config.write_text('explainer = "kernel"\n')
    assert main([*argv, "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"causalinterp: error: config {config}: explainer: unknown value 'kernel'; use one of "
        "'shap', 'lime'\n"
    )
    with pytest.raises(SystemExit):
        main([*argv, "--lime-runs", "0"])
    assert "--lime-runs: expected an integer >= 1, got '0'" in capsys.readouterr().err
    # A good config reaches the analysis' reader: here a folder without report.json.
    config.write_text('explainer = "lime"\nlime_runs = 3\nfixed = ["a"]\n')
    assert main([*argv, "--config", str(config)]) == 2
    assert "report.json' does not exist" in capsys.readouterr().err
