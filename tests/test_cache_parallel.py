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


def entries(cache_dir: Path) -> dict[str, dict]:
    files = sorted(cache_dir.glob("results-*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text())["entries"]


def test_changing_a_file_a_setting_or_the_version_invalidates(project: Path, monkeypatch):
    cache_dir = project / "cache"
    _, before = run(project, "--cache-dir", str(cache_dir), "--jobs", "1")
    kept = len(entries(cache_dir))
    target = next(project.glob("m00_*.py"))
    target.write_text(target.read_text() + "\nfrom keras import layers\nextra = layers.Dense(4, activation='relu')\n")
    _, after = run(project, "--cache-dir", str(cache_dir), "--jobs", "1")
    assert len(after) == len(before) + 1
    assert len(entries(cache_dir)) == kept  # the edited file's old entry is dropped, not kept
    _, ignored = run(project, "--cache-dir", str(cache_dir), "--jobs", "1", "--ignore", "GL101")
    assert [d for d in ignored if d["code"] == "GL101"] == []
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    seen = []
    import gradlint.engine

    real = gradlint.engine.check_source
    monkeypatch.setattr(gradlint.engine, "check_source", lambda *a, **k: seen.append(a[1]) or real(*a, **k))
    _, again = run(project, "--cache-dir", str(cache_dir), "--jobs", "1")
    assert again == after and len(seen) == len(list(project.glob("*.py")))


@pytest.mark.parametrize("damage", [
    "{not json",
    "\x00\xff binary",
    json.dumps(["someone else's"]),
    json.dumps({"format": 1, "entries": {}}),  # an older layout
    "entry",  # one entry's findings replaced by garbage
])
def test_a_corrupt_or_foreign_cache_is_ignored_and_rewritten(project: Path, damage: str):
    cache_dir = project / "cache"
    _, cold = run(project, "--cache-dir", str(cache_dir), "--jobs", "1")
    [results] = cache_dir.glob("results-*.json")
    good = json.loads(results.read_text())
    if damage == "entry":
        bad = json.loads(results.read_text())
        key = next(iter(bad["entries"]))
        bad["entries"][key]["diagnostics"] = [{"code": 5}]
        damage = json.dumps(bad)
    results.write_text(damage)
    _, warm = run(project, "--cache-dir", str(cache_dir), "--jobs", "1")
    assert warm == cold
    assert json.loads(results.read_text()) == good


def test_a_file_edited_while_it_is_checked_is_not_cached_under_its_old_content(project: Path, monkeypatch):
    import gradlint.parallel

    target = next(project.glob("m00_*.py"))
    before = target.read_text()
    real = gradlint.parallel.run_parallel

    def edit_then_run(function, calls, jobs):
        target.write_text(before + "\nfrom keras import layers\nextra = layers.Dense(4, activation='relu')\n")
        return real(function, calls, jobs)

    cache_dir = str(project / "cache")
    monkeypatch.setattr(gradlint.parallel, "run_parallel", edit_then_run)
    _, during = run(project, "--cache-dir", cache_dir, "--jobs", "1")
    monkeypatch.setattr(gradlint.parallel, "run_parallel", real)
    target.write_text(before)  # back to what the calling process had read
    _, after = run(project, "--cache-dir", cache_dir, "--jobs", "1")
    _, fresh = run(project, "--no-cache", "--jobs", "1")
    assert len(during) == len(fresh) + 1  # the edit was seen...
    assert after == fresh  # ...and not remembered as the old content's findings
