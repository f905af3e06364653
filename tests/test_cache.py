"""The result cache touches only what is provably its own, and trusts nothing it reads back.

- It writes only into a directory it created or adopted empty, marked by its CACHEDIR.TAG;
  a non-empty directory without that marker gets one warning and no cache for the run.
- It deletes only its own files there: by name *and* by the header that names gradlint.
- `cache-dir` in a pyproject.toml must lie inside that file's directory; `--cache-dir` and
  GRADLINT_CACHE_DIR may go anywhere, relative to the current directory.
- A damaged entry is dropped and recomputed, never fatal; a failed write leaves no temp file.
"""

from __future__ import annotations

import errno
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gradlint import cache as cache_module
from gradlint.cli import main
from gradlint.config import Settings
from gradlint.diagnostics import Diagnostic

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
DAY = 86400
# Findings with and without fixes, in a script and in a notebook, and a clean file.
SAMPLE = ("mnist_mlp.py", "deep_sigmoid_mlp.py", "colab_cifar_cnn.ipynb", "clean_model.py")


# A results file's name covers gradlint's own sources; pinned here, so that the file a test
# damages is the one the next run reads even while gradlint's sources are being edited.
PIN_SOURCES = "import gradlint.cache\ngradlint.cache._code_fingerprint = lambda: 'pinned'\n"


@pytest.fixture(autouse=True)
def pinned_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "_code_fingerprint", lambda: "pinned")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A repository with Keras files and notebooks, beside a user's `experiments` directory
    holding files of their own that happen to be named like gradlint's."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in SAMPLE:
        shutil.copy(FIXTURES / name, repo / name)
    (repo / "pyproject.toml").write_text("[tool.gradlint]\n")
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    for name in ("results-run1.json", "results-final.json"):
        (experiments / name).write_text('{"accuracy": 0.93, "epochs": 40}\n')
    (experiments / "notes.txt").write_text("run1 diverged after epoch 12\n")
    age(*experiments.iterdir(), days=60)
    return repo


def age(*paths: Path, days: float) -> None:
    when = time.time() - days * DAY
    for path in paths:
        os.utime(path, (when, when), follow_symlinks=False)


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every entry of a directory, with its bytes and mtime: what 'untouched' means."""
    return {p.name: (p.read_bytes() if p.is_file() else b"", p.lstat().st_mtime_ns) for p in directory.iterdir()}


def gradlint(*args: str, cwd: Path, env: dict[str, str] | None = None,
             prelude: str = "") -> subprocess.CompletedProcess[str]:
    """A real `python3 -m gradlint` run (or, with a prelude, the same CLI after the prelude
    has run in that process), with no cache directory inherited from the environment."""
    environ = {k: v for k, v in os.environ.items() if k != "GRADLINT_CACHE_DIR"}
    environ.update(env or {})
    if prelude:
        script = f"{prelude}\nimport sys\nfrom gradlint.cli import main\nsys.argv = ['gradlint', *{list(args)!r}]\nmain()\n"
        command = [sys.executable, "-c", script]
    else:
        command = [sys.executable, "-m", "gradlint", *args]
    return subprocess.run(command, check=False, cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)


def cli(*args: str, env: dict[str, str | None] | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env={"GRADLINT_CACHE_DIR": None, **(env or {})})


def findings(result: Any) -> list[dict]:
    """The JSON findings of a run, in process or not (standard output only)."""
    return json.loads(result.stdout)


def results_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("results-*.json"))


# --- The cache deletes only its own files, and only in its own directory --------------------


@pytest.mark.parametrize("value", [
    "../experiments",
    "{experiments}",  # absolute, outside the repository
    "models/../../experiments",
    "outside-link",  # a link inside the repository to the experiments directory
    ".",  # the repository itself
])
def test_a_configured_cache_dir_outside_the_project_is_a_configuration_error(project: Path, value: str):
    experiments = project.parent / "experiments"
    (project / "outside-link").symlink_to(experiments, target_is_directory=True)
    value = value.format(experiments=experiments)
    config = project / "pyproject.toml"
    config.write_text(f"[tool.gradlint]\ncache-dir = {json.dumps(value)}\n")
    before, repo_before = snapshot(experiments), snapshot(project)

    result = gradlint("check", ".", cwd=project)

    assert result.returncode == 2, result.stderr
    assert str(config) in result.stderr and "cache-dir" in result.stderr
    assert "inside" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(experiments) == before
    assert snapshot(project) == repo_before


@pytest.mark.parametrize("value", ["", "a\u0000b", 5])
def test_an_empty_or_impossible_configured_cache_dir_is_a_configuration_error(project: Path, value: Any):
    config = project / "pyproject.toml"
    config.write_text(f"[tool.gradlint]\ncache-dir = {json.dumps(value)}\n")
    before = snapshot(project)

    result = gradlint("check", ".", cwd=project)

    assert result.returncode == 2, result.stderr
    assert str(config) in result.stderr and "cache-dir" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(project) == before  # no results file in the project root


def test_a_users_old_results_files_survive_a_command_line_cache_dir(project: Path):
    experiments = project.parent / "experiments"
    before = snapshot(experiments)
    without_cache = gradlint("check", "--no-cache", "--output-format", "json", ".", cwd=project)

    result = gradlint("check", "--cache-dir", "../experiments", "--output-format", "json", ".", cwd=project)

    assert snapshot(experiments) == before  # nothing deleted, nothing written, no marker added
    assert result.returncode == without_cache.returncode == 1
    assert findings(result) == findings(without_cache)
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: ") and str(experiments) in warning and "CACHEDIR.TAG" in warning


def test_a_refused_cache_dir_is_warned_about_once_across_configurations(project: Path):
    """A sub-project has a cache of its own (other settings, another results file); both
    name the one foreign --cache-dir, which is refused once, in one warning."""
    experiments = project.parent / "experiments"
    before = snapshot(experiments)
    sub = project / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[tool.gradlint]\nclip = "clipvalue"\n')
    shutil.copy(FIXTURES / "deep_sigmoid_mlp.py", sub / "deep_sigmoid_mlp.py")

    result = gradlint("check", "--cache-dir", "../experiments", "--output-format", "json", ".", cwd=project)

    assert snapshot(experiments) == before
    checked = {Path(f["filename"]).resolve() for f in findings(result)}
    assert {project.resolve() / "deep_sigmoid_mlp.py", sub.resolve() / "deep_sigmoid_mlp.py"} <= checked
    [warning] = result.stderr.splitlines()
    assert str(experiments) in warning and "CACHEDIR.TAG" in warning


def test_cache_dir_dot_leaves_the_current_directory_alone(project: Path):
    (project / "results-final.json").write_text('{"mine": true}\n')
    age(project / "results-final.json", days=60)
    before = snapshot(project)

    result = gradlint("check", "--cache-dir", ".", ".", cwd=project)

    assert result.returncode == 1
    assert snapshot(project) == before
    assert "warning: " in result.stderr and str(project) in result.stderr


@pytest.mark.parametrize("marker", [
    None,  # a directory of the user's
    f"{SIGNATURE}\n# This file is a cache directory tag created by ruff.\n",  # another tool's cache
    "link",  # gradlint's marker, but a link to one elsewhere
])
def test_a_non_empty_directory_without_gradlints_marker_is_not_adopted(project: Path, tmp_path: Path,
                                                                       marker: str | None):
    cached = tmp_path / "ours"
    cli("check", "--cache-dir", str(cached), str(project))  # a genuine gradlint cache directory
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "data.bin").write_bytes(b"\x00\x01")
    if marker == "link":
        (theirs / "CACHEDIR.TAG").symlink_to(cached / "CACHEDIR.TAG")
    elif marker is not None:
        (theirs / "CACHEDIR.TAG").write_text(marker)
    before = snapshot(theirs)

    result = gradlint("check", "--cache-dir", str(theirs), ".", cwd=project)

    assert result.returncode == 1
    assert snapshot(theirs) == before
    assert result.stderr.count("warning: ") == 1 and str(theirs) in result.stderr


def test_a_new_cache_directory_is_marked_and_ignored_by_git(project: Path):
    assert gradlint("check", ".", cwd=project).returncode == 1
    directory = project / ".gradlint_cache"
    tag = (directory / "CACHEDIR.TAG").read_text()
    assert tag.startswith(SIGNATURE + "\n") and "created by gradlint" in tag
    assert (directory / ".gitignore").read_text().splitlines()[-1] == "*"
    [results] = results_files(directory)
    assert results.read_bytes().startswith(b'{"gradlint":"result-cache",')


def test_an_existing_empty_directory_is_adopted(project: Path, tmp_path: Path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    cold = cli("check", "--output-format", "json", "--cache-dir", str(empty), str(project))
    assert (empty / "CACHEDIR.TAG").read_text().startswith(SIGNATURE) and results_files(empty)

    monkeypatch.setattr("ast.parse", lambda *a, **k: pytest.fail("a warm run must not parse"))
    warm = cli("check", "--output-format", "json", "--jobs", "1", "--cache-dir", str(empty), str(project))
    assert findings(warm) == findings(cold) and warm.stderr == ""


def test_the_parents_of_a_cache_directory_are_not_created(project: Path, tmp_path: Path):
    wanted = tmp_path / "not" / "there" / "cache"

    result = gradlint("check", "--cache-dir", str(wanted), ".", cwd=project)

    assert result.returncode == 1
    assert not (tmp_path / "not").exists()
    assert "warning: " in result.stderr and str(wanted) in result.stderr


def test_a_cache_directory_that_cannot_be_made_does_not_stop_the_check(project: Path):
    blocker = project / "blocked"
    blocker.write_text("a file where the cache directory should be")
    for where in (blocker, blocker / "cache"):
        result = cli("check", "--output-format", "json", "--cache-dir", str(where), str(project))
        assert result.exit_code == 1 and findings(result)
        assert result.stderr.count("warning: ") == 1 and str(where) in result.stderr
    assert blocker.read_text() == "a file where the cache directory should be"


def test_a_configured_cache_dir_inside_the_project_is_used(project: Path):
    (project / ".cache").mkdir()
    (project / "pyproject.toml").write_text('[tool.gradlint]\ncache-dir = ".cache/gradlint"\n')
    result = gradlint("check", ".", cwd=project)
    assert result.returncode == 1 and result.stderr == ""
    assert results_files(project / ".cache" / "gradlint")
    absolute = project / ".cache" / "again"
    (project / "pyproject.toml").write_text(f"[tool.gradlint]\ncache-dir = {json.dumps(str(absolute))}\n")
    assert gradlint("check", ".", cwd=project).returncode == 1
    assert results_files(absolute)


def test_gradlint_deletes_only_its_own_stale_results_files(project: Path, tmp_path: Path):
    """Entries and results files no run has used for 30 days go; lookalikes stay."""
    cache_dir = tmp_path / "cache"
    cli("check", "--jobs", "1", "--cache-dir", str(cache_dir), str(project))
    [current] = results_files(cache_dir)
    data = json.loads(current.read_text())
    today = next(iter(data["entries"].values()))["day"]
    data["entries"]["gone" * 16] = {"path": "deleted.py", "day": today - 31, "diagnostics": []}
    data["entries"]["kept" * 16] = {"path": "elsewhere.py", "day": today - 29, "diagnostics": []}
    current.write_text(json.dumps(data))
    cli("check", "--jobs", "1", "--ignore", "GL101", "--cache-dir", str(cache_dir), str(project))
    [other_settings] = [p for p in results_files(cache_dir) if p != current]
    genuine = other_settings.read_bytes()
    lookalikes = {
        "results-0123456789abcdef.json": b"{}",  # gradlint's name, not its header
        "results-run1.json": genuine,  # gradlint's header, not its name
        "results-fedcba9876543210.json": genuine,  # the header names another file
    }
    for name, content in lookalikes.items():
        (cache_dir / name).write_bytes(content)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(genuine)
    (cache_dir / "results-00000000000000aa.json").symlink_to(elsewhere)
    killed_run = cache_dir / f".results-{other_settings.stem[8:]}.k1ll3d.tmp"
    killed_run.write_bytes(genuine[:100])  # cut short by SIGKILL
    age(*cache_dir.iterdir(), elsewhere, days=40)
    (project / "m00_new.py").write_text("from keras import layers\nx = layers.Dense(4, activation='relu')\n")

    cli("check", "--jobs", "1", "--cache-dir", str(cache_dir), str(project))

    kept = json.loads(current.read_text())["entries"]
    assert "gone" * 16 not in kept and "kept" * 16 in kept
    assert not other_settings.exists() and not killed_run.exists()
    for name, content in lookalikes.items():
        assert (cache_dir / name).read_bytes() == content
    assert (cache_dir / "results-00000000000000aa.json").is_symlink() and elsewhere.read_bytes() == genuine
    assert (cache_dir / "CACHEDIR.TAG").exists() and (cache_dir / ".gitignore").exists()


# --- Where the cache goes ------------------------------------------------------------------


def test_a_relative_cache_dir_on_the_command_line_is_taken_from_the_current_directory(project: Path,
                                                                                     tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    assert gradlint("check", "--cache-dir", "cache", "../repo", cwd=work).returncode == 1
    assert results_files(work / "cache")
    assert not (project / "cache").exists()


def test_GRADLINT_CACHE_DIR_may_go_anywhere_and_the_option_wins(project: Path, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "shared-cache"
    assert gradlint("check", ".", cwd=project, env={"GRADLINT_CACHE_DIR": str(outside)}).returncode == 1
    assert results_files(outside) and not (project / ".gradlint_cache").exists()
    assert gradlint("check", "../repo", cwd=work, env={"GRADLINT_CACHE_DIR": "relative"}).returncode == 1
    assert results_files(work / "relative")
    result = gradlint("check", "--cache-dir", "option", "../repo", cwd=work, env={"GRADLINT_CACHE_DIR": "env"})
    assert result.returncode == 1
    assert results_files(work / "option") and not (work / "env").exists()


@pytest.mark.parametrize("how", ["option", "environment"])
def test_an_empty_cache_dir_on_the_command_line_is_an_error(project: Path, how: str):
    before = snapshot(project)
    if how == "option":
        result = gradlint("check", "--cache-dir", "", ".", cwd=project)
    else:
        result = gradlint("check", ".", cwd=project, env={"GRADLINT_CACHE_DIR": ""})
    assert result.returncode == 2
    assert ("--cache-dir" if how == "option" else "GRADLINT_CACHE_DIR") in result.stderr
    assert "empty" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(project) == before


# --- A damaged cache is dropped, never trusted, never fatal --------------------------------


def _first_finding(entries: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in entries.values() if e["diagnostics"])["diagnostics"][0]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Damage: set one field (dotted path) of one cached finding."""
    def damage(entries: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = _first_finding(entries)
        for name in parents:
            target = target[name]
        target[last] = value
    return damage


def _entry(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], None]:
    """Damage: change one whole entry."""
    def damage(entries: dict[str, Any]) -> None:
        key = next(k for k, e in entries.items() if e["diagnostics"])
        entries[key] = change(entries[key])
    return damage


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"x": [value]}
    return value


DAMAGE = {
    "row as a string": _set("location.row", "3"),
    "column as a float": _set("location.column", 4.0),
    "row as a boolean": _set("end_location.row", True),
    "row zero": _set("location.row", 0),
    "location with an unknown field": _set("location.depth", 1),
    "location missing": lambda entries: _first_finding(entries).pop("location"),
    "extra as a list": _set("extra", ["json_location"]),
    "notebook span of three numbers": _set("extra", {"json_location": [1, 2, 3], "json_end_location": [1, 3]}),
    "extra nested deeply": _set("extra", {"deep": _nested(400)}),
    "code as an integer": _set("code", 101),
    "code as free text": _set("code", "GL101; rm -rf"),
    "message as null": _set("message", None),
    "finding of another file": _set("filename", "elsewhere.py"),
    "cell as a string": _set("cell", "1"),
    "url as a number": _set("url", 5),
    "fix as a string": _set("fix", "add he_normal"),
    "edit content as a number": lambda entries: _set("fix", {"message": "m", "applicability": "safe", "edits": [
        {"content": 5, "location": {"row": 1, "column": 1}, "end_location": {"row": 1, "column": 1}}]})(entries),
    "finding as a list": lambda entries: next(e for e in entries.values() if e["diagnostics"])[
        "diagnostics"].__setitem__(0, ["GL101"]),
    "diagnostics as a table": _entry(lambda e: {**e, "diagnostics": {"0": e["diagnostics"][0]}}),
    "entry as a list": _entry(lambda e: [e]),
    "entry of another path": _entry(lambda e: {**e, "path": "elsewhere.py"}),
    "day as a string": _entry(lambda e: {**e, "day": "today"}),
}


@pytest.fixture(scope="module")
def cold_cache(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes, list[dict]]:
    """A project, its cache after one run, and that run's findings: a baseline to damage."""
    root = tmp_path_factory.mktemp("cached")
    for name in SAMPLE:
        shutil.copy(FIXTURES / name, root / name)
    (root / "pyproject.toml").write_text("[tool.gradlint]\n")
    cache_dir = root.parent / f"{root.name}-cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache_module, "_code_fingerprint", lambda: "pinned")
        cold = cli("check", "--jobs", "1", "--output-format", "json", "--cache-dir", str(cache_dir), str(root))
    [results] = results_files(cache_dir)
    return root, cache_dir, results.read_bytes(), findings(cold)


def _restore(cache_dir: Path, good: bytes) -> Path:
    [results] = results_files(cache_dir)
    results.write_bytes(good)
    return results


def _findings_of(raw: bytes) -> dict[str, tuple[str, list]]:
    """Entries without their day (which a run may refresh): what the cache remembers."""
    return {k: (e["path"], e["diagnostics"]) for k, e in json.loads(raw)["entries"].items()}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_entry_is_dropped_and_recomputed(cold_cache, damage: str):
    root, cache_dir, good, cold = cold_cache
    results = _restore(cache_dir, good)
    data = json.loads(good)
    DAMAGE[damage](data["entries"])
    results.write_text(json.dumps(data))

    warm = cli("check", "--jobs", "1", "--output-format", "json", "--cache-dir", str(cache_dir), str(root))

    assert warm.exit_code == 1, warm.output
    assert findings(warm) == cold and warm.stderr == ""
    assert _findings_of(results.read_bytes()) == _findings_of(good)  # the good entry is back


@pytest.mark.parametrize("where", ["file", "entry"])
def test_a_cache_nested_too_deeply_to_parse_is_dropped(cold_cache, where: str):
    root, cache_dir, good, cold = cold_cache
    results = _restore(cache_dir, good)
    deep = "[" * 200_000 + "]" * 200_000
    if where == "file":
        results.write_text(deep)
    else:
        text = good.decode()
        results.write_text(text.replace('"diagnostics":[', f'"diagnostics":[{deep},', 1))

    warm = gradlint("check", "--jobs", "1", "--output-format", "json", "--cache-dir", str(cache_dir), str(root),
                    cwd=Path.cwd(), prelude=PIN_SOURCES)

    assert warm.returncode == 1 and warm.stderr == ""
    assert findings(warm) == cold
    assert _findings_of(results.read_bytes()) == _findings_of(good)


def test_a_results_file_that_is_not_a_regular_file_is_not_read(cold_cache):
    root, cache_dir, good, cold = cold_cache
    results = _restore(cache_dir, good)
    results.unlink()
    os.mkfifo(results)  # reading it would wait for a writer forever
    warm = gradlint("check", "--jobs", "1", "--output-format", "json", "--cache-dir", str(cache_dir), str(root),
                    cwd=Path.cwd(), prelude=PIN_SOURCES)
    assert warm.returncode == 1 and findings(warm) == cold
    assert results.is_file() and _findings_of(results.read_bytes()) == _findings_of(good)


def test_an_unused_entry_too_deep_to_write_back_is_dropped(tmp_path: Path):
    """Loaded near the top of the stack, an entry no file of the run looks up may be too deep
    for the encoder when the run saves from deeper down; it goes, the others are written."""
    cache = cache_module.ResultCache(tmp_path / "cache", Settings())
    checked = cache.key(b"x = 1\n", "m.py")
    cache.put(checked, "m.py", [])
    cache.save()
    data = json.loads(cache.file.read_bytes())
    day = data["entries"][checked]["day"]
    data["entries"]["deep" * 16] = {"path": "other.py", "day": day, "diagnostics": [_nested(300)]}
    cache.file.write_text(json.dumps(data))

    again = cache_module.ResultCache(tmp_path / "cache", Settings())
    assert again.get(checked, "m.py") == []
    added = again.key(b"y = 2\n", "n.py")
    again.put(added, "n.py", [])
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 150)
    try:
        again.save()
    finally:
        sys.setrecursionlimit(limit)

    assert set(json.loads(again.file.read_bytes())["entries"]) == {checked, added}
    assert [p.name for p in again.directory.iterdir() if p.suffix == ".tmp"] == []


def _sample_finding() -> Diagnostic:
    from gradlint.engine import check_source

    source = (FIXTURES / "mnist_mlp.py").read_text()
    return next(d for d in check_source(source, "mnist_mlp.py", Settings()) if d.fix)


def test_from_dict_reads_back_what_to_dict_wrote():
    finding = _sample_finding()
    assert Diagnostic.from_dict(finding.to_dict()) == finding


@pytest.mark.parametrize("field, value", [
    ("code", 101), ("message", ["m"]), ("filename", None), ("location", [1, 1]),
    ("end_location", {"row": "1", "column": 1}), ("fix", []), ("cell", 1.5), ("url", {}),
    ("extra", []), ("extra", {1: "x"}), ("severity", "fatal"),
])
def test_from_dict_refuses_a_field_of_the_wrong_type(field: str, value: Any):
    data = _sample_finding().to_dict()
    data[field] = value
    with pytest.raises((TypeError, ValueError)):
        Diagnostic.from_dict(data)


# --- A failed write leaves nothing behind --------------------------------------------------

FULL_DISK = PIN_SOURCES + """
import errno, json, os
def full_disk(obj, handle, **options):
    handle.write('{"gradlint":"result-cache","id":')
    handle.flush()
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
json.dump = full_disk
"""


def test_a_full_disk_leaves_no_temp_file_and_the_check_still_works(project: Path, tmp_path: Path):
    cache_dir = tmp_path / "cache"
    without_cache = gradlint("check", "--no-cache", "--output-format", "json", ".", cwd=project)
    for _ in range(2):
        result = gradlint("check", "--output-format", "json", "--cache-dir", str(cache_dir), ".",
                          cwd=project, prelude=FULL_DISK)
        assert result.returncode == without_cache.returncode == 1
        assert findings(result) == findings(without_cache)
        assert sorted(p.name for p in cache_dir.iterdir()) == [".gitignore", "CACHEDIR.TAG"]
        [warning] = result.stderr.splitlines()
        assert warning.startswith("warning: ") and "No space left on device" in warning


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_replace_or_an_interrupt_leaves_no_temp_file(project: Path, tmp_path: Path, monkeypatch,
                                                              failure: BaseException):
    cache_dir = tmp_path / "cache"
    cache = cache_module.ResultCache(cache_dir, Settings())
    cache.put(cache.key(b"x = 1\n", "m.py"), "m.py", [])

    def fail(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(cache_module.os, "replace", fail)
    if isinstance(failure, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            cache.save()
    else:
        cache.save()
    assert sorted(p.name for p in cache_dir.iterdir()) == [".gitignore", "CACHEDIR.TAG"]
