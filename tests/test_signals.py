"""Signals, pipes and worker processes, with real subprocesses and real signals.

gradlint runs as `python -m gradlint` in a session of its own over a tree of a few hundred
generated Keras modules, and is interrupted the ways it is in practice:
- SIGTERM to gradlint alone (`kill PID`, `timeout`, a CI runner) while its workers check;
- SIGINT to the whole process group (Ctrl-C in a terminal);
- SIGKILL to gradlint alone, after which its workers end too (Linux);
- SIGTERM while it writes a long report to a reader that has stopped reading;
- its reader going away after the first line (`gradlint check | head -1`);
- SIGTERM or SIGINT during `fix --write`, at the moment a temporary file exists.

Each time the exit code says what happened (143, 130, 141), no process of its session
outlives it (orphaned workers keep the session; zombies aside, which hold nothing), whatever
reads its output sees the end of it (a generous bound guards against a hang; it is not a
timing claim), and no temporary file is left behind. The number of workers a pool would start
is checked on the function that decides it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import gradlint
from gradlint import parallel

ROOT = Path(gradlint.__file__).resolve().parent.parent
HANG = 120  # seconds: far beyond any of these runs; only a hang reaches it



def _can_see_processes() -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return Path("/proc/self/stat").exists()
    return True


pytestmark = pytest.mark.skipif(not _can_see_processes(), reason="needs psutil or /proc to see processes")


# -- a tree of Keras modules ---------------------------------------------------------------

def keras_module(i: int) -> str:
    """A realistic module: helper blocks, a deep Sequential MLP and a functional model, with
    findings (relu and sigmoid layers on Glorot, no clipping) on many lines."""
    blocks = "".join(f'''

def block_{b}(x):
    x = layers.Conv2D({16 + b * 8}, 3, padding="same", activation="relu")(x)
    x = layers.Dense({64 + b}, activation="sigmoid")(x)
    return layers.Dense({64 + b}, activation="tanh", kernel_initializer="he_normal")(x)
''' for b in range(6))
    dense = "".join(f"        layers.Dense({32 + (i + k) % 7 * 16}, activation='relu'),\n" for k in range(12))
    return f'''"""Model {i}."""
from tensorflow import keras
from tensorflow.keras import layers
{blocks}

def build_mlp():
    model = keras.Sequential([
        keras.Input(shape=({8 + i % 5},)),
{dense}        layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    return model


def build_functional():
    inputs = keras.Input(shape=(32, 32, 3))
    x = block_0(inputs)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs)
'''


def write_tree(directory: Path, count: int) -> dict[str, bytes]:
    """`count` modules in `directory`; name → content."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text("[tool.gradlint]\n")
    files = {f"model_{i:03d}.py": keras_module(i).encode() for i in range(count)}
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return files


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """400 modules: enough that the workers are still busy when the signal comes, and a
    report (some 9,000 findings) far larger than a pipe holds."""
    directory = tmp_path_factory.mktemp("tree")
    write_tree(directory, 400)
    return directory


# -- processes -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    session: int
    zombie: bool


def processes() -> list[Process]:
    """Every process on the machine, from psutil when it is installed, else from /proc."""
    try:
        import psutil
    except ImportError:
        return list(_from_proc())
    found = []
    for p in psutil.process_iter(["pid", "ppid", "status"]):
        try:
            found.append(Process(p.info["pid"], p.info["ppid"], os.getsid(p.info["pid"]),
                                 p.info["status"] == psutil.STATUS_ZOMBIE))
        except (ProcessLookupError, PermissionError):
            continue
    return found


def _from_proc() -> Iterator[Process]:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
        state, ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        yield Process(int(entry), int(ppid), int(session), state == "Z")


def survivors(session: int) -> list[int]:
    """Live processes of the session: a worker orphaned by its parent keeps it."""
    return [p.pid for p in processes() if p.session == session and not p.zombie]


def children(pid: int) -> list[int]:
    return [p.pid for p in processes() if p.ppid == pid and not p.zombie]


@pytest.fixture()
def session_cleanup() -> Iterator[list[int]]:
    """Sessions started by a test; whatever is left of them is killed afterwards, so that a
    failing test does not leave processes behind for the rest of the suite."""
    sessions: list[int] = []
    yield sessions
    for session in sessions:
        for pid in survivors(session):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def start(cwd: Path, *args: str, python: tuple[str, ...] = ("-m", "gradlint")) -> subprocess.Popen[bytes]:
    """gradlint (or other Python code) as a session leader: its session id is its pid."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("NO_COLOR", None)
    return subprocess.Popen([sys.executable, *python, *args], cwd=cwd, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_workers(proc: subprocess.Popen[bytes], count: int) -> None:
    deadline = time.monotonic() + HANG
    while len(children(proc.pid)) < count:
        assert proc.poll() is None, f"gradlint ended (exit {proc.returncode}) before {count} workers started"
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.01)


def read_to_the_end(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Everything gradlint printed, once every holder of its pipes has closed them."""
    try:
        return proc.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail(f"whatever reads gradlint's output never saw its end; still running: {survivors(proc.pid)}")


needs_two_cpus = pytest.mark.skipif(parallel.default_jobs() < 2, reason="a process pool needs 2 CPUs")


# -- interrupting a check -------------------------------------------------------------------

@needs_two_cpus
def test_sigterm_while_workers_check_stops_them_and_exits_143(tree, session_cleanup):
    proc = start(tree, "check", "--no-cache", "-j", "2", ".")
    session_cleanup.append(proc.pid)
    wait_for_workers(proc, 2)
    proc.send_signal(signal.SIGTERM)  # to gradlint alone, as `kill PID` does
    out, err = read_to_the_end(proc)
    assert proc.returncode == 143, err.decode()
    assert survivors(proc.pid) == []
    assert out == b""  # interrupted before the report: nothing that could pass for one
    assert b"interrupted by SIGTERM" in err and b"Traceback" not in err


@needs_two_cpus
def test_ctrl_c_while_workers_check_stops_them_and_exits_130(tree, session_cleanup):
    proc = start(tree, "check", "--no-cache", "-j", "2", ".")
    session_cleanup.append(proc.pid)
    wait_for_workers(proc, 2)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the whole foreground group
    out, err = read_to_the_end(proc)
    assert proc.returncode == 130, err.decode()
    assert survivors(proc.pid) == []
    assert out == b""
    # The workers leave the interrupt to gradlint: no KeyboardInterrupt traceback from each.
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err
    assert err.decode().splitlines() == ["error: interrupted by SIGINT; gradlint stopped before finishing"]


@needs_two_cpus
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ending with the parent is Linux's PR_SET_PDEATHSIG")
def test_workers_end_with_a_parent_killed_outright(tree, session_cleanup):
    proc = start(tree, "check", "--no-cache", "-j", "2", ".")
    session_cleanup.append(proc.pid)
    wait_for_workers(proc, 2)
    proc.kill()  # SIGKILL: no handler runs, nothing is cleaned up by gradlint itself
    out, _ = read_to_the_end(proc)  # the workers hold no copy of the output pipe
    assert proc.returncode == -signal.SIGKILL and out == b""
    deadline = time.monotonic() + HANG
    while survivors(proc.pid):
        assert time.monotonic() < deadline, f"orphaned workers: {survivors(proc.pid)}"
        time.sleep(0.01)


def test_sigterm_while_the_report_is_written_exits_143_and_writes_no_more(tree, session_cleanup):
    proc = start(tree, "check", "--no-cache", ".")
    session_cleanup.append(proc.pid)
    first = proc.stdout.readline()
    assert first.startswith(b"model_000.py:")
    # The report is far larger than the pipe: gradlint is now blocked writing the rest of it.
    proc.send_signal(signal.SIGTERM)
    rest, err = read_to_the_end(proc)
    assert proc.returncode == 143, err.decode()
    lines = (first + rest).splitlines()
    assert not any(line.startswith(b"Found ") for line in lines)  # cut short, and no summary
    assert b"interrupted by SIGTERM" in err
    assert survivors(proc.pid) == []


def test_a_reader_that_stops_reading_ends_gradlint_quietly_with_141(tree, session_cleanup):
    proc = start(tree, "check", "--no-cache", ".")  # | head -1
    session_cleanup.append(proc.pid)
    assert proc.stdout.readline().startswith(b"model_000.py:")
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=HANG) == 141
    assert err == b""  # no traceback, no "Exception ignored", no message at all
    assert survivors(proc.pid) == []


# -- interrupting fix --write ---------------------------------------------------------------

# Runs gradlint with os.fsync wrapped: the first time it is called while a file other than the
# tree's own exists in the tree (gradlint's temporary copy, written and about to replace the
# original), the process sends itself the signal; the signal then arrives at the moment a
# temporary file exists and has not yet been renamed.
SIGNAL_DURING_WRITE = """
import os, signal, sys
tree, name = sys.argv.pop(1), sys.argv.pop(1)
own = set(os.listdir(tree))
real_fsync = os.fsync
sent = []

def fsync(fd):
    real_fsync(fd)
    extra = sorted(set(os.listdir(tree)) - own)
    if extra and not sent:
        sent.append(extra)
        sys.stderr.write("signalled while these existed: %s\\n" % extra)
        sys.stderr.flush()
        os.kill(os.getpid(), getattr(signal, name))

os.fsync = fsync
sys.argv[0] = "gradlint"
from gradlint.cli import main
main()
"""


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_during_fix_write_leaves_no_temporary_file_and_no_half_file(tmp_path, session_cleanup, name, code):
    originals = write_tree(tmp_path / "tree", 40)
    expected = tmp_path / "expected"
    shutil.copytree(tmp_path / "tree", expected)
    done = subprocess.run([sys.executable, "-m", "gradlint", "fix", "--write", "--no-cache", "-j", "1", "."],
                          cwd=expected, capture_output=True, timeout=HANG, check=False)
    assert done.returncode in (0, 1), done.stderr.decode()
    fixed = {n: (expected / n).read_bytes() for n in originals}
    assert all(fixed[n] != originals[n] for n in originals)

    tree = tmp_path / "tree"
    proc = start(tree, str(tree), name, "fix", "--write", "--no-cache", "-j", "1", ".",
                 python=("-c", SIGNAL_DURING_WRITE))
    session_cleanup.append(proc.pid)
    _, err = read_to_the_end(proc)
    assert b"signalled while these existed" in err, err.decode()
    assert proc.returncode == code, err.decode()
    assert sorted(p.name for p in tree.iterdir()) == sorted([*originals, "pyproject.toml"])  # no temp file
    now = {n: (tree / n).read_bytes() for n in originals}
    assert all(now[n] in (originals[n], fixed[n]) for n in originals)  # each file whole: old or new
    assert any(now[n] == originals[n] for n in originals)  # the signal stopped the writing
    assert f"interrupted by {name}".encode() in err


# -- how many workers -------------------------------------------------------------------------

@pytest.mark.parametrize(("jobs", "calls", "cpus", "workers"), [
    (10000, 2000, 4, 4),  # never more than the CPUs...
    (None, 2000, 4, 4),  # ...which is also the default
    (3, 2000, 4, 3),  # fewer when asked
    (10000, 20, 4, 2),  # no more than the work keeps busy: 8 files a worker at least
    (10000, 7, 4, 1),  # too little work for a pool at all
    (2, 10_000, 1, 1),  # one CPU: no pool
])
def test_the_workers_are_capped_at_the_cpus_and_the_work(monkeypatch, jobs, calls, cpus, workers):
    monkeypatch.setattr(parallel, "default_jobs", lambda: cpus)
    assert parallel.worker_count(jobs, calls) == workers


def test_run_parallel_starts_the_pool_with_that_many_workers(monkeypatch):
    started = []

    class RecordingPool:
        """Records the pool size asked for, and runs the calls here."""

        def __init__(self, max_workers: int, **kwargs) -> None:
            started.append(max_workers)

        def map(self, function, items, chunksize=1):
            return map(function, items)

        def shutdown(self, *args, **kwargs) -> None:
            pass

        def __enter__(self) -> RecordingPool:
            return self

        def __exit__(self, *exc_info) -> None:
            pass

    import concurrent.futures

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RecordingPool)
    monkeypatch.setattr(parallel, "default_jobs", lambda: 2)
    calls = [(i,) for i in range(2000)]
    assert parallel.run_parallel(abs, calls, jobs=10000) == list(range(2000))
    assert started == [2]
