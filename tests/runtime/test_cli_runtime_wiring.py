"""`gradlint check --runtime` and `gradlint fix --confirm`: the probe inside the usual commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

DEEP_RELU = Path(__file__).resolve().parents[2] / "fixtures" / "runtime" / "deep_relu_mlp.py"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch) -> Path:
    shutil.copy(DEEP_RELU, tmp_path / "model.py")
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\n[tool.gradlint.runtime]\ntargets = ["model.py:build_model"]\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_runtime_merges_probe_findings_into_the_report(project: Path):
    result = CliRunner().invoke(main, ["check", "--runtime", "--no-cache", "--output-format", "json", "."])
    assert result.exit_code == 1
    codes = [(d["code"], Path(d["filename"]).name) for d in json.loads(result.output)]
    assert sorted(codes) == [("GL101", "model.py"), ("GR101", "model.py")]
    assert CliRunner().invoke(main, ["check", "--runtime", "--no-cache", "--ignore", "GR,GL1", "."]).exit_code == 0


def test_check_runtime_without_targets_is_a_clear_error(project: Path):
    (project / "pyproject.toml").write_text("[tool.gradlint]\n")
    result = CliRunner().invoke(main, ["check", "--runtime", "--no-cache", "."])
    assert result.exit_code == 2
    assert "no targets configured" in result.output


def test_fix_confirm_probes_before_and_after_then_writes(project: Path):
    before = (project / "model.py").read_text()
    result = CliRunner().invoke(main, ["fix", "--confirm", "model.py:build_model", "--no-cache"])
    assert result.exit_code == 1, result.output  # as `fix` without --write: there is something to fix
    assert "GR101 resolved by GL101 fixes at line 18" in result.output
    assert (project / "model.py").read_text() == before  # without --write nothing is written
    written = CliRunner().invoke(main, ["fix", "--confirm", "model.py:build_model", "--write", "--no-cache"])
    assert written.exit_code == 0
    assert 'kernel_initializer="he_normal"' in (project / "model.py").read_text()  # (laid out to the line length)
