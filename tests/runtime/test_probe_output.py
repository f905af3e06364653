"""Output discipline: stdout holds gradlint's output alone; progress goes to stderr on a
terminal, never in JSON mode or off a terminal."""

from __future__ import annotations

import io
import json
import re

import pytest

from gradlint.runtime import progress as progress_module
from gradlint.runtime.progress import Progress
from gradlint.runtime.session import probe_target, run_targets
from gradlint.runtime.settings import ProbeOptions


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture()
def terminal(monkeypatch):
    """Every Progress the CLI makes writes to one fake terminal (when it is enabled at all)."""
    screen = Terminal()

    class OnTerminal(Progress):
        def __init__(self, stream=None, *, enabled=None, verbose=False):
            super().__init__(screen, enabled=enabled, verbose=verbose)

    monkeypatch.setattr(progress_module, "Progress", OnTerminal)
    return screen


def test_a_target_that_prints_and_shows_its_summary_keeps_the_json_clean(run_probe, fixture_target):
    result = run_probe(fixture_target("chatty_model.py", "build_model"), "--output-format", "json",
                       "--repeats", "1", "--seeds", "1")
    assert result.exit_code == 0, result.stderr
    report = result.json()  # one target: one object
    assert report["model"]["name"] == "chatty" and len(report["layers"]) == 3
    for text in ("loading the chatty module", "building the chatty model", "Total params", "Shout.call on"):
        assert text in result.stderr and text not in result.stdout


def test_a_target_that_prints_keeps_the_text_report_alone_on_stdout(run_probe, fixture_target):
    target = fixture_target("chatty_model.py", "build_model")
    result = run_probe(target, "--repeats", "1", "--seeds", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{target}: Sequential 'chatty'")
    assert "building the chatty model" in result.stderr and "Total params" not in result.stdout


def test_stdout_is_put_back_after_the_probe(fixture_target, capsys):
    probe_target(fixture_target("chatty_model.py", "build_model"), ProbeOptions(repeats=1))
    print("gradlint's own line")
    captured = capsys.readouterr()
    assert captured.out == "gradlint's own line\n"
    assert "building the chatty model" in captured.err


def test_on_a_terminal_progress_shows_steps_batches_and_seconds_then_each_target_time(
        run_probe, fixture_target, terminal):
    chatty = fixture_target("chatty_model.py", "build_model")
    other = fixture_target("chatty_model.py", "build_other_model")
    result = run_probe(chatty, other, "--repeats", "2", "--seeds", "1")
    assert result.exit_code == 0, result.stderr
    shown = terminal.getvalue()
    assert f"\r\x1b[Kbuilding {chatty}…" in shown
    assert f"{chatty}: tracing and measuring batch 1/2…" in shown and f"{chatty}: measuring batch 2/2…" in shown
    assert f"{other}: measuring batch 2/2…" in shown
    assert re.search(rf"{re.escape(other)}: measuring batch 2/2… \d+\.\d s", shown)  # seconds since the start
    lines = [line.split("\x1b[K")[-1] for line in shown.split("\n")]
    timed = [line for line in lines if line.startswith((f"{chatty}: ", f"{other}: ")) and " s (build " in line]
    assert [line.split(": ")[0] for line in timed] == [chatty, other]
    assert shown.endswith("\r\x1b[K")  # erased before the results print
    assert "\x1b" not in result.stdout


def test_json_mode_shows_no_progress_even_on_a_terminal(run_probe, fixture_target, terminal):
    result = run_probe(fixture_target("chatty_model.py", "build_other_model"), "--output-format", "json",
                       "--repeats", "1", "--seeds", "1")
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)
    assert terminal.getvalue() == ""


def test_off_a_terminal_progress_is_silent_and_verbose_logs_steps():
    quiet, logged = io.StringIO(), io.StringIO()
    Progress(quiet).step("building x")
    verbose = Progress(logged, verbose=True)
    verbose.step("building x")
    verbose.done("x: 0.50 s (build 0.10 s, probe 0.40 s)")
    assert quiet.getvalue() == ""
    assert [line.split("] ", 1)[1] for line in logged.getvalue().splitlines()] == [
        "building x", "x: 0.50 s (build 0.10 s, probe 0.40 s)"]
    assert "\r" not in logged.getvalue()


def test_check_runtime_probes_each_target_with_its_time_and_clean_stdout(fixture_target, capsys):
    screen = Terminal()
    targets = [fixture_target("chatty_model.py", "build_model"), fixture_target("chatty_model.py", "build_other_model")]
    _, errors = run_targets(targets, ProbeOptions(repeats=1), Progress(screen))
    assert errors == []
    timed = [line.split("\x1b[K")[-1] for line in screen.getvalue().split("\n") if " s (build " in line]
    assert [line.split(": ")[0] for line in timed] == targets
    assert capsys.readouterr().out == ""
