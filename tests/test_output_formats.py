"""Output formats for CI and editors: GitHub annotations, SARIF that validates against the
2.1.0 schema, concise lines, statistics, and what --show-files/--show-settings print."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

import jsonschema
import pytest
from click.testing import CliRunner

from gradlint.cli import main
from gradlint.diagnostics import Diagnostic, Position
from gradlint.report.github import render_github
from gradlint.rules.docs import code_docs

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
# The OASIS SARIF 2.1.0 schema (errata 01), the one GitHub code scanning validates against.
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
ANSI = re.compile(r"\x1b\[")


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [*args, "--no-cache"], env=env)
    finally:
        os.chdir(old)


MODEL_PY = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(512, activation="relu"),
    layers.Dense(256, activation="relu", kernel_initializer="he_normal"),
    layers.Dense(256, activation="relu", kernel_initializer="glorot_normal"),
    layers.Dense(10, activation="softmax"),
])
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository with a Python file, a notebook, and a file with nothing to find."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "mnist_mlp.py").write_text(MODEL_PY)
    shutil.copy(FIXTURES / "mnist_mlp.ipynb", tmp_path / "src" / "mnist_mlp.ipynb")
    (tmp_path / "src" / "clean.py").write_text("print('nothing to see')\n")
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    return tmp_path


# -- github ---------------------------------------------------------------------------------

_GITHUB = re.compile(
    r"::(?:error|warning) file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
    r"endLine=(?P<end_line>\d+),endColumn=(?P<end_col>\d+),title=(?P<title>GL\d+)::(?P<message>.+)"
)


def test_github_annotations_for_files_and_notebook_cells(repo: Path):
    result = cli("check", "--output-format", "github", "src", cwd=repo, env={"GITHUB_WORKSPACE": str(repo)})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    matches = [_GITHUB.fullmatch(line) for line in lines]
    assert lines and all(matches), lines
    py = [m for m in matches if m["file"] == "src/mnist_mlp.py"]
    assert [m.group("line", "col", "end_line", "end_col", "title") for m in py] == [
        ("6", "5", "6", "41", "GL101"), ("8", "5", "8", "77", "GL101"),
    ]
    assert py[0]["message"].startswith("src/mnist_mlp.py:6:5: GL101 [*] Dense with activation 'relu'")
    # A notebook finding: the line of the .ipynb that holds the cell's source line.
    nb = [m for m in matches if m["file"] == "src/mnist_mlp.ipynb"]
    assert nb[0]["message"].startswith("src/mnist_mlp.ipynb:cell 8:2:5: GL101")
    json_line = (repo / "src" / "mnist_mlp.ipynb").read_text().splitlines()[int(nb[0]["line"]) - 1]
    assert json_line.strip().startswith('"x = layers.Dense(256, activation=\\"relu\\")(inputs)')
    assert json_line[int(nb[0]["col"]) - 1:].startswith('layers.Dense(256')


def test_github_escapes_what_workflow_commands_reserve():
    where = Position(3, 1)
    d = Diagnostic("GL101", "50% of it\nnext line", "dir,with:odd%chars.py", where, where)
    line = render_github([d])
    assert line.startswith("::warning file=dir%2Cwith%3Aodd%25chars.py,line=3,col=1,endLine=3,endColumn=1,title=GL101::")
    assert "50%25 of it%0Anext line" in line
    assert line.count("\n") == 1


# -- sarif ----------------------------------------------------------------------------------

def _strings(value, path="$"):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def _sarif(repo: Path, *paths: str) -> dict:
    result = cli("check", "--output-format", "sarif", *paths, cwd=repo)
    assert result.exit_code in (1, 2), result.output
    return json.loads(result.stdout)


def test_sarif_validates_against_the_2_1_0_schema(repo: Path):
    (repo / "src" / "broken.ipynb").write_text("{not json")
    log = _sarif(repo, "src")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert [path for path, text in _strings(log) if not text.strip()] == []


def test_sarif_rules_and_results_as_code_scanning_reads_them(repo: Path):
    log = _sarif(repo, "src")
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "gradlint" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [d.code for d in code_docs()]
    gl101 = next(r for r in rules if r["id"] == "GL101")
    assert gl101["name"] == "init-activation-mismatch"
    assert gl101["helpUri"].endswith("docs/rules.md#gl101-init-activation-mismatch")
    assert "## Why it matters" in gl101["help"]["markdown"] and gl101["help"]["text"]
    assert gl101["shortDescription"]["text"] and gl101["fullDescription"]["text"]
    assert gl101["defaultConfiguration"]["level"] == "error"

    results = run["results"]
    assert len(results) == 4  # 2 in the .py file, 2 in the notebook
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning") and result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        assert uri in ("src/mnist_mlp.py", "src/mnist_mlp.ipynb")
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        region = location["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])
        assert re.fullmatch(r"[0-9a-f]{32}", result["partialFingerprints"]["gradlintFingerprint/v1"])
    root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert urlsplit(root).scheme == "file" and root.endswith("/")
    assert Path(urlsplit(root).path) == repo.resolve()
    notebook = [r for r in results if r["properties"].get("cell")]
    assert [r["properties"]["cell"] for r in notebook] == [8, 8]
    assert notebook[0]["message"]["text"].startswith("src/mnist_mlp.ipynb:cell 8:2:5: ")


def test_sarif_fingerprints_survive_code_moving_down(repo: Path):
    before = {r["partialFingerprints"]["gradlintFingerprint/v1"] for r in _sarif(repo, "src")["runs"][0]["results"]}
    path = repo / "src" / "mnist_mlp.py"
    path.write_text('"""Moved down by a docstring."""\n\n\n' + path.read_text())
    after = {r["partialFingerprints"]["gradlintFingerprint/v1"] for r in _sarif(repo, "src")["runs"][0]["results"]}
    assert before == after and len(after) == 4


def test_sarif_with_no_findings_is_a_valid_empty_run(repo: Path):
    result = cli("check", "--output-format", "sarif", "src/clean.py", cwd=repo)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["runs"][0]["results"] == []


# -- concise and statistics -------------------------------------------------------------------

def test_concise_is_one_plain_line_per_finding(repo: Path):
    result = cli("check", "--output-format", "concise", "src", cwd=repo, env={"FORCE_COLOR": "1"})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and not ANSI.search(result.stdout)
    assert all(re.match(r"src/mnist_mlp\.(py|ipynb):(cell \d+:)?\d+:\d+: GL\d+ ", line) for line in lines)
    assert "Found" not in result.stdout


def test_statistics_count_per_code(repo: Path):
    # Three initializers to add (safe fixes) and one glorot_normal to rewrite (unsafe): as in
    # ruff, an unsafe fix counts as fixable only with --unsafe-fixes.
    # After the table, what was judged: every layer of the .py and the notebook, and the compile.
    judged = "\nJudged 7 of 7 layer calls; 1 of 1 compiles.\n"
    result = cli("check", "--statistics", "src", cwd=repo)
    assert result.exit_code == 1
    assert result.stdout == "4\tGL101\t[-] init-activation-mismatch\n" + judged
    result = cli("check", "--statistics", "--output-format", "json", "src", cwd=repo)
    assert json.loads(result.stdout) == {
        "codes": [{"code": "GL101", "name": "init-activation-mismatch", "count": 4, "fixable": True,
                   "fixable_count": 3}],
        "coverage": {"layers": {"judged": 7, "total": 7, "not_judged": {}},
                     "training": {"judged": 1, "total": 1, "not_judged": {}}},
    }
    result = cli("check", "--statistics", "--unsafe-fixes", "src", cwd=repo)
    assert result.stdout == "4\tGL101\t[*] init-activation-mismatch\n" + judged


def test_statistics_marks_codes_without_fixes(repo: Path):
    (repo / "src" / "broken.py").write_text("import keras\ndef f(:\n")
    result = cli("check", "--statistics", "src", cwd=repo)
    assert result.exit_code == 2
    assert result.stdout.splitlines()[:2] == ["4\tGL101\t[-] init-activation-mismatch", "1\tGL001\t[ ] syntax-error"]


# -- show-files / show-settings -------------------------------------------------------------

def test_show_files_lists_what_would_be_checked(repo: Path):
    (repo / "build").mkdir()
    (repo / "build" / "gen.py").write_text("x = 1\n")
    result = cli("check", "--show-files", ".", cwd=repo)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["src/clean.py", "src/mnist_mlp.ipynb", "src/mnist_mlp.py"]


def test_show_settings_prints_the_resolved_configuration(repo: Path):
    (repo / "pyproject.toml").write_text(
        '[tool.gradlint]\nignore = ["GL2"]\nextensions = ["py"]\nper-file-ignores = { "tests/*" = ["GL101"] }\n'
    )
    result = cli("check", "--show-settings", "--select", "GL1", "src", cwd=repo)
    assert result.exit_code == 0
    out = result.stdout
    assert f"# from: {repo.resolve() / 'pyproject.toml'}" in out
    assert 'select = ["GL1"]' in out
    assert 'ignore = ["GL2"]' in out
    assert 'extensions = ["py"]' in out
    assert 'per-file-ignores = {"tests/*" = ["GL101"]}' in out
    assert "# cache-dir: not set" in out


# -- output that never alters or breaks -------------------------------------------------------

ONE_FINDING = 'from tensorflow import keras\nx = keras.layers.Dense(64, activation="relu")\n'


def gradlint(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """The real program writing to a pipe (not a terminal), its output as raw bytes; standard
    output strict UTF-8 as on a UTF-8 terminal, so an unencodable string would be an error."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    env.pop("GITHUB_WORKSPACE", None)
    return subprocess.run([sys.executable, "-m", "gradlint", *args, "--no-cache"], check=False, cwd=cwd, env=env,
                          capture_output=True, timeout=120)


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-c", "core.quotepath=true", *args], check=False, cwd=cwd, capture_output=True,
                          timeout=60)


@pytest.mark.parametrize("name, content", [
    ("m.py", b"from tensorflow import keras\n# colours: \x1b[31mred\x1b[0m\nx = keras.layers.Dense(64, activation='relu')\n"),
    ("m.py", b"from tensorflow import keras\nx = keras.layers.Dense(64, activation='relu')  \x0c# page\n"),
    ("m.py", b"from tensorflow import keras\n# a \x1c separator\nx = keras.layers.Dense(\n    64, activation='relu')\n"),
    ("m.py", b"# -*- coding: latin-1 -*-\nfrom tensorflow import keras\n# caf\xe9\nx = keras.layers.Dense(64, activation='relu')\n"),
    ("m.py", b"from tensorflow import keras\r\nx = keras.layers.Dense(64, activation='relu')"),
    ("we\tird \xc3\xa9 \"name\".py", ONE_FINDING.encode()),
], ids=["escape-byte", "form-feed", "file-separator", "latin-1", "crlf-no-final-newline", "odd-file-name"])
def test_the_fix_diff_keeps_every_byte_and_git_applies_it(tmp_path: Path, name: str, content: bytes):
    """`gradlint fix > patch; git apply patch` gives exactly what `fix --write` writes."""
    for copy in ("diffed", "written"):
        (tmp_path / copy).mkdir()
        (tmp_path / copy / os.fsdecode(name.encode())).write_bytes(content)
    assert git("init", "-q", ".", cwd=tmp_path / "diffed").returncode == 0
    diff = gradlint("fix", ".", cwd=tmp_path / "diffed")
    assert diff.returncode == 1, diff.stderr
    patch = diff.stdout[:diff.stdout.rindex(b"Would fix")]
    assert patch.startswith(b"--- ") and b"\n+" in patch
    (tmp_path / "fix.patch").write_bytes(patch)
    applied = git("apply", str(tmp_path / "fix.patch"), cwd=tmp_path / "diffed")
    assert applied.returncode == 0, applied.stderr.decode(errors="replace")
    assert gradlint("fix", "--write", ".", cwd=tmp_path / "written").returncode == 0
    files = [p for p in (tmp_path / "written").iterdir()]
    assert len(files) == 1
    assert (tmp_path / "diffed" / files[0].name).read_bytes() == files[0].read_bytes() != content


@pytest.fixture()
def odd_names(tmp_path: Path) -> Path:
    """A repository whose files are named with a byte that is not UTF-8, a newline and an
    escape character (all allowed by POSIX file systems)."""
    (tmp_path / ".git").mkdir()
    for raw in (b"mod\xff.py", b"new\nline.py", b"esc\x1b[1mape.py"):
        (tmp_path / os.fsdecode(raw)).write_text(ONE_FINDING)
    return tmp_path


LINE_NAMES = ["esc\\x1b[1mape.py", "mod\\xff.py", "new\\nline.py"]


@pytest.mark.parametrize("output_format", ["text", "concise", "github"])
def test_line_formats_escape_file_names_and_keep_one_line_per_finding(odd_names: Path, output_format: str):
    result = gradlint("check", "--output-format", output_format, ".", cwd=odd_names)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.decode("utf-8").splitlines()
    findings = [line for line in lines if "GL101" in line]
    assert len(findings) == 3
    assert [next(n for n in LINE_NAMES if n in line) for line in findings] == LINE_NAMES
    assert not any(ch in result.stdout for ch in b"\x1b\xff")
    if output_format == "github":
        assert re.match(r"::(error|warning) file=mod\\xff\.py,line=2,", findings[1]), findings[1]


def test_show_files_escapes_file_names(odd_names: Path):
    result = gradlint("check", "--show-files", ".", cwd=odd_names)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8").splitlines() == LINE_NAMES


def test_json_is_valid_utf8_and_shows_an_undecodable_byte_as_the_replacement_character(odd_names: Path):
    result = gradlint("check", "--output-format", "json", ".", cwd=odd_names)
    assert result.returncode == 1, result.stderr
    text = result.stdout.decode("utf-8")  # strict: fails on any byte that is not UTF-8
    assert "\\ud" not in text  # no escaped lone surrogate either (strict JSON parsers refuse them)
    names = sorted(Path(d["filename"]).name for d in json.loads(text))
    assert names == ["esc\x1b[1mape.py", "mod\ufffd.py", "new\nline.py"]


def test_sarif_uris_are_percent_encoded_from_the_raw_bytes_of_file_names(odd_names: Path):
    result = gradlint("check", "--output-format", "sarif", ".", cwd=odd_names)
    assert result.returncode == 1, result.stderr
    log = json.loads(result.stdout.decode("utf-8"))
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text()))
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"])
    assert uris == ["esc%1B%5B1mape.py", "mod%FF.py", "new%0Aline.py"]
    assert [os.fsdecode(unquote_to_bytes(u)) for u in uris] == sorted(os.listdir(odd_names))[1:]


@pytest.mark.parametrize("output_format", ["github", "sarif"])
def test_statistics_with_github_or_sarif_is_a_usage_error(repo: Path, output_format: str):
    result = gradlint("check", "--statistics", "--output-format", output_format, "src", cwd=repo)
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"--statistics" in result.stderr and output_format.encode() in result.stderr


def test_statistics_with_concise_is_the_table(repo: Path):
    result = cli("check", "--statistics", "--output-format", "concise", "src", cwd=repo)
    assert (result.exit_code, result.stdout) == (
        1, "4\tGL101\t[-] init-activation-mismatch\n\nJudged 7 of 7 layer calls; 1 of 1 compiles.\n")
