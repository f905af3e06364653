"""Parallel runs and the result cache change how fast gradlint is, never what it says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint import cache as cache_module
from gradlint.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project with many Keras files (enough for a process pool) and a few plain ones."""
    for i, source in enumerate(sorted(FIXTURES.glob("*.py")) * 6):
        shutil.copy(source, tmp_path / f"m{i:02d}_{source.name}")
    (tmp_path / "util.py").write_text("def helper():\n    return 1\n")
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    return tmp_path


def run(project: Path, *args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(main, ["check", "--output-format", "json", *args, str(project)])
    return result.exit_code, json.loads(result.output)


def test_parallel_and_serial_runs_report_the_same(project: Path):
    code1, serial = run(project, "--no-cache", "--jobs", "1")
    code2, parallel = run(project, "--no-cache", "--jobs", "2")
    assert code1 == code2 == 1
    assert len(serial) > 30
    assert serial == parallel
    rows = [(d["filename"], d["location"]["row"], d["location"]["column"]) for d in serial]
    assert rows == sorted(rows)


def test_warm_cache_reports_what_the_cold_run_did_without_parsing(project: Path, monkeypatch):
    cold = run(project, "--cache-dir", str(project / "cache"))
    assert (project / "cache" / ".gitignore").read_text().strip().endswith("*")

    def no_parsing(*args, **kwargs):
        raise AssertionError("a warm run must not parse unchanged files")

    monkeypatch.setattr("ast.parse", no_parsing)
    warm = run(project, "--jobs", "1", "--cache-dir", str(project / "cache"))
    assert warm == cold


def test_changing_a_file_a_setting_or_the_version_invalidates(project: Path, monkeypatch):
    cache_dir = str(project / "cache")
    _, before = run(project, "--cache-dir", cache_dir, "--jobs", "1")
    target = next(project.glob("m00_*.py"))
    target.write_text(target.read_text() + "\nfrom keras import layers\nextra = layers.Dense(4, activation='relu')\n")
    _, after = run(project, "--cache-dir", cache_dir, "--jobs", "1")
    assert len(after) == len(before) + 1
    _, ignored = run(project, "--cache-dir", cache_dir, "--jobs", "1", "--ignore", "GL101")
    assert [d for d in ignored if d["code"] == "GL101"] == []
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    seen = []
    import gradlint.engine

    real = gradlint.engine.check_source
    monkeypatch.setattr(gradlint.engine, "check_source", lambda *a, **k: seen.append(a[1]) or real(*a, **k))
    gradlint.engine._caches.clear()
    _, again = run(project, "--cache-dir", cache_dir, "--jobs", "1")
    assert again == after and len(seen) == len(list(project.glob("*.py")))


def test_corrupt_and_foreign_cache_entries_are_ignored_and_rewritten(project: Path):
    cache_dir = project / "cache"
    _, cold = run(project, "--cache-dir", str(cache_dir), "--jobs", "1")
    entries = sorted(cache_dir.rglob("*.json"))
    assert entries
    entries[0].write_text("{not json")
    entries[1].write_text(json.dumps({"key": "someone else's", "diagnostics": []}))
    entries[2].write_bytes(b"\x00\xff binary")
    _, warm = run(project, "--cache-dir", str(cache_dir), "--jobs", "1")
    assert warm == cold
    assert json.loads(entries[0].read_text())["key"] == entries[0].stem


def test_an_unwritable_cache_does_not_stop_the_check(project: Path):
    blocker = project / "blocked"
    blocker.write_text("a file where the cache directory should be")
    code, found = run(project, "--cache-dir", str(blocker / "cache"))
    assert code == 1 and found
