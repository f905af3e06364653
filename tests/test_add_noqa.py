"""`gradlint check --add-noqa`: adopting gradlint in code that has findings today."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from gradlint.cli import main

LEGACY = textwrap.dedent("""\
    import keras
    from keras import layers


    def build():
        model = keras.Sequential([
            layers.Dense(64, activation="relu", kernel_initializer="glorot_uniform"),
            layers.Dense(64, activation="tanh", kernel_initializer="he_normal"),
            layers.LSTM(32),
        ])
        model.compile(optimizer="adam", loss="mse")
        return model
""")


def cli(*args: str):
    return CliRunner().invoke(main, [*args, "--no-cache"])


def add_noqa(path: Path):
    return cli("check", "--add-noqa", str(path))


def check(path: Path):
    return cli("check", str(path))


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project whose lines may be 120 long: the comments fit on LEGACY's lines."""
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\nline-length = 120\n")
    return tmp_path


def test_round_trip_add_then_clean_then_nothing_to_add(project: Path):
    path = project / "model.py"
    path.write_text(LEGACY)
    assert check(path).exit_code == 1
    result = add_noqa(path)
    assert result.exit_code == 0, result.output
    assert "Added 3 noqa directives." in result.stderr
    added = path.read_text()
    assert added == (LEGACY
                     .replace('"glorot_uniform"),', '"glorot_uniform"),  # noqa: GL101')
                     .replace('"he_normal"),', '"he_normal"),  # noqa: GL101')
                     .replace('loss="mse")', 'loss="mse")  # noqa: GL201'))
    clean = check(path)
    assert clean.exit_code == 0 and clean.stdout == ""
    again = add_noqa(path)
    assert again.exit_code == 0
    assert "Added 0 noqa directives." in again.stderr
    assert path.read_text() == added


def test_codes_merge_with_an_existing_noqa_and_other_comments_stay(project: Path):
    path = project / "model.py"
    path.write_text(LEGACY
                    .replace('"glorot_uniform"),', '"glorot_uniform"),  # noqa: E501')
                    .replace('"he_normal"),', '"he_normal"),  # type: ignore')
                    .replace('loss="mse")', 'loss="mse")  # fmt: skip'))
    assert add_noqa(path).exit_code == 0
    text = path.read_text()
    assert 'kernel_initializer="glorot_uniform"),  # noqa: E501, GL101\n' in text
    assert 'kernel_initializer="he_normal"),  # type: ignore  # noqa: GL101\n' in text
    assert 'loss="mse")  # noqa: GL201  # fmt: skip\n' in text
    assert check(path).exit_code == 0


def test_two_findings_on_one_line_share_one_directive(project: Path):
    path = project / "model.py"
    path.write_text("import keras\n"
                    "m = keras.Sequential([keras.layers.LSTM(8), keras.layers.Dense(4, activation='relu')])\n"
                    "m.compile(optimizer='adam', loss='mse')\n")
    result = add_noqa(path)
    assert "Added 2 noqa directives." in result.stderr
    lines = path.read_text().splitlines()
    assert lines[1].endswith("  # noqa: GL101")
    assert lines[2].endswith("  # noqa: GL201")
    assert check(path).exit_code == 0


BLACK_FORMATTED = textwrap.dedent("""\
    import keras
    from keras import layers


    def build(units: int = 64) -> keras.Model:
        model = keras.Sequential(
            [
                layers.Dense(
                    units,
                    activation="relu",
                    kernel_initializer="glorot_uniform",
                    name="hidden",
                ),
                layers.LSTM(32),
            ]
        )
        model.compile(
            optimizer="adam",
            loss="mse",
        )
        return model
""")


def _black_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "black", "--check", "--diff", "-q", str(path)],
                          capture_output=True, text=True, check=False)


def test_a_multi_line_call_formatted_by_black_gets_its_comment_on_the_first_line(project: Path):
    path = project / "model.py"
    path.write_text(BLACK_FORMATTED)
    assert _black_check(path).returncode == 0
    assert add_noqa(path).exit_code == 0
    text = path.read_text()
    assert "            layers.Dense(  # noqa: GL101\n" in text
    assert check(path).exit_code == 0
    black = _black_check(path)
    assert black.returncode == 0, black.stdout  # black leaves the comments where they work
    assert check(path).exit_code == 0


def _notebook(*cells: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Model")] + [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def test_notebooks_get_comments_in_their_cells_only(project: Path):
    path = project / "train.ipynb"
    nb = _notebook("import keras\n%matplotlib inline",
                   "model = keras.Sequential([\n    keras.layers.LSTM(8),\n"
                   "    keras.layers.Dense(4, activation='relu'),\n])",
                   "!nvidia-smi\nmodel.compile(optimizer='adam', loss='mse')")
    nbformat.write(nb, path)
    before = path.read_text()
    result = add_noqa(path)
    assert result.exit_code == 0, result.output
    assert "Added 2 noqa directives." in result.stderr
    after = nbformat.read(path, as_version=4)
    assert after.cells[2].source == ("model = keras.Sequential([\n    keras.layers.LSTM(8),\n"
                                     "    keras.layers.Dense(4, activation='relu'),  # noqa: GL101\n])")
    assert after.cells[3].source == "!nvidia-smi\nmodel.compile(optimizer='adam', loss='mse')  # noqa: GL201"
    # Only the two source lines changed in the JSON.
    changed = [(a, b) for a, b in zip(before.splitlines(), path.read_text().splitlines()) if a != b]
    assert len(changed) == 2 and len(before.splitlines()) == len(path.read_text().splitlines())
    assert check(path).exit_code == 0
    add_noqa(path)
    assert nbformat.read(path, as_version=4) == after


def test_crlf_line_endings_are_kept(project: Path):
    path = project / "model.py"
    data = LEGACY.replace("\n", "\r\n").encode()
    path.write_bytes(data)
    assert add_noqa(path).exit_code == 0
    new = path.read_bytes()
    assert new.count(b"\r\n") == data.count(b"\r\n") and b"\n" not in new.replace(b"\r\n", b"")
    assert b'loss="mse")  # noqa: GL201\r\n' in new
    assert check(path).exit_code == 0


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "cp932"])
def test_a_file_in_another_encoding_keeps_every_other_byte(project: Path, encoding: str):
    comment = {"latin-1": "# Größe\n", "cp1252": "# café €\n", "cp932": "# 日本語 ≒\n"}[encoding]
    text = f"# -*- coding: {encoding} -*-\n{comment}{LEGACY}"
    data = text.encode(encoding)
    path = project / "model.py"
    path.write_bytes(data)
    assert add_noqa(path).exit_code == 0
    new = path.read_bytes()
    assert new.startswith(data[:data.index(b"import keras")])  # the cookie and comment, byte for byte
    assert new == data.replace(b'"glorot_uniform"),', b'"glorot_uniform"),  # noqa: GL101') \
        .replace(b'"he_normal"),', b'"he_normal"),  # noqa: GL101') \
        .replace(b'loss="mse")', b'loss="mse")  # noqa: GL201')
    assert check(path).exit_code == 0


def test_a_line_ending_inside_a_multi_line_string_is_skipped_and_said(project: Path):
    path = project / "model.py"
    source = ('import keras\n'
              'layer = keras.layers.Dense(4, activation="relu", name="""first\n'
              'layer""")\n')
    path.write_text(source)
    result = add_noqa(path)
    assert result.exit_code == 0
    assert path.read_text() == source
    assert "model.py: GL101 on line 2 not suppressed: it ends inside a multi-line string" in result.stderr
    assert "Added 0 noqa directives." in result.stderr


def test_a_line_continued_by_a_backslash_is_skipped(project: Path):
    path = project / "model.py"
    source = 'import keras\nlayer = keras.layers.Dense(4, activation="relu") \\\n    if True else None\n'
    path.write_text(source)
    result = add_noqa(path)
    assert path.read_text() == source
    assert "line continuation" in result.stderr


def test_a_read_only_file_is_refused_and_left_alone(project: Path):
    path = project / "model.py"
    path.write_text(LEGACY)
    path.chmod(stat.S_IRUSR)
    try:
        result = add_noqa(path)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert result.exit_code == 2
    assert "not written: read-only file" in result.stderr
    assert path.read_text() == LEGACY


def test_a_file_that_does_not_parse_is_reported_and_the_others_still_get_comments(project: Path):
    (project / "broken.py").write_text("import keras\nmodel = keras.Sequential([\n")
    good = project / "model.py"
    good.write_text(LEGACY)
    result = cli("check", "--add-noqa", str(project))
    assert result.exit_code == 2
    assert "broken.py:" in result.stderr and "GL001" in result.stderr
    assert "Added 3 noqa directives." in result.stderr
    assert check(good).exit_code == 0


def test_add_noqa_does_not_take_standard_input():
    result = CliRunner().invoke(main, ["check", "--add-noqa", "-"], input=b"import keras\n")
    assert result.exit_code == 2


TOO_LONG_WITH_A_COMMENT = textwrap.dedent("""\
    import keras
    from keras import layers


    def build() -> keras.Model:
        model = keras.Sequential()
        model.add(layers.Dense(64, activation="relu", kernel_initializer="glorot_uniform"))
        model.add(layers.LSTM(32))
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model
""")


def test_a_comment_that_would_make_the_line_too_long_goes_where_black_keeps_it(tmp_path: Path):
    """Appended, the comments would pass 88 characters, and black would move them to each
    call's last line, away from the line gradlint reads them on: the line is laid out as a
    fix lays it out, and the comment goes on the line where the finding now starts."""
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    path = tmp_path / "model.py"
    path.write_text(TOO_LONG_WITH_A_COMMENT)
    assert _black_check(path).returncode == 0
    assert "Added 2 noqa directives." in add_noqa(path).stderr
    text = path.read_text()
    assert "        layers.Dense(  # noqa: GL101\n            64,\n" in text
    assert '        optimizer="adam",  # noqa: GL201\n' in text
    assert max(len(line) for line in text.splitlines()) <= 88
    black = _black_check(path)
    assert black.returncode == 0, black.stdout
    assert check(path).exit_code == 0
    assert "Added 0 noqa directives." in add_noqa(path).stderr


def test_a_notebook_with_a_half_written_cell_gets_comments_in_its_other_cells(project: Path):
    path = project / "train.ipynb"
    nbformat.write(_notebook("import keras\nmodel = keras.Sequential([keras.layers.LSTM(8), keras.layers.Dense(1)])",
                             "model.compile(optimizer='adam', loss='mse')",
                             "model.fit("), path)
    result = add_noqa(path)
    assert result.exit_code == 2  # one cell could not be checked: said, as check says it
    assert "GL001" in result.stderr
    assert "Added 1 noqa directive." in result.stderr
    cells = nbformat.read(path, as_version=4).cells
    assert cells[2].source == "model.compile(optimizer='adam', loss='mse')  # noqa: GL201"
    assert cells[3].source == "model.fit("


def test_a_line_with_a_comment_too_long_for_the_directive_keeps_both_on_the_first_line(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent("""\
        import tensorflow as tf

        model = tf.keras.Sequential(
            [
                tf.keras.layers.Flatten(),
                tf.keras.layers.Dense(units=64, activation="relu"),  # the hidden layer
                tf.keras.layers.Dense(units=10, activation="softmax"),
            ]
        )
    """))
    assert _black_check(path).returncode == 0
    add_noqa(path)
    assert ("        tf.keras.layers.Dense(  # the hidden layer  # noqa: GL101\n"
            "            units=64,\n") in path.read_text()
    assert _black_check(path).returncode == 0
    assert check(path).exit_code == 0
