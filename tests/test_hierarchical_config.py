"""Configuration per directory, as ruff has it: each file takes the nearest gradlint.toml or
pyproject.toml with a [tool.gradlint] table at or above it, a nested project's excludes and
per-file ignores are relative to its own directory, `--config` applies one file to all, and
the result cache never serves one sub-project's findings for another's settings.

The layout is a monorepo: a top-level project and two services with settings of their own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gradlint import cache as cache_module
from gradlint import settings_tree
from gradlint.cli import main

# GL201 (an LSTM compiled without clipping) and GL101 (relu with Glorot), one each.
MODEL = '''import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.LSTM(32), tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
hidden = tf.keras.layers.Dense(64, activation="relu")
'''
RELU = 'import tensorflow as tf\n\nhidden = tf.keras.layers.Dense(64, activation="relu")\n'
# What the GL101 fix makes of RELU's last line: 83 characters.
FIXED_LINE = 'hidden = tf.keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal")\n'


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(autouse=True)
def pinned_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """Results files are named after gradlint's own sources too: pinned, so that a warm run
    reads what the cold one wrote even while those sources are being edited."""
    monkeypatch.setattr(cache_module, "_code_fingerprint", lambda: "pinned")


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write(root, {
        "pyproject.toml": '[project]\nname = "mono"\n\n[tool.gradlint]\nignore = ["GL201"]\n'
                          'extend-exclude = ["scratch", "legacy"]\nper-file-ignores = { "tests/*" = ["GL101"] }\n',
        "train.py": MODEL,
        "tests/test_train.py": RELU,
        "scratch/try.py": RELU,
        "legacy/gradlint.toml": "",
        "legacy/old.py": RELU,
        # vision: its own pyproject.toml, only GL1 codes, a narrow line length.
        "services/vision/pyproject.toml": '[tool.gradlint]\nselect = ["GL1"]\nline-length = 60\n'
                                          'extend-exclude = ["generated"]\n'
                                          'per-file-ignores = { "tests/*" = ["GL101"] }\n',
        "services/vision/model.py": MODEL,
        "services/vision/tests/test_model.py": RELU,
        "services/vision/lib/tests/helpers.py": RELU,  # not `tests/*` from vision's directory
        "services/vision/generated/layers.py": RELU,
        "services/vision/scratch/idea.py": RELU,  # the top's `scratch` exclude does not reach here
        # speech: a gradlint.toml (beside a pyproject.toml that only configures black).
        "services/speech/gradlint.toml": 'ignore = ["GL101"]\n',
        "services/speech/pyproject.toml": '[tool.black]\nline-length = 100\n',
        "services/speech/model.py": MODEL,
    })
    return root


def cli(*args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(main, list(args), env={"GRADLINT_CACHE_DIR": None})


def codes(result: Any) -> dict[str, list[str]]:
    """file (relative to the directory the run was in) → its codes, from a JSON report."""
    found: dict[str, list[str]] = {}
    for d in json.loads(result.stdout):
        found.setdefault(os.path.relpath(d["filename"]), []).append(d["code"])
    return {name: sorted(c) for name, c in sorted(found.items())}


FROM_THE_TOP = {
    "services/speech/model.py": ["GL201"],
    "services/vision/lib/tests/helpers.py": ["GL101"],
    "services/vision/model.py": ["GL101"],
    "services/vision/scratch/idea.py": ["GL101"],
    "train.py": ["GL101"],
}


def test_each_file_takes_its_nearest_configuration(repo: Path, monkeypatch):
    result = cli("check", "--no-cache", "--output-format", "json", ".", cwd=repo, monkeypatch=monkeypatch)
    assert result.exit_code == 1, result.output
    assert codes(result) == FROM_THE_TOP


def test_a_sub_project_reports_the_same_run_from_inside_it(repo: Path, monkeypatch):
    vision = repo / "services" / "vision"
    inside = cli("check", "--no-cache", "--output-format", "json", cwd=vision, monkeypatch=monkeypatch)
    assert codes(inside) == {"lib/tests/helpers.py": ["GL101"], "model.py": ["GL101"], "scratch/idea.py": ["GL101"]}
    one_file = cli("check", "--no-cache", "--output-format", "json", "services/speech/model.py", cwd=repo,
                   monkeypatch=monkeypatch)
    assert codes(one_file) == {"services/speech/model.py": ["GL201"]}


def test_several_paths_each_get_their_own_settings(repo: Path, monkeypatch):
    result = cli("check", "--no-cache", "--output-format", "json", "services/vision/model.py",
                 "services/speech/model.py", "train.py", cwd=repo, monkeypatch=monkeypatch)
    assert codes(result) == {"services/speech/model.py": ["GL201"], "services/vision/model.py": ["GL101"],
                             "train.py": ["GL101"]}


def test_a_nested_projects_excludes_apply_when_run_from_above(repo: Path, monkeypatch):
    result = cli("check", "--show-files", ".", cwd=repo, monkeypatch=monkeypatch)
    assert result.exit_code == 0
    shown = result.stdout.splitlines()
    assert "services/vision/generated/layers.py" not in shown  # vision's own exclude, seen from the top
    assert "scratch/try.py" not in shown and "legacy/old.py" not in shown  # the top's
    assert "services/vision/scratch/idea.py" in shown  # vision's configuration replaces the top's excludes
    from_inside = cli("check", "--show-files", cwd=repo / "services" / "vision", monkeypatch=monkeypatch)
    assert sorted(from_inside.stdout.splitlines()) == ["lib/tests/helpers.py", "model.py", "scratch/idea.py",
                                                       "tests/test_model.py"]


@pytest.mark.parametrize("named", ["services/vision/generated/layers.py", "scratch/try.py", "legacy/old.py"])
def test_force_exclude_leaves_out_what_a_walk_from_the_top_would(repo: Path, monkeypatch, named: str):
    excluded = cli("check", "--no-cache", "--force-exclude", "--show-files", named, cwd=repo, monkeypatch=monkeypatch)
    assert excluded.stdout == ""
    named_alone = cli("check", "--no-cache", "--show-files", named, cwd=repo, monkeypatch=monkeypatch)
    assert named_alone.stdout == f"{named}\n"  # a file named on the command line is checked without it
    kept = cli("check", "--no-cache", "--force-exclude", "--show-files", "services/vision/model.py", cwd=repo,
               monkeypatch=monkeypatch)
    assert kept.stdout == "services/vision/model.py\n"


def test_per_file_ignores_are_relative_to_their_own_configuration(repo: Path, monkeypatch):
    # Run from the top, vision's `tests/*` still means services/vision/tests/*, and not the
    # tests directory of services/vision/lib.
    result = cli("check", "--no-cache", "--output-format", "json", "services/vision/tests",
                 "services/vision/lib", "tests", cwd=repo, monkeypatch=monkeypatch)
    assert codes(result) == {"services/vision/lib/tests/helpers.py": ["GL101"]}


def test_config_on_the_command_line_applies_to_every_file(repo: Path, monkeypatch):
    result = cli("check", "--no-cache", "--output-format", "json", "--config", "pyproject.toml", ".", cwd=repo,
                 monkeypatch=monkeypatch)
    assert codes(result) == {
        "services/speech/model.py": ["GL101"],
        "services/vision/generated/layers.py": ["GL101"],  # vision's exclude is not read; the top's
        # `scratch`, a bare name, leaves out services/vision/scratch too
        "services/vision/lib/tests/helpers.py": ["GL101"],
        "services/vision/model.py": ["GL101"],
        "services/vision/tests/test_model.py": ["GL101"],
        "train.py": ["GL101"],
    }
    shown = cli("check", "--show-settings", "--config", "pyproject.toml", "services/speech/model.py", cwd=repo,
                monkeypatch=monkeypatch)
    assert f"# from: {(repo / 'pyproject.toml').resolve()} (--config)\n" in shown.stdout


def test_command_line_options_override_every_files_settings(repo: Path, monkeypatch):
    result = cli("check", "--no-cache", "--output-format", "json", "--select", "GL2",
                 "train.py", "services/vision/model.py", "services/speech/model.py", cwd=repo, monkeypatch=monkeypatch)
    # --select replaces each configuration's list; each file's own `ignore` still applies.
    assert codes(result) == {"services/speech/model.py": ["GL201"], "services/vision/model.py": ["GL201"]}
    ignored = cli("check", "--no-cache", "--output-format", "json", "--ignore", "GL101", ".", cwd=repo,
                  monkeypatch=monkeypatch)
    assert codes(ignored) == {"services/speech/model.py": ["GL201"]}


def test_show_settings_names_the_file_each_path_takes_its_settings_from(repo: Path, monkeypatch):
    result = cli("check", "--show-settings", "services/vision/model.py", "services/speech/model.py", "train.py",
                 cwd=repo, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split("\n\n")
    assert len(blocks) == 3
    vision, speech, top = blocks
    assert vision.startswith("# Settings for services/vision/model.py\n"
                             f"# from: {(repo / 'services/vision/pyproject.toml').resolve()}\n"
                             f"# root: {(repo / 'services/vision').resolve()}\n[tool.gradlint]\n")
    assert 'select = ["GL1"]' in vision and "line-length = 60" in vision
    assert 'per-file-ignores = {"tests/*" = ["GL101"]}' in vision
    # A gradlint.toml wins over the pyproject.toml beside it, whose black line length it takes.
    assert f"# from: {(repo / 'services/speech/gradlint.toml').resolve()}\n" in speech
    assert 'ignore = ["GL101"]' in speech and "line-length = 100" in speech
    assert f"# from: {(repo / 'pyproject.toml').resolve()}\n" in top and 'ignore = ["GL201"]' in top


def test_show_settings_of_a_missing_file_is_exit_2_naming_it(repo: Path, monkeypatch):
    result = cli("check", "--show-settings", "services/vision/nope.py", cwd=repo, monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == "error: services/vision/nope.py: no such file or directory\n"
    assert result.stdout == ""


def test_show_settings_outside_any_configuration_says_defaults(tmp_path: Path, monkeypatch):
    write(tmp_path, {"loose.py": RELU})
    result = cli("check", "--show-settings", "loose.py", cwd=tmp_path, monkeypatch=monkeypatch)
    assert result.exit_code == 0
    assert "# from: defaults (no gradlint.toml or [tool.gradlint] found at or above it)\n" in result.stdout


def test_each_files_fixes_keep_its_own_line_length(repo: Path, monkeypatch):
    write(repo, {"services/vision/relu.py": RELU, "relu.py": RELU})
    result = cli("fix", "--no-cache", "--write", "--select", "GL101", "relu.py", "services/vision/relu.py",
                 cwd=repo, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert (repo / "relu.py").read_text() == "import tensorflow as tf\n\n" + FIXED_LINE  # 83 <= 88
    assert (repo / "services/vision/relu.py").read_text() == (
        'import tensorflow as tf\n\nhidden = tf.keras.layers.Dense(\n    64,\n    activation="relu",\n'
        '    kernel_initializer="he_normal",\n)\n')


def test_add_noqa_takes_each_files_settings(repo: Path, monkeypatch):
    result = cli("check", "--add-noqa", "services/vision/model.py", "services/speech/model.py", cwd=repo,
                 monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "# noqa: GL101" in (repo / "services/vision/model.py").read_text()
    assert "GL201" not in (repo / "services/vision/model.py").read_text()  # vision selects GL1 only
    speech = (repo / "services/speech/model.py").read_text()
    assert "# noqa: GL201" in speech and "GL101" not in speech


def test_stdin_takes_the_settings_of_the_name_it_is_given(repo: Path, monkeypatch):
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "json", "--stdin-filename",
                                       "services/speech/unsaved.py", "-"], input=MODEL)
    assert codes(result) == {"services/speech/unsaved.py": ["GL201"]}


# -- configuration files: read once, errors named ---------------------------------------------

def test_each_configuration_file_is_parsed_once_per_run(repo: Path, monkeypatch):
    for i in range(5):
        write(repo, {f"services/vision/pkg{i}/deep/m.py": RELU, f"pkg{i}/m.py": RELU})
    reads: list[str] = []
    real = settings_tree.read_toml

    def counting(path: Path) -> dict:
        reads.append(str(Path(path).resolve().relative_to(repo.resolve())))
        return real(path)

    monkeypatch.setattr(settings_tree, "read_toml", counting)
    result = cli("check", "--no-cache", "--output-format", "json", ".", "train.py", "services/vision/model.py",
                 cwd=repo, monkeypatch=monkeypatch)
    assert result.exit_code == 1
    # (legacy/ is excluded: never entered, its gradlint.toml never read)
    assert sorted(reads) == ["pyproject.toml", "services/speech/gradlint.toml", "services/speech/pyproject.toml",
                             "services/vision/pyproject.toml"]


def test_an_error_in_a_nested_configuration_names_its_file_and_key(repo: Path, monkeypatch):
    config = repo / "services" / "speech" / "gradlint.toml"
    config.write_text('ignroe = ["GL101"]\n')
    result = cli("check", "--no-cache", ".", cwd=repo, monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == (f"error: {config.resolve()}: unknown key 'ignroe' in [tool.gradlint] "
                             "(did you mean 'ignore'?)\n")


def test_another_projects_malformed_pyproject_on_the_way_is_a_warning(repo: Path, monkeypatch):
    broken = repo / "vendor" / "pyproject.toml"
    write(repo, {"vendor/pyproject.toml": "[project\nname = 'x'\n", "vendor/lib.py": RELU,
                 "vendor/deeper/more.py": RELU})
    result = cli("check", "--no-cache", "--output-format", "json", ".", "vendor/deeper/more.py", cwd=repo,
                 monkeypatch=monkeypatch)
    assert result.exit_code == 1
    [warning] = result.stderr.splitlines()  # once, though two lookups pass it
    assert warning.startswith(f"warning: {broken.resolve()}: invalid TOML") and warning.endswith("; skipped")
    # Its files take the top's settings: the top ignores GL201 and checks these.
    assert codes(result)["vendor/lib.py"] == ["GL101"] and codes(result)["vendor/deeper/more.py"] == ["GL101"]


def test_a_gradlint_table_beside_a_gradlint_toml_is_said_to_be_unread(repo: Path, monkeypatch):
    shadowed = repo / "services" / "speech" / "pyproject.toml"
    shadowed.write_text('[tool.gradlint]\nselect = ["GL1"]\n')
    result = cli("check", "--no-cache", "--output-format", "json", "services/speech", cwd=repo,
                 monkeypatch=monkeypatch)
    assert codes(result) == {"services/speech/model.py": ["GL201"]}  # gradlint.toml's settings
    assert result.stderr == (f"warning: {shadowed.resolve()}: [tool.gradlint] not read: "
                             f"{(repo / 'services/speech/gradlint.toml').resolve()} in the same directory "
                             "takes precedence\n")


# -- the result cache and the workers ---------------------------------------------------------

def test_editing_a_nested_configuration_invalidates_only_its_files(repo: Path, monkeypatch):
    cache = str(repo / ".shared_cache")
    cold = cli("check", "--cache-dir", cache, "--output-format", "json", ".", cwd=repo, monkeypatch=monkeypatch)
    assert codes(cold) == FROM_THE_TOP
    (repo / "services" / "vision" / "pyproject.toml").write_text(
        '[tool.gradlint]\nselect = ["GL"]\nextend-exclude = ["generated"]\n')
    warm = cli("check", "--cache-dir", cache, "--output-format", "json", ".", cwd=repo, monkeypatch=monkeypatch)
    assert codes(warm) == {**FROM_THE_TOP, "services/vision/model.py": ["GL101", "GL201"],
                           "services/vision/tests/test_model.py": ["GL101"]}
    # Unchanged settings are served from the cache without parsing.
    monkeypatch.setattr("ast.parse", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    again = cli("check", "--cache-dir", cache, "--output-format", "json", ".", cwd=repo, monkeypatch=monkeypatch)
    assert again.exit_code == 1, again.output
    assert codes(again) == codes(warm)


def test_each_sub_project_keeps_its_cache_beside_its_configuration(repo: Path, monkeypatch):
    result = cli("check", ".", cwd=repo, monkeypatch=monkeypatch)
    assert result.exit_code == 1
    for project in (repo, repo / "services" / "vision", repo / "services" / "speech"):
        assert list((project / ".gradlint_cache").glob("results-*.json")), project


def test_a_nested_cache_dir_must_lie_inside_its_own_projects_directory(repo: Path, monkeypatch):
    config = repo / "services" / "vision" / "pyproject.toml"
    config.write_text('[tool.gradlint]\ncache-dir = "../shared-cache"\n')  # inside the repository, not the project
    refused = cli("check", ".", cwd=repo, monkeypatch=monkeypatch)
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"error: {config.resolve()}: [tool.gradlint] cache-dir '../shared-cache' "
                                     "must lie inside the project directory")
    assert not (repo / "services" / "shared-cache").exists()
    config.write_text('[tool.gradlint]\ncache-dir = ".cache/gradlint"\n')
    (repo / "services" / "vision" / ".cache").mkdir()
    used = cli("check", ".", cwd=repo, monkeypatch=monkeypatch)
    assert used.exit_code == 1
    assert list((repo / "services" / "vision" / ".cache" / "gradlint").glob("results-*.json"))
    assert not (repo / "services" / "vision" / ".gradlint_cache").exists()


def test_the_same_table_in_two_places_does_not_share_cached_results(tmp_path: Path, monkeypatch):
    # Two projects with the same table, one shared cache, and a file with the same name (from
    # where each run starts) and content: `tests/*` matches it in one project only.
    table = '[tool.gradlint]\nper-file-ignores = { "tests/*" = ["GL101"] }\n'
    write(tmp_path, {"a/pyproject.toml": table, "a/tests/m.py": RELU,
                     "b/pyproject.toml": table, "b/x/tests/m.py": RELU})
    cache = str(tmp_path / "cache")
    first = cli("check", "--cache-dir", cache, "--output-format", "json", "tests/m.py", cwd=tmp_path / "a",
                monkeypatch=monkeypatch)
    assert first.exit_code == 0 and codes(first) == {}
    second = cli("check", "--cache-dir", cache, "--output-format", "json", "tests/m.py", cwd=tmp_path / "b" / "x",
                 monkeypatch=monkeypatch)
    assert codes(second) == {"tests/m.py": ["GL101"]}


def test_workers_check_each_file_with_its_own_settings(repo: Path, monkeypatch):
    for i in range(12):
        write(repo, {f"services/vision/m{i:02d}.py": MODEL, f"services/speech/m{i:02d}.py": MODEL})
    serial = cli("check", "--no-cache", "--jobs", "1", "--output-format", "json", ".", cwd=repo,
                 monkeypatch=monkeypatch)
    parallel = cli("check", "--no-cache", "--jobs", "2", "--output-format", "json", ".", cwd=repo,
                   monkeypatch=monkeypatch)
    assert serial.stdout == parallel.stdout
    found = codes(parallel)
    assert found["services/vision/m03.py"] == ["GL101"] and found["services/speech/m03.py"] == ["GL201"]


# -- one configuration: as before -------------------------------------------------------------

def test_a_single_configuration_applies_below_it_from_any_directory(tmp_path: Path, monkeypatch):
    write(tmp_path, {"pyproject.toml": '[tool.gradlint]\nper-file-ignores = { "src/tests/*" = ["GL101"] }\n'
                                       'extend-exclude = ["src/gen"]\n',
                     "src/model.py": MODEL, "src/tests/t.py": RELU, "src/gen/g.py": RELU})
    top = cli("check", "--no-cache", "--output-format", "json", cwd=tmp_path, monkeypatch=monkeypatch)
    assert codes(top) == {"src/model.py": ["GL101", "GL201"]}
    inside = cli("check", "--no-cache", "--output-format", "json", cwd=tmp_path / "src", monkeypatch=monkeypatch)
    assert codes(inside) == {"model.py": ["GL101", "GL201"]}
    named = cli("check", "--no-cache", "--output-format", "json", "gen", cwd=tmp_path / "src",
                monkeypatch=monkeypatch)
    assert codes(named) == {"gen/g.py": ["GL101"]}  # a directory named explicitly is checked
