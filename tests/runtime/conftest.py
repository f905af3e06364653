"""Shared helpers for the runtime probe tests.

Tests that need TensorFlow import it for real (it is part of the test extra). Each model is
built and probed once per module through module-scoped fixtures, which keeps the TensorFlow
part of the suite to a few tens of seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "runtime"


@pytest.fixture(scope="session")
def fixture_target():
    """`fixture_target("deep_relu_mlp.py", "build_model")` → an absolute target string, so the
    tests do not depend on the working directory."""

    def make(file: str, factory: str | None = None) -> str:
        path = FIXTURES / file
        return f"{path}:{factory}" if factory else str(path)

    return make


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(scope="session")
def empty_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration with no runtime settings, so the repository's pyproject cannot leak in."""
    path = tmp_path_factory.mktemp("config") / "gradlint.toml"
    path.write_text("", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def run_probe(empty_config: Path):
    """Run `gradlint probe ARGS` in-process and return exit code, stdout and stderr."""
    from gradlint.runtime.cli import probe

    def run(*args: str) -> CliResult:
        argv = list(args)
        if "--config" not in argv:
            argv += ["--config", str(empty_config)]
        result = CliRunner().invoke(probe, argv, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
