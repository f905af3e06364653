"""The static path never pays for TensorFlow; without TensorFlow the probe says how to get it.

Each check runs in a fresh interpreter, where "was TensorFlow imported?" has a clean answer.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_importing_the_runtime_side_and_listing_commands_imports_no_tensorflow():
    result = run_python("""
        import sys
        import gradlint.runtime, gradlint.runtime.cli, gradlint.runtime.settings, gradlint.keras
        import gradlint.runtime.monitor, gradlint.runtime.report, gradlint.runtime.verdicts
        from click.testing import CliRunner
        from gradlint.cli import main
        out = CliRunner().invoke(main, ["--help"]).output
        assert "probe" in out, out
        out = CliRunner().invoke(main, ["probe", "--help"]).output
        assert "--confirm" in out and "--input-shape" in out, out
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print(loaded)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_tensorflow_the_probe_explains_how_to_install_it():
    result = run_python("""
        import sys
        sys.modules["tensorflow"] = None  # what an environment without the runtime extra looks like
        from gradlint.runtime.cli import probe
        probe(["fixtures/runtime/deep_relu_mlp.py:build_model"])
    """)
    assert result.returncode == 2
    assert 'pip install "gradlint[runtime]"' in result.stderr
    assert "Traceback" not in result.stderr
