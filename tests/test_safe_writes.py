"""`gradlint fix --write` and `fix -` never lose a byte.

- an edit saved while gradlint writes is never overwritten: the file is re-read just before
  it is replaced;
- bytes outside the fixes never change, whatever the encoding, even where decoding and
  encoding again would change them (cp932, big5, big5hkscs, johab, unicode_escape, …);
- owner, group, mode, extended attributes and hard links are kept;
- read-only files are refused, as an error naming the file (exit 2);
- an interrupt (SIGINT, SIGTERM) during a write leaves the file whole and no temporary file;
- a fix that cannot be applied (broken code, an f-string this Python cannot parse, a text
  the file's encoding cannot hold) never blocks the file's other fixes.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

BAD = b"from tensorflow import keras\nlayer = keras.layers.Dense(64, activation='relu')\n"
FIXED = b"from tensorflow import keras\nlayer = keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal')\n"
CALL = b"activation='relu')"
FIXED_CALL = b"activation='relu', kernel_initializer='he_normal')"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def cli(*args: str, input: bytes | None = None):
    return CliRunner().invoke(main, [*args, "--no-cache"], input=input)


def temp_files(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if "gradlint-tmp" in p.name]


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    path = tmp_path / "model.py"
    path.write_bytes(BAD)
    return path


# -- an edit saved during the write ------------------------------------------------------------

def test_an_edit_saved_while_the_copy_is_flushed_is_kept_and_the_fix_refused(model: Path, monkeypatch):
    """The editor saves between gradlint's fsync and its rename: that edit must survive."""
    real_fsync = os.fsync
    saved = []

    def editor_saves_meanwhile(fd: int) -> None:
        if not saved:
            with model.open("ab") as handle:
                handle.write(b"# saved by the editor\n")
            saved.append(True)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", editor_saves_meanwhile)
    result = cli("fix", "--write", str(model))
    assert saved
    assert result.exit_code == 2
    assert f"{model}: not written: changed on disk" in result.output
    assert model.read_bytes() == BAD + b"# saved by the editor\n"
    assert temp_files(model.parent) == []


def test_an_edit_saved_during_an_in_place_write_is_kept(model: Path, monkeypatch):
    """The same for a hard-linked file, which is rewritten in place rather than replaced."""
    os.link(model, model.parent / "alias.py")
    real_fsync = os.fsync
    saved = []

    def editor_saves_meanwhile(fd: int) -> None:
        real_fsync(fd)
        if not saved:
            with model.open("ab") as handle:
                handle.write(b"# saved by the editor\n")
            saved.append(True)

    monkeypatch.setattr(os, "fsync", editor_saves_meanwhile)
    result = cli("fix", "--write", str(model))
    assert result.exit_code == 2 and "changed on disk" in result.output
    assert model.read_bytes() == BAD + b"# saved by the editor\n"


# -- bytes outside the fixes, in every encoding --------------------------------------------------

def _encoded(cookie: str, body: bytes) -> bytes:
    return f"# -*- coding: {cookie} -*-\n".encode() + body


# Each file spells some character in a way its codec would not write back: decoding and
# encoding the whole file again changes those bytes (cp932 writes ≒ as 81 E0, not 87 90).
NON_ROUND_TRIP = {
    "cp932": _encoded("cp932", b"from tensorflow import keras\n# \x87\x90 NEC row 13, \x87\x54 roman one\n"
                               b"layer = keras.layers.Dense(64, activation='relu')  # \x87\x90\n"),
    "big5": _encoded("big5", b"from tensorflow import keras\n# \xa1\xfe \xa2\x40 \xa2\xcc\n"
                             b"layer = keras.layers.Dense(64, activation='relu')  # \xa2\xcc\n"),
    "big5hkscs": _encoded("big5hkscs", b"from tensorflow import keras\n# \xa2\x7e \xa2\xa1\n"
                                       b"layer = keras.layers.Dense(64, activation='relu')  # \xa2\x7e\n"),
    "johab": _encoded("johab", b"from tensorflow import keras\n# \x84\x42 \x84\x43\n"
                               b"layer = keras.layers.Dense(64, activation='relu')  # \x84\x41\n"),
    "unicode_escape": b"# coding: unicode_escape\nfrom tensorflow import keras\n# caf\\xe9 \\N{BULLET} \\u2192\\tend\n"
                      b"layer = keras.layers.Dense(64, activation='r\\x65lu')  # \\xe9\n",
    "raw_unicode_escape": b"# coding: raw_unicode_escape\nfrom tensorflow import keras\n# caf\\u00e9 \\u2192\n"
                          b"layer = keras.layers.Dense(64, activation='relu')  # \\u00e9\n",
}


@pytest.mark.parametrize("encoding", sorted(NON_ROUND_TRIP))
def test_the_codec_would_change_these_files(encoding: str):
    """What makes the cases below hard: re-encoding the decoded file changes its bytes."""
    data = NON_ROUND_TRIP[encoding]
    assert data.decode(encoding).encode(encoding) != data
    compile(data, "model.py", "exec")  # and Python reads them as the modules they are


@pytest.mark.parametrize("encoding", sorted(NON_ROUND_TRIP))
def test_fix_write_changes_only_the_fixed_bytes_in_any_encoding(tmp_path: Path, encoding: str):
    data = NON_ROUND_TRIP[encoding]
    path = tmp_path / "model.py"
    path.write_bytes(data)
    result = cli("fix", "--write", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == data.replace(CALL, FIXED_CALL).replace(b"r\\x65lu')", b"r\\x65lu', kernel_initializer='he_normal')")


@pytest.mark.parametrize("encoding", sorted(NON_ROUND_TRIP))
def test_fix_on_stdin_changes_only_the_fixed_bytes_in_any_encoding(encoding: str):
    data = NON_ROUND_TRIP[encoding]
    result = CliRunner().invoke(main, ["fix", "--no-cache", "--stdin-filename", "model.py", "-"], input=data)
    assert result.exit_code == 0, result.stderr
    expected = data.replace(CALL, FIXED_CALL).replace(b"r\\x65lu')", b"r\\x65lu', kernel_initializer='he_normal')")
    assert result.stdout_bytes == expected


def test_a_line_a_fix_adds_to_a_unicode_escape_file_is_a_real_line(tmp_path: Path):
    """`unicode_escape` would spell the new line break as the two characters \\n."""
    data = (b"# coding: unicode_escape\nfrom tensorflow import keras\n"
            b"layer = keras.layers.Dense(\n    64,\n    activation='relu',  # caf\\xe9\n)\n")
    path = tmp_path / "model.py"
    path.write_bytes(data)
    assert cli("fix", "--write", str(path)).exit_code == 0
    assert path.read_bytes() == data.replace(b"\\xe9\n", b"\\xe9\n    kernel_initializer='he_normal',\n")


def test_a_bom_and_crlf_are_kept(tmp_path: Path):
    data = b"\xef\xbb\xbf" + BAD.replace(b"\n", b"\r\n")
    path = tmp_path / "model.py"
    path.write_bytes(data)
    assert cli("fix", "--write", str(path)).exit_code == 0
    assert path.read_bytes() == b"\xef\xbb\xbf" + FIXED.replace(b"\n", b"\r\n")


TWO_LAYERS = ("from tensorflow import keras\n# Größe\n"
              "a = keras.layers.Dense(64, activation='relu')\n"
              "b = keras.layers.Dense(64, activation='relu')\n")


def _fix_on_row_also_writes(monkeypatch, row: int, words: str) -> None:
    """GL101's fix for the layer on `row` also writes `words`."""
    from gradlint.diagnostics import Edit, Fix
    from gradlint.rules.init_activation import InitActivationMismatch

    real_check = InitActivationMismatch.check

    def with_comment(self, graph, settings):
        for d in real_check(self, graph, settings):
            if d.location.row == row:
                edit = d.fix.edits[0]
                d = type(d)(**{**d.__dict__, "fix": Fix(d.fix.message, (Edit(edit.content + words, edit.location, edit.end_location),))})
            yield d

    monkeypatch.setattr(InitActivationMismatch, "check", with_comment)


def test_a_fix_the_encoding_cannot_hold_is_refused_and_the_others_applied(tmp_path: Path, monkeypatch):
    _fix_on_row_also_writes(monkeypatch, 4, "  # ≥ 1")  # layer a, below the cookie
    path = tmp_path / "model.py"
    data = ("# -*- coding: latin-1 -*-\n" + TWO_LAYERS).encode("latin-1")
    path.write_bytes(data)
    result = cli("fix", "--write", str(path))
    assert result.exit_code == 2
    assert (f"{path}: fix for GL101 at line 4 not applied: its text '≥' cannot be written in the file's "
            "encoding (iso-8859-1)") in result.output
    assert path.read_bytes() == data.replace(b"b = keras.layers.Dense(64, activation='relu')",
                                             b"b = keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal')")


# -- identity: owner, group, mode, extended attributes, hard links -----------------------------

@pytest.mark.skipif(not IS_ROOT, reason="giving a file to another owner needs root")
def test_owner_and_group_are_kept(model: Path):
    os.chown(model, 1000, 1000)
    assert cli("fix", "--write", str(model)).exit_code == 0
    info = model.stat()
    assert (info.st_uid, info.st_gid) == (1000, 1000)
    assert model.read_bytes() == FIXED


@pytest.mark.parametrize("mode", [0o600, 0o754, 0o2775])
def test_mode_bits_are_kept(model: Path, mode: int):
    model.chmod(mode)
    assert cli("fix", "--write", str(model)).exit_code == 0
    assert stat.S_IMODE(model.stat().st_mode) == mode


def _set_xattr_or_skip(path: Path, name: str, value: bytes) -> None:
    try:
        os.setxattr(path, name, value)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            pytest.skip(f"the file system of {path.parent} does not support {name.split('.')[0]}.* extended attributes")
        raise


@pytest.mark.skipif(not hasattr(os, "setxattr"), reason="extended attributes are a Linux interface")
def test_extended_attributes_are_kept(model: Path):
    _set_xattr_or_skip(model, "user.origin", b"exported from notebook 7")
    _set_xattr_or_skip(model, "user.reviewed-by", b"ana")
    assert cli("fix", "--write", str(model)).exit_code == 0
    assert {n: os.getxattr(model, n) for n in os.listxattr(model) if n.startswith("user.")} == {
        "user.origin": b"exported from notebook 7", "user.reviewed-by": b"ana"}
    assert model.read_bytes() == FIXED


def test_a_hard_linked_file_stays_linked_and_both_names_see_the_fix(model: Path):
    other = model.parent / "copy_for_the_experiment.py"
    os.link(model, other)
    inode = model.stat().st_ino
    assert cli("fix", "--write", str(model)).exit_code == 0
    assert model.stat().st_ino == inode == other.stat().st_ino
    assert model.stat().st_nlink == 2
    assert other.read_bytes() == FIXED
    assert temp_files(model.parent) == []


@contextlib.contextmanager
def as_user(uid: int, gid: int) -> Iterator[None]:
    """Run as another user (effective ids only, so root comes back afterwards)."""
    groups = os.getgroups()
    os.setgroups([])
    os.setegid(gid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)


@pytest.fixture()
def shared_directory() -> Iterator[Path]:
    """A directory any user may write in (pytest's own is root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="gradlint-shared-"))
    directory.chmod(0o777)
    (directory / "pyproject.toml").write_text("[tool.gradlint]\n")
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


@pytest.mark.skipif(not IS_ROOT, reason="acting as another user needs root")
def test_a_file_whose_owner_cannot_be_set_is_rewritten_in_place(shared_directory: Path):
    """User 1000 may write root's file, but cannot give a new file to root: the file keeps
    its inode, and so its owner."""
    path = shared_directory / "model.py"
    path.write_bytes(BAD)
    path.chmod(0o666)
    inode = path.stat().st_ino
    cli("fix", str(path))  # load every module as root: user 1000 cannot read root's Python
    with as_user(1000, 1000):
        result = cli("fix", "--write", str(path))
    assert result.exit_code == 0, result.output
    info = path.stat()
    assert (info.st_uid, info.st_gid, info.st_ino) == (0, 0, inode)
    assert path.read_bytes() == FIXED
    assert temp_files(shared_directory) == []


# -- read-only files -------------------------------------------------------------------------------

def test_a_file_with_no_write_bit_is_refused_even_for_root(model: Path):
    other = model.parent / "other.py"
    other.write_bytes(BAD)
    model.chmod(0o444)
    result = cli("fix", "--write", str(model.parent))
    assert result.exit_code == 2
    assert f"error: {model}: not written: read-only file (mode 0444)" in result.output
    assert model.read_bytes() == BAD
    assert other.read_bytes() == FIXED  # the other files are still fixed


@pytest.mark.skipif(not IS_ROOT, reason="acting as another user needs root")
def test_a_file_the_user_cannot_write_is_refused_though_its_directory_is_writable(shared_directory: Path):
    path = shared_directory / "model.py"
    path.write_bytes(BAD)
    path.chmod(0o644)  # root's; the directory lets anyone rename over it
    cli("fix", str(path))
    with as_user(1000, 1000):
        result = cli("fix", "--write", str(path))
    assert result.exit_code == 2
    assert f"error: {path}: not written: read-only file for this user" in result.output
    assert path.read_bytes() == BAD
    assert path.stat().st_uid == 0


# -- interrupts ---------------------------------------------------------------------------------

def _write(path: Path, data: bytes = FIXED) -> None:
    from gradlint.files import read_source, write_atomic

    write_atomic(read_source(path), data)


@pytest.mark.parametrize("step", ["open", "write", "fsync", "chmod", "replace"])
@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_at_any_step_leaves_the_file_whole_and_no_temporary_file(model: Path, monkeypatch, step, interrupt):
    """An exception (as SIGINT raises, or a SIGTERM handler) wherever it lands: the file is
    the original or the fixed one, and the temporary copy is gone. "open" is the moment the
    copy exists but its creator has not yet returned its name."""
    real = getattr(os, step)

    def interrupted(*args, **kwargs):
        value = real(*args, **kwargs)
        if step != "open" or "gradlint-tmp" in str(args[0]):
            raise interrupt()
        return value

    monkeypatch.setattr(os, step, interrupted)
    with pytest.raises(interrupt):
        _write(model)
    monkeypatch.undo()
    assert model.read_bytes() in (BAD, FIXED)
    assert temp_files(model.parent) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_write_waits_until_the_file_is_written(model: Path, monkeypatch, signum):
    """A real signal, sent while the copy is flushed: the write completes, then the signal
    acts as before (here: raises, as gradlint's handlers do)."""
    class Stop(BaseException):
        pass

    def stop(*_):
        raise Stop()

    previous = signal.signal(signum, stop)
    real_fsync = os.fsync

    def signalled(fd: int) -> None:
        os.kill(os.getpid(), signum)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", signalled)
    try:
        with pytest.raises(Stop):
            _write(model)
    finally:
        signal.signal(signum, previous)
    assert model.read_bytes() == FIXED
    assert temp_files(model.parent) == []


DRIVER = textwrap.dedent("""
    import os, signal, sys
    real_fsync = os.fsync
    def fsync(fd):
        os.kill(os.getpid(), signal.{signal})  # arrives while gradlint writes
        real_fsync(fd)
    os.fsync = fsync
    from gradlint.cli import main
    main(["fix", "--write", "--no-cache", *sys.argv[1:]])
""")


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_real_signal_in_a_real_process_leaves_no_temporary_file(tmp_path: Path, name: str):
    """The process's own handlers (or none: SIGTERM's default kills on the spot) during a
    real `gradlint fix --write`: every file is whole and no temporary file is left."""
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    paths = [tmp_path / f"m{i}.py" for i in range(3)]
    for path in paths:
        path.write_bytes(BAD)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", DRIVER.format(signal=name), *map(str, paths)],
                          cwd=tmp_path, env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode != 0, done.stderr.decode()  # the signal stopped the run
    assert temp_files(tmp_path) == []
    assert all(p.read_bytes() in (BAD, FIXED) for p in paths)
    assert paths[0].read_bytes() == FIXED  # the write the signal landed in was finished


# -- refused fixes do not block the others -------------------------------------------------------

FSTRING = ("from tensorflow import keras\n"
           "layer = keras.layers.Dense(64, activation='relu')\n"
           'print(f"{keras.layers.Dense(32, activation=keras.activations.relu)}")\n')


def _fstring_fix_parses_here() -> bool:
    """Before Python 3.12 an f-string's expression may not reuse its quote (PEP 701)."""
    try:
        ast.parse('f"{g(x="a")}"')
    except SyntaxError:
        return False
    return True


def test_a_layer_call_in_an_f_string_is_not_offered_a_fix_this_python_cannot_parse(tmp_path: Path):
    path = tmp_path / "model.py"
    path.write_text(FSTRING)
    check = cli("check", "--output-format", "concise", str(path))
    lines = check.output.splitlines()
    assert [line.split(" ")[1:3] for line in lines] == [["GL101", "[*]"], ["GL101", "[*]" if _fstring_fix_parses_here() else "Dense"]]
    result = cli("fix", "--write", str(path))
    assert "error" not in result.output
    fixed = path.read_text()
    ast.parse(fixed)
    assert "layer = keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal')\n" in fixed
    if not _fstring_fix_parses_here():
        assert fixed.endswith('print(f"{keras.layers.Dense(32, activation=keras.activations.relu)}")\n')
        assert result.exit_code == 1  # the f-string's finding remains, reported, not an error


def test_a_fix_that_breaks_the_code_is_refused_and_the_others_still_applied(tmp_path: Path, monkeypatch):
    _fix_on_row_also_writes(monkeypatch, 3, "(")  # layer a's fix now leaves a bracket open
    path = tmp_path / "model.py"
    path.write_text(TWO_LAYERS)
    result = cli("fix", "--write", str(path))
    assert result.exit_code == 2
    assert f"{path}: internal error: fix for GL101 produced invalid code" in result.output
    assert path.read_text() == TWO_LAYERS.replace("b = keras.layers.Dense(64, activation='relu')",
                                                  "b = keras.layers.Dense(64, activation='relu', kernel_initializer='he_normal')")


# -- wide encodings --------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding, name", [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")])
def test_a_utf16_or_utf32_file_is_reported_as_such_not_as_binary(tmp_path: Path, encoding: str, name: str):
    path = tmp_path / "model.py"
    text = BAD.decode()
    path.write_bytes(("\ufeff" + text).encode(encoding) if encoding.endswith("-be") else text.encode(encoding))
    result = cli("check", "--output-format", "concise", str(path))
    assert result.exit_code == 2
    assert f"GL002 cannot read file: {name} encoded (byte order mark)" in result.output
    assert "binary" not in result.output


@pytest.mark.skipif(not IS_ROOT, reason="acting as another user needs root")
def test_a_writable_file_in_a_directory_the_user_cannot_add_to_is_rewritten_in_place(shared_directory: Path):
    """No copy can be made beside the file, so no rename: the copy is kept in the temporary
    directory and the file rewritten in place."""
    locked = shared_directory / "locked"
    locked.mkdir(mode=0o755)
    path = locked / f"model_{os.getpid()}.py"
    path.write_bytes(BAD)
    os.chown(path, 1000, 1000)
    inode = path.stat().st_ino
    cli("fix", str(path))
    with as_user(1000, 1000):
        result = cli("fix", "--write", str(path))
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == FIXED
    assert (path.stat().st_ino, path.stat().st_uid) == (inode, 1000)
    assert [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(f".{path.name}.")] == []
