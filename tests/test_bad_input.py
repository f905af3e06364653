"""Bad input: each case gets a clear message naming the file, the other files are still
checked, and nothing is ever left half-written."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

BAD_RELU = "from tensorflow import keras\nlayer = keras.layers.Dense(64, activation='relu')\n"
FIXED_RELU = "from tensorflow import keras\nlayer = keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal')\n"


def cli(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args))
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, list(args))
    finally:
        os.chdir(old)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (tmp_path / "good.py").write_text(BAD_RELU)
    return tmp_path


def findings(result) -> list[dict]:
    return json.loads(result.stdout)  # warnings go to standard error


def test_syntax_error_is_gl001_with_position_and_other_files_go_on(project: Path):
    (project / "broken.py").write_text("import keras\nmodel = keras.Sequential([\n    keras.layers.Dense(8,\n")
    result = cli("check", "--no-cache", "--output-format", "json", str(project))
    assert result.exit_code == 2
    by_code = {d["code"]: d for d in findings(result)}
    assert by_code["GL001"]["filename"].endswith("broken.py")
    assert by_code["GL001"]["location"]["row"] >= 2
    assert "GL101" in by_code  # good.py was still checked


@pytest.mark.parametrize("content, reason", [
    (b"import keras\nname = '\xe9t\xe9'\n", "not valid UTF-8"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00keras", "binary file"),
    (b"# -*- coding: klingon -*-\nimport keras\n", "unknown encoding"),
])
def test_unreadable_sources_are_gl002_naming_the_problem(project: Path, content: bytes, reason: str):
    (project / "bad.py").write_bytes(content)
    result = cli("check", "--no-cache", str(project))
    assert result.exit_code == 2
    line = next(l for l in result.output.splitlines() if "GL002" in l)
    assert line.startswith("bad.py:") or "bad.py:1:1: GL002" in line
    assert reason in line
    assert "good.py" in result.output


def test_permission_denied_is_gl002(project: Path, monkeypatch):
    secret = project / "secret.py"
    secret.write_text(BAD_RELU)
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = cli("check", "--no-cache", str(project))
    assert result.exit_code == 2
    assert "secret.py:1:1: GL002 cannot read file: permission denied" in result.output


def test_latin1_with_cookie_is_checked_and_fixed_keeping_its_encoding(project: Path):
    path = project / "legacy.py"
    source = "# -*- coding: latin-1 -*-\n# Modèle écrit en 2017\n" + BAD_RELU
    path.write_bytes(source.encode("latin-1"))
    result = cli("fix", "--write", "--no-cache", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == ("# -*- coding: latin-1 -*-\n# Modèle écrit en 2017\n" + FIXED_RELU).encode("latin-1")


@pytest.mark.parametrize("prefix, newline, tail", [
    (b"\xef\xbb\xbf", "\n", "\n"),  # UTF-8 BOM
    (b"", "\r\n", "\r\n"),  # CRLF
    (b"", "\n", ""),  # no trailing newline
])
def test_bom_line_endings_and_missing_final_newline_are_kept(project: Path, prefix, newline, tail):
    path = project / "model.py"
    body = BAD_RELU.rstrip("\n").replace("\n", newline) + tail
    path.write_bytes(prefix + body.encode())
    assert cli("fix", "--write", "--no-cache", str(path)).exit_code == 0
    expected = FIXED_RELU.rstrip("\n").replace("\n", newline) + tail
    assert path.read_bytes() == prefix + expected.encode()


def test_mixed_line_endings_tabs_and_form_feeds_are_kept(project: Path):
    path = project / "model.py"
    source = ("from tensorflow import keras\r\n\x0c\n# section\n"
              "if True:\n\tlayer = keras.layers.Dense(\r\n\t\t64,\r\n\t\tactivation='relu',\r\n\t)\n")
    path.write_bytes(source.encode())
    assert cli("fix", "--write", "--no-cache", str(path)).exit_code == 0
    assert path.read_bytes().decode() == source.replace(
        "\t\tactivation='relu',\r\n", "\t\tactivation='relu',\r\n\t\tkernel_initializer='he_normal',\r\n")


def test_empty_file_is_clean(project: Path):
    (project / "good.py").write_text("")
    result = cli("check", "--no-cache", str(project))
    assert result.exit_code == 0 and result.output == ""


def test_large_generated_file_is_checked(project: Path):
    """A generated module: a wide model and its weights embedded as base64 text, 10 MB."""
    lines = ["from tensorflow import keras", "model = keras.Sequential(["]
    lines += [f"    keras.layers.Dense({i % 97 + 1}, activation='tanh', name='d{i}')," for i in range(3_000)]
    lines += ["    keras.layers.Dense(100, activation='relu'),", "])", "WEIGHTS = ("]
    lines += [f'    "{"QUJD" * 19}"' for _ in range(125_000)]
    lines += [")", ""]
    text = "\n".join(lines)
    assert len(text) > 10_000_000
    (project / "generated.py").write_text(text)
    result = cli("check", "--no-cache", "--output-format", "json", str(project / "generated.py"))
    assert result.exit_code == 1, result.output[:500]
    # The 3,000 tanh layers are also one deep saturating stack (GL301, at its first layer).
    assert sorted((f["code"], f["location"]["row"]) for f in findings(result)) == [("GL101", 3_003), ("GL301", 3)]


@pytest.mark.parametrize("terms", [3_000, 100_000])  # deep for gradlint's walk; deep for the parser
def test_deeply_nested_expression_is_gl002_not_a_crash(project: Path, terms: int):
    (project / "deep.py").write_text("import keras\nx = " + " + ".join(["a"] * terms) + "\n")
    result = cli("check", "--no-cache", str(project))
    assert result.exit_code == 2
    assert "deep.py:1:1: GL002" in result.output and "nested too deeply" in result.output
    assert "good.py" in result.output


def test_broken_symlinks_and_symlink_loops_are_skipped(project: Path):
    (project / "dangling.py").symlink_to(project / "missing.py")
    sub = project / "sub"
    sub.mkdir()
    (sub / "loop").symlink_to(project)
    (sub / "model.py").write_text(BAD_RELU)
    result = cli("check", "--no-cache", "--output-format", "json", str(project))
    assert result.exit_code == 1
    assert sorted(Path(d["filename"]).name for d in findings(result)) == ["good.py", "model.py"]


def test_a_path_that_does_not_exist_is_exit_2(project: Path):
    result = cli("check", str(project / "nope.py"))
    assert result.exit_code == 2
    assert "nope.py:1:1: GL002 no such file or directory" in result.output


def test_a_directory_as_config_is_exit_2(project: Path):
    result = cli("check", "--config", str(project), str(project / "good.py"))
    assert result.exit_code == 2
    assert "is a directory" in result.output


@pytest.mark.parametrize("config, message", [
    ("[tool.gradlint\nselect = 1\n", "invalid TOML"),
    ("[tool.gradlint]\nslect = ['GL']\n", "unknown key 'slect' in [tool.gradlint] (did you mean 'select'?)"),
    ("[tool.gradlint]\nselect = 'GL101'\n", "select must be a list of strings"),
    ("[tool.gradlint]\nignore = ['XYZ9']\n", "unknown rule code or prefix 'XYZ9'"),
    ("[tool.gradlint]\nfix-distribution = 'cauchy'\n", "fix-distribution must be 'normal' or 'uniform'"),
])
def test_malformed_configuration_is_a_clear_error(project: Path, config: str, message: str):
    (project / "pyproject.toml").write_text(config)
    result = cli("check", str(project / "good.py"))
    assert result.exit_code == 2
    assert "pyproject.toml" in result.output and message in result.output


def test_unknown_selector_on_the_command_line_is_exit_2(project: Path):
    result = cli("check", "--select", "GL9", str(project))
    assert result.exit_code == 2 and "--select: unknown rule code or prefix 'GL9'" in result.output


# -- writing -------------------------------------------------------------------------------

def test_write_keeps_permission_bits(project: Path):
    path = project / "good.py"
    path.chmod(0o754)
    assert cli("fix", "--write", "--no-cache", str(path)).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o754
    assert path.read_text() == FIXED_RELU
    assert [p.name for p in project.iterdir() if "gradlint-tmp" in p.name] == []


def test_a_file_changed_while_being_checked_is_not_overwritten(project: Path, monkeypatch):
    path = project / "good.py"
    import gradlint.engine

    real = gradlint.engine.fix_source

    def meanwhile(*args, **kwargs):
        path.write_text(BAD_RELU + "# edited by the user meanwhile\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(gradlint.engine, "fix_source", meanwhile)
    result = cli("fix", "--write", "--no-cache", str(path))
    assert result.exit_code == 2
    assert "changed on disk" in result.output
    assert path.read_text() == BAD_RELU + "# edited by the user meanwhile\n"


def test_a_symlinked_file_is_written_through_and_stays_a_link(project: Path):
    target = project / "real_model.py"
    target.write_text(BAD_RELU)
    (project / "good.py").unlink()
    link = project / "link.py"
    link.symlink_to(target)
    assert cli("fix", "--write", "--no-cache", str(link)).exit_code == 0
    assert link.is_symlink()
    assert target.read_text() == FIXED_RELU


def test_a_fix_that_would_break_the_file_is_refused_and_reported(project: Path, monkeypatch):
    from gradlint.diagnostics import Edit, Fix
    from gradlint.rules.init_activation import InitActivationMismatch

    real_check = InitActivationMismatch.check

    def broken(self, graph, settings):
        for d in real_check(self, graph, settings):
            edit = Edit("kernel_initializer=(", d.fix.edits[0].location, d.fix.edits[0].end_location)
            yield type(d)(**{**d.__dict__, "fix": Fix("broken", (edit,))})

    monkeypatch.setattr(InitActivationMismatch, "check", broken)
    path = project / "good.py"
    result = cli("fix", "--write", "--no-cache", str(path))
    assert result.exit_code == 2
    assert "internal error: fix for GL101 produced invalid code" in result.output
    assert path.read_text() == BAD_RELU


def test_a_failed_write_leaves_the_original_intact(project: Path, monkeypatch):
    path = project / "good.py"

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    result = cli("fix", "--write", "--no-cache", str(path))
    assert result.exit_code == 2
    assert "not written" in result.output
    assert path.read_text() == BAD_RELU
    assert [p.name for p in project.iterdir() if "gradlint-tmp" in p.name] == []


# -- discovery and configuration: links, aliases, special files, directories, patterns ---

def gradlint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """gradlint in a child process, so that a hang fails the test (timeout) instead of the suite."""
    return subprocess.run([sys.executable, "-m", "gradlint", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def reported(result, cwd: Path) -> list[str]:
    """The files a JSON report names (absolute there), relative to `cwd`, in report order."""
    return [os.path.relpath(d["filename"], cwd) for d in findings(result)]


def git_init(directory: Path) -> None:
    subprocess.run(["git", "init", "-q", str(directory)], check=True, capture_output=True)


@pytest.fixture()
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose tree holds a file link and a directory link to files outside it."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    (project / "vendor").mkdir(parents=True)
    outside.mkdir()
    (project / "pyproject.toml").write_text("[tool.gradlint]\n")
    (project / "good.py").write_text(BAD_RELU)
    (outside / "precious.py").write_text(BAD_RELU)
    (project / "model.py").symlink_to("../outside/precious.py")
    (project / "vendor" / "lib").symlink_to("../../outside")
    return project, outside


def test_fix_write_never_follows_links_out_of_the_tree(linked):
    project, outside = linked
    result = cli("fix", "--write", "--no-cache", ".", cwd=project)
    assert result.exit_code == 0, result.output
    assert (project / "good.py").read_text() == FIXED_RELU
    assert (outside / "precious.py").read_text() == BAD_RELU


def test_a_link_out_of_the_tree_is_still_checked_when_named(linked):
    project, _ = linked
    result = cli("check", "--no-cache", "--output-format", "json", ".", "model.py", cwd=project)
    assert sorted(reported(result, project)) == ["good.py", "model.py"]


def test_links_inside_the_checked_roots_are_followed(tmp_path: Path):
    (tmp_path / "src").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "blocks.py").write_text(BAD_RELU)
    (tmp_path / "src" / "blocks").symlink_to("../shared")
    result = cli("check", "--no-cache", "--output-format", "json", "src", "shared", cwd=tmp_path)
    # shared/ is a root too: the link into it is taken (and blocks.py reported once).
    assert reported(result, tmp_path) == ["src/blocks/blocks.py"]
    alone = cli("check", "--no-cache", "--output-format", "json", "src", cwd=tmp_path)
    assert (alone.exit_code, reported(alone, tmp_path)) == (0, [])


@pytest.mark.parametrize("paths", [("m.py", "../w/m.py"), ("m.py", "alias.py"), (".",)])
def test_one_file_reached_by_two_paths_is_checked_and_reported_once(tmp_path: Path, paths):
    work = tmp_path / "w"
    work.mkdir()
    (work / "m.py").write_text(BAD_RELU)
    (work / "alias.py").symlink_to("m.py")
    result = cli("check", "--no-cache", "--output-format", "json", *paths, cwd=work)
    assert result.exit_code == 1
    first = "alias.py" if paths == (".",) else "m.py"  # the first name it was reached by
    assert reported(result, work) == [first]


def test_fix_write_through_two_names_of_one_file_fixes_it_once(tmp_path: Path):
    work = tmp_path / "w"
    work.mkdir()
    (work / "m.py").write_text(BAD_RELU)
    result = cli("fix", "--write", "--no-cache", "m.py", "../w/m.py", cwd=work)
    assert result.exit_code == 0, result.output
    assert "changed on disk" not in result.output
    assert (work / "m.py").read_text() == FIXED_RELU


def test_a_fifo_named_explicitly_is_gl002_and_never_opened(project: Path):
    os.mkfifo(project / "pipe.py")
    result = gradlint("check", "--no-cache", "pipe.py", "good.py", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "pipe.py:1:1: GL002 not a regular file (FIFO)" in result.stdout
    assert "good.py:2:" in result.stdout  # the other file is still checked


def test_a_socket_named_explicitly_is_gl002_and_walks_pass_special_files_by(project: Path):
    import socket

    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(project / "server.py"))
        os.mkfifo(project / "walked.py")
        result = gradlint("check", "--no-cache", "server.py", ".", cwd=project)
    finally:
        server.close()
    assert result.returncode == 2, result.stderr
    assert "server.py:1:1: GL002 not a regular file (socket)" in result.stdout
    assert "walked.py" not in result.stdout and "good.py:2:" in result.stdout


@pytest.mark.parametrize("command", [("check",), ("fix", "--write")])
def test_a_device_named_explicitly_is_gl002(project: Path, command: tuple[str, ...]):
    (project / "zero.py").symlink_to("/dev/zero")
    result = gradlint(*command, "--no-cache", "zero.py", "/dev/null", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "zero.py:1:1: GL002 not a regular file (character device)" in result.stdout
    assert "/dev/null:1:1: GL002 not a regular file (character device)" in result.stdout


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: os.mkfifo(p), id="fifo"),
    pytest.param(lambda p: p.symlink_to("/dev/zero"), id="dev-zero"),
    pytest.param(lambda p: p.write_text("*.log\n" * 200_000), id="over-1MB"),
])
def test_a_gitignore_that_is_not_a_small_regular_file_is_ignored_with_a_warning(project: Path, make):
    git_init(project)
    make(project / ".gitignore")
    result = gradlint("check", "--no-cache", ".", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "good.py:2:" in result.stdout
    assert [l for l in result.stderr.splitlines() if l.startswith("warning: .gitignore: ")], result.stderr
    assert "Traceback" not in result.stderr


BAD_PATTERNS = ["\\", "foo\\", "[z-a]", "a/[z-a]", "!"]


def test_invalid_gitignore_patterns_are_warnings_naming_file_and_line(project: Path):
    git_init(project)
    (project / "skipped.py").write_text(BAD_RELU)
    (project / ".gitignore").write_text("# patterns git accepts\n" + "\n".join(BAD_PATTERNS) + "\nskipped.py\n")
    result = cli("check", "--no-cache", "--output-format", "json", cwd=project)
    assert result.exit_code == 1, result.output
    assert reported(result, project) == ["good.py"]  # the valid pattern still applies
    warnings = [l for l in result.stderr.splitlines() if l.startswith("warning:")]
    assert [w.split(" ", 2)[1] for w in warnings] == [f".gitignore:{n}:" for n in range(2, 7)]
    assert all("skipped" in w for w in warnings)
    assert "'[z-a]'" in warnings[2]


@pytest.mark.parametrize("pattern", BAD_PATTERNS)
@pytest.mark.parametrize("key", ["exclude", "extend-exclude", "per-file-ignores"])
def test_invalid_patterns_in_the_configuration_are_errors_naming_key_and_pattern(project: Path, key: str,
                                                                                 pattern: str):
    quoted = json.dumps(pattern)  # a TOML basic string
    value = f"{{ {quoted} = [\"GL101\"] }}" if key == "per-file-ignores" else f"[{quoted}]"
    (project / "pyproject.toml").write_text(f"[tool.gradlint]\n{key} = {value}\n")
    result = cli("check", "--no-cache", cwd=project)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "pyproject.toml" in message
    assert f"[tool.gradlint] {key}: invalid pattern {pattern!r}" in message
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_malformed_pyproject_without_gradlint_above_the_path_is_skipped_with_a_warning(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\nignore = ["GL101"]\n')
    middle = tmp_path / "lab"
    (middle / "exp").mkdir(parents=True)
    (middle / "pyproject.toml").write_text("tool = 5\n")
    (middle / "exp" / "pyproject.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    (middle / "exp" / "model.py").write_text(BAD_RELU)
    result = cli("check", "--no-cache", "--select", "GL", "model.py", cwd=middle / "exp")
    assert result.exit_code == 0, result.output  # the configuration above both was found: GL101 ignored
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2, result.stderr
    assert warnings[0].startswith(f"warning: {middle / 'exp' / 'pyproject.toml'}: ")
    assert warnings[1].startswith(f"warning: {middle / 'pyproject.toml'}: ")
    assert all(w.endswith("skipped") for w in warnings)


@pytest.mark.parametrize("config", [
    pytest.param("[tool.gradlint]\nselect = " + "[" * 5000 + "]" * 5000 + "\n", id="deeply-nested"),
    pytest.param("[tool.gradlint]\nselect = ['GL']\n[project\n", id="bad-syntax-elsewhere"),
    pytest.param("[tool.gradlint]\nselect = ['\xe9']\n".encode("latin-1"), id="not-utf-8"),
])
def test_a_malformed_gradlint_table_stays_a_configuration_error(project: Path, config):
    path = project / "pyproject.toml"
    path.write_bytes(config) if isinstance(config, bytes) else path.write_text(config)
    result = cli("check", "--no-cache", "good.py", cwd=project)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: invalid TOML")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_fifo_given_as_config_is_an_error_not_a_hang(project: Path):
    os.mkfifo(project / "settings.toml")
    result = gradlint("check", "--no-cache", "--config", "settings.toml", "good.py", cwd=project)
    assert result.returncode == 2
    assert "settings.toml: not a regular file (FIFO)" in result.stderr


def _unreadable(monkeypatch, name: str) -> None:
    """os.scandir fails for directories called `name`, as for mode 000 (which root can read)."""
    real = os.scandir

    def scandir(path="."):
        if os.path.basename(os.fspath(path)) == name:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_subdirectory_is_gl002_naming_it(project: Path, monkeypatch):
    (project / "private").mkdir()
    (project / "private" / "model.py").write_text(BAD_RELU)
    _unreadable(monkeypatch, "private")
    result = cli("check", "--no-cache", ".", cwd=project)
    assert result.exit_code == 2
    assert "private:1:1: GL002 cannot read directory: permission denied" in result.output
    assert "good.py:2:" in result.output  # the rest is still checked


def test_an_unreadable_directory_named_explicitly_is_gl002(project: Path, monkeypatch):
    (project / "private").mkdir()
    _unreadable(monkeypatch, "private")
    result = cli("check", "--no-cache", "--output-format", "json", "private", "good.py", cwd=project)
    assert result.exit_code == 2
    assert sorted(zip(reported(result, project), (d["code"] for d in findings(result)))) == [
        ("good.py", "GL101"), ("private", "GL002")]


def test_a_directory_past_the_path_length_limit_is_gl002(project: Path):
    """Directories nested until their path is longer than PATH_MAX: a real ENAMETOOLONG."""
    deep = os.open(project, os.O_RDONLY)
    try:
        for _ in range(24):  # 24 × 201 bytes > 4,096
            os.mkdir("d" * 200, dir_fd=deep)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=deep)
            os.close(deep)
            deep = inner
    finally:
        os.close(deep)
    result = cli("check", "--no-cache", ".", cwd=project)
    assert result.exit_code == 2
    line = next(l for l in result.output.splitlines() if "GL002" in l)
    assert line.startswith("d" * 200 + "/") and line.endswith("GL002 cannot read directory: file name too long")
    assert "good.py:2:" in result.output


def test_a_gitignore_outside_any_git_repository_is_not_honoured(tmp_path: Path):
    plain = tmp_path / "plain"
    (plain / "src").mkdir(parents=True)
    (plain / ".gitignore").write_text("*.py\n")
    (plain / "src" / ".gitignore").write_text("model.py\n")
    (plain / "src" / "model.py").write_text(BAD_RELU)
    result = cli("check", "--no-cache", "src", cwd=plain)
    assert result.exit_code == 1 and "src/model.py:2:" in result.output
    git_init(plain)  # the same files inside a repository are honoured
    result = cli("check", "--no-cache", "src", cwd=plain)
    assert result.exit_code == 0 and result.stderr.startswith("warning: no Python files")
