"""Notebooks: the code cells are one program, findings point at cell and row, IPython syntax
is never touched, and `fix --write` changes the fixed cells' source and not one other byte."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from gradlint.cli import main
from gradlint.jsonspans import scan
from gradlint.nbsource import serialize_source
from gradlint.notebook import Cell, build_virtual_module, mask_cell, parse_notebook, write_sources

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MNIST = FIXTURES / "mnist_mlp.ipynb"  # written as Jupyter writes: indent 1, sorted keys, ids
COLAB = FIXTURES / "colab_cifar_cnn.ipynb"  # written as Colab writes: indent 2, its own key order
_EXPECT = re.compile(r"#.*\bexpect: ?(GL[0-9]+)")


def cli(*args: str, cwd: Path):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [*args, "--no-cache"])
    finally:
        os.chdir(old)


def expected_markers(path: Path) -> list[tuple[int, int, str]]:
    """(cell, row, code) of every `# expect: CODE` marker in the code cells."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = []
    for index, cell in enumerate(cells, start=1):
        if cell["cell_type"] != "code":
            continue
        for row, line in enumerate("".join(cell["source"]).splitlines(), start=1):
            match = _EXPECT.search(line)
            if match:
                found.append((index, row, match.group(1)))
    return found


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    shutil.copy(MNIST, tmp_path / MNIST.name)
    shutil.copy(COLAB, tmp_path / COLAB.name)
    allow_the_fixtures_fixed_lines(tmp_path)
    return tmp_path


def allow_the_fixtures_fixed_lines(project: Path) -> None:
    """The fixtures' fixed lines run to 99 characters: with the default line length, fixes
    would lay those calls out one argument per line. These tests are about the bytes a fix
    keeps, so the project allows the lines as the fixtures write them."""
    (project / "pyproject.toml").write_text("[tool.gradlint]\nline-length = 120\n")


# -- checking ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [MNIST, COLAB], ids=lambda p: p.name)
def test_findings_point_at_the_cell_and_the_row_within_it(path: Path, workdir: Path):
    result = cli("check", "--output-format", "json", path.name, cwd=workdir)
    assert result.exit_code == 1, result.output
    found = [(d["cell"], d["location"]["row"], d["code"]) for d in json.loads(result.stdout)]
    assert found == expected_markers(path)


def test_text_output_names_cell_row_and_column(workdir: Path):
    result = cli("check", MNIST.name, cwd=workdir)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("mnist_mlp.ipynb:cell 8:2:5: GL101 [*] Dense with activation 'relu'")
    assert lines[1].startswith("mnist_mlp.ipynb:cell 8:4:5: GL101 [*]")
    assert lines[-1] == "Found 2 problems (2 fixable with 'gradlint fix --write')."


def test_cells_are_one_program_in_cell_order(workdir: Path):
    """Dense(128) in cell 8 is followed by ReLU() in cell 9: only together is it a finding,
    and the message names the other cell."""
    result = cli("check", "--output-format", "json", MNIST.name, cwd=workdir)
    second = json.loads(result.stdout)[1]
    assert "followed by activation 'relu' (cell 9, line 1)" in second["message"]
    assert "line 9" not in second["message"]


def test_json_fix_edits_are_positions_within_the_cell(workdir: Path):
    result = cli("check", "--output-format", "json", MNIST.name, cwd=workdir)
    first = json.loads(result.stdout)[0]
    edit = first["fix"]["edits"][0]
    source_line = "".join(json.loads(MNIST.read_text())["cells"][7]["source"]).splitlines()[1]
    column = edit["location"]["column"]
    assert edit["location"]["row"] == 2
    assert source_line[:column - 1] + edit["content"] + source_line[column - 1:] == (
        'x = layers.Dense(256, activation="relu", kernel_initializer="he_normal")(inputs)  # expect: GL101'
    )


def test_markdown_and_raw_cells_are_ignored(tmp_path: Path):
    notebook = _notebook([
        ("markdown", "```python\nlayers.Dense(64, activation='relu')\n```"),
        ("raw", "from tensorflow.keras import layers\nlayers.Dense(64, activation='relu')"),
        ("code", "from tensorflow.keras import layers\nlayer = layers.Dense(64, activation='tanh')"),
    ])
    (tmp_path / "n.ipynb").write_text(notebook)
    assert cli("check", "n.ipynb", cwd=tmp_path).exit_code == 0


@pytest.mark.parametrize("cells", [[], [("markdown", "# Notes on keras")], [("code", "%%bash\necho keras")]])
def test_notebooks_without_python_code_are_clean(tmp_path: Path, cells: list):
    (tmp_path / "n.ipynb").write_text(_notebook(cells))
    assert cli("check", "n.ipynb", cwd=tmp_path).exit_code == 0
    assert cli("fix", "--write", "n.ipynb", cwd=tmp_path).exit_code == 0


def test_noqa_in_a_cell_suppresses(tmp_path: Path):
    (tmp_path / "n.ipynb").write_text(_notebook([
        ("code", "from tensorflow.keras import layers"),
        ("code", "a = layers.Dense(64, activation='relu')  # noqa: GL101\nb = layers.Dense(64, activation='relu')"),
    ]))
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert [(d["cell"], d["location"]["row"]) for d in json.loads(result.stdout)] == [(2, 2)]


def test_other_kernels_are_not_python(tmp_path: Path):
    data = json.loads(_notebook([("code", "library(keras)\nlayer_dense(units = 64, activation = 'relu')")]))
    data["metadata"] = {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}
    (tmp_path / "r.ipynb").write_text(json.dumps(data))
    assert cli("check", "r.ipynb", cwd=tmp_path).exit_code == 0


# -- IPython syntax -----------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "%matplotlib inline",
    "%load_ext autoreload",
    "!pip install -q tensorflow",
    "?layers.Dense",
    "layers.Dense?",
    "np.*load*??",
    "files = !ls data/",
    "t = %timeit -o model.predict(x)",
    "env['home'] = %env HOME",
])
def test_ipython_lines_are_masked_for_the_parser(line: str):
    masked = mask_cell(Cell(1, "code", f"import keras\n{line}\nx = 1"), "tag")
    assert masked is not None
    assert masked.text.splitlines()[1].startswith("pass  # tag:")
    assert masked.masks == ((masked.text.splitlines()[1], line),)


@pytest.mark.parametrize("source", [
    "y = (a\n     % b)",  # modulo on a continuation line
    "ok = (a\n      != b)",
    'doc = """\n!not a shell command\n%not a magic\n"""',
    "s = 'a' \\\n    '%d' % 3",
    "ratio = x % y",
    "print('is it?')",
])
def test_python_that_looks_like_ipython_is_left_alone(source: str):
    masked = mask_cell(Cell(1, "code", source), "tag")
    assert masked is not None and masked.masks == ()
    compile(masked.text, "cell", "exec")


def test_indented_magic_keeps_the_block_valid():
    masked = mask_cell(Cell(1, "code", "for i in range(3):\n    !echo $i\n    %time f(i)"), "tag")
    assert masked is not None
    compile(masked.text, "cell", "exec")


def test_cell_magics_python_bodies_are_checked_others_skipped(tmp_path: Path):
    (tmp_path / "n.ipynb").write_text(_notebook([
        ("code", "from tensorflow.keras import layers"),
        ("code", "%%time\na = layers.Dense(64, activation='relu')"),
        ("code", "%%bash\nlayers.Dense(64, activation='relu')\necho done"),
        ("code", "%%writefile model.py\nfrom tensorflow.keras import layers\nlayers.Dense(64, activation='relu')"),
    ]))
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert [(d["cell"], d["location"]["row"]) for d in json.loads(result.stdout)] == [(2, 2)]


def test_virtual_module_parses_and_keeps_cell_lines():
    notebook = parse_notebook(MNIST.read_text(encoding="utf-8"))
    module = build_virtual_module(notebook)
    compile(module.text, "mnist", "exec")
    layout = module.layout()
    for cell in notebook.cells:
        if cell.cell_type != "code" or cell.source.startswith("%%"):
            continue
        for row, line in enumerate(cell.source.splitlines(), start=1):
            if not line.lstrip().startswith(("%", "!")) and not line.endswith("?"):
                virtual_row = next(r for r in range(1, module.text.count("\n") + 2)
                                   if layout.row_of(r) == (cell.index, row))
                assert module.text.splitlines()[virtual_row - 1] == line


# -- fixing ---------------------------------------------------------------------------------

def _restyle(data: dict, style: str) -> str:
    """The same notebook as other tools write it."""
    if style == "jupyter":  # nbformat's writer
        return json.dumps(data, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False) + "\n"
    if style == "indent2-no-final-newline":
        return json.dumps(data, indent=2, ensure_ascii=False)
    if style == "compact":
        return json.dumps(data)
    if style == "ascii-escaped":
        return json.dumps(data, indent=1, ensure_ascii=True) + "\n"
    if style == "crlf":
        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False).replace("\n", "\r\n") + "\r\n"
    if style == "string-sources":
        data = json.loads(json.dumps(data))
        for cell in data["cells"]:
            cell["source"] = "".join(cell["source"])
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    raise AssertionError(style)


STYLES = ["jupyter", "indent2-no-final-newline", "compact", "ascii-escaped", "crlf", "string-sources"]


def _source_span(text: str, cell: int) -> tuple[int, int]:
    node = scan(text).get("cells").items[cell - 1].get("source")  # type: ignore[union-attr]
    return node.start, node.end


@pytest.mark.parametrize("style", STYLES)
def test_fix_write_changes_only_the_fixed_cells_source(tmp_path: Path, style: str):
    data = json.loads(MNIST.read_text(encoding="utf-8"))
    original = _restyle(data, style)
    path = tmp_path / "mnist.ipynb"
    path.write_bytes(original.encode("utf-8"))
    allow_the_fixtures_fixed_lines(tmp_path)
    result = cli("fix", "--write", "mnist.ipynb", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    new = path.read_bytes().decode("utf-8")

    # Content: only cell 8's source changed, to the fixed code.
    new_data = json.loads(new)
    fixed_source = "".join(new_data["cells"][7]["source"])
    assert fixed_source == (
        "inputs = keras.Input(shape=(784,))\n"
        'x = layers.Dense(256, activation="relu", kernel_initializer="he_normal")(inputs)  # expect: GL101\n'
        "x = layers.Dropout(0.2)(x)\n"
        'x = layers.Dense(128, kernel_initializer="he_normal")(x)  # expect: GL101'
    )
    new_data["cells"][7]["source"] = data["cells"][7]["source"]
    if style == "string-sources":
        new_data["cells"][7]["source"] = "".join(data["cells"][7]["source"])
        assert new_data == json.loads(original)
    else:
        assert new_data == data

    # Bytes: everything outside cell 8's source value is exactly as it was.
    start, end = _source_span(original, 8)
    new_start, new_end = _source_span(new, 8)
    assert new_start == start
    assert new[:start] == original[:start]
    assert new[new_end:] == original[end:]
    # … and the new value is in the file's own style: the same number of lines, laid out alike.
    old_value, new_value = original[start:end], new[start:new_end]
    if style != "string-sources":
        layout = re.sub(r'"(?:[^"\\]|\\.)*"', '""', old_value)
        assert re.sub(r'"(?:[^"\\]|\\.)*"', '""', new_value) == layout
    # Fixing again changes nothing.
    assert cli("fix", "--write", "mnist.ipynb", cwd=tmp_path).exit_code == 0
    assert path.read_bytes().decode("utf-8") == new


def test_fix_keeps_outputs_images_and_ids_byte_for_byte(workdir: Path):
    before = (workdir / MNIST.name).read_bytes()
    assert cli("fix", "--write", MNIST.name, cwd=workdir).exit_code == 0
    after = (workdir / MNIST.name).read_bytes()
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(changed) == 2 and all(b"kernel_initializer" in line for line in changed)
    assert len(after.splitlines()) == len(before.splitlines())
    old_data, new_data = json.loads(before), json.loads(after)
    for old_cell, new_cell in zip(old_data["cells"], new_data["cells"]):
        assert {k: v for k, v in old_cell.items() if k != "source"} == {k: v for k, v in new_cell.items() if k != "source"}
    assert after.endswith(b"}\n")


def test_fix_without_write_shows_the_diff_per_cell(workdir: Path):
    before = (workdir / MNIST.name).read_bytes()
    result = cli("fix", MNIST.name, cwd=workdir)
    assert result.exit_code == 1
    assert (workdir / MNIST.name).read_bytes() == before
    out = result.stdout
    assert "--- a/mnist_mlp.ipynb:cell 8\n+++ b/mnist_mlp.ipynb:cell 8\n" in out
    assert '-x = layers.Dense(128)(x)  # expect: GL101\n+x = layers.Dense(128, kernel_initializer="he_normal")(x)' in out
    assert '"source"' not in out and "No newline" not in out
    assert "Would fix 2 problems (0 remaining)" in out


def test_ipython_lines_are_never_altered_by_a_fix(tmp_path: Path):
    cell = "%load_ext autoreload\n!nvidia-smi\nmodel = keras.Sequential([\n    layers.Dense(8, activation='relu'),\n])\nmodel.fit?"
    (tmp_path / "n.ipynb").write_text(_notebook([("code", "from tensorflow import keras\nfrom tensorflow.keras import layers"),
                                                 ("code", cell)]))
    assert cli("fix", "--write", "n.ipynb", cwd=tmp_path).exit_code == 0
    source = "".join(json.loads((tmp_path / "n.ipynb").read_text())["cells"][1]["source"])
    assert source == cell.replace("activation='relu'", "activation='relu', kernel_initializer='he_normal'")


def test_a_fix_adding_lines_keeps_later_findings_in_their_cells(tmp_path: Path):
    """The fix in cell 2 adds a line; what remains in cell 3 is still reported at its own row."""
    tf1 = "tf.compat.v1.glorot_uniform_initializer()"  # no He twin: reported, not fixable
    (tmp_path / "n.ipynb").write_text(_notebook([
        ("code", "import tensorflow as tf\nfrom tensorflow.keras import layers"),
        ("code", "a = layers.Dense(\n    64,\n    activation='relu',\n)"),
        ("code", f"%time x = 1\nb = layers.Dense(64, activation='relu', kernel_initializer={tf1})"),
    ]))
    result = cli("fix", "--write", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    remaining = json.loads(result.stdout)
    assert [(d["cell"], d["location"]["row"], d["location"]["column"]) for d in remaining] == [(3, 2, 5)]
    cells = json.loads((tmp_path / "n.ipynb").read_text())["cells"]
    assert "".join(cells[1]["source"]) == "a = layers.Dense(\n    64,\n    activation='relu',\n    kernel_initializer='he_normal',\n)"


# -- bad notebooks --------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    ('{"cells": [', "not a valid notebook: invalid JSON"),
    ('{"nbformat": 3, "worksheets": []}', "nbformat 3 is not supported, only nbformat 4"),
    ('{"cells": []}', "not a Jupyter notebook: no 'nbformat' key"),
    ('[1, 2]', "the top level is not a JSON object"),
    ('{"nbformat": 4, "cells": [{"source": "x"}]}', "cell 1 has no 'cell_type'"),
    ('{"nbformat": 4, "cells": [{"cell_type": "code", "source": 3}]}', "cell 1: 'source' must be a string or a list"),
])
def test_bad_notebook_is_gl002_and_other_files_go_on(tmp_path: Path, content: str, message: str):
    (tmp_path / "bad.ipynb").write_text(content)
    shutil.copy(COLAB, tmp_path / COLAB.name)
    result = cli("check", "--output-format", "json", ".", cwd=tmp_path)
    assert result.exit_code == 2
    found = json.loads(result.stdout)
    bad = [d for d in found if d["filename"].endswith("bad.ipynb")]
    assert [d["code"] for d in bad] == ["GL002"]
    assert message in bad[0]["message"]
    assert any(d["code"] == "GL101" and d["filename"].endswith(COLAB.name) for d in found)


def test_fix_write_leaves_a_bad_notebook_untouched(tmp_path: Path):
    (tmp_path / "bad.ipynb").write_text('{"nbformat": 4, "cells": [')
    result = cli("fix", "--write", "bad.ipynb", cwd=tmp_path)
    assert result.exit_code == 2
    assert (tmp_path / "bad.ipynb").read_text() == '{"nbformat": 4, "cells": ['


# -- discovery ------------------------------------------------------------------------------

def test_directories_are_walked_for_notebooks_unless_turned_off(workdir: Path):
    (workdir / "model.py").write_text("from tensorflow.keras import layers\nlayers.Dense(8, activation='relu')\n")
    files = cli("check", "--show-files", ".", cwd=workdir).stdout.split()
    assert files == ["colab_cifar_cnn.ipynb", "mnist_mlp.ipynb", "model.py"]
    assert cli("check", "--show-files", "--extension", "py", ".", cwd=workdir).stdout.split() == ["model.py"]
    (workdir / "pyproject.toml").write_text('[tool.gradlint]\nextensions = ["py"]\n')
    assert cli("check", "--show-files", ".", cwd=workdir).stdout.split() == ["model.py"]
    # Named explicitly, a notebook is checked, unless --force-exclude (pre-commit) applies the setting.
    assert cli("check", MNIST.name, cwd=workdir).exit_code == 1
    assert cli("check", "--force-exclude", MNIST.name, cwd=workdir).exit_code == 0


def test_bad_extension_setting_is_an_error(workdir: Path):
    result = cli("check", "--extension", "ipynb,txt", ".", cwd=workdir)
    assert result.exit_code == 2
    assert "--extension must be" in result.output
    (workdir / "pyproject.toml").write_text('[tool.gradlint]\nextensions = ["r"]\n')
    result = cli("check", ".", cwd=workdir)
    assert result.exit_code == 2 and "extensions" in result.output


# -- style-preserving serialization ----------------------------------------------------------

def test_an_empty_list_source_gets_the_files_indentation():
    text = '{\n "cells": [\n  {\n   "cell_type": "code",\n   "source": []\n  }\n ]\n}\n'
    node = scan(text).get("cells").items[0].get("source")  # type: ignore[union-attr]
    value = serialize_source(text, node, "a = 1\nb = 2")
    assert value == '[\n    "a = 1\\n",\n    "b = 2"\n   ]'


def _notebook(cells: list[tuple[str, str]]) -> str:
    """A notebook as Jupyter writes it, with these (type, source) cells."""
    def cell(kind: str, source: str) -> dict:
        out = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
        if kind == "code":
            out.update(execution_count=None, outputs=[])
        return out

    data = {"cells": [cell(k, s) for k, s in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def test_syntax_error_points_at_its_cell(tmp_path: Path):
    (tmp_path / "n.ipynb").write_text(_notebook([
        ("markdown", "# Title"),
        ("code", "from tensorflow import keras"),
        ("code", "x = 1\ndef build(:\n    pass"),
    ]))
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 2
    [error] = json.loads(result.stdout)
    assert (error["code"], error["cell"], error["location"]["row"]) == ("GL001", 3, 2)


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_file_positions_of_cell_findings_count_json_escapes(tmp_path: Path, ensure_ascii: bool):
    """CI annotations point into the .ipynb text, where a source line is a JSON string:
    quotes, backslashes and (escaped or not) non-ASCII characters shift the columns."""
    line = 'name = "café 😀 \\\\ \\"q\\""; d = layers.Dense(8, activation="relu")'
    data = json.loads(_notebook([("code", "from tensorflow.keras import layers\n" + line)]))
    (tmp_path / "n.ipynb").write_text(json.dumps(data, indent=1, ensure_ascii=ensure_ascii), encoding="utf-8")
    result = cli("check", "--output-format", "github", "n.ipynb", cwd=tmp_path)
    match = re.match(r"::(?:error|warning) file=n\.ipynb,line=(\d+),col=(\d+),endLine=(\d+),endColumn=(\d+),", result.stdout)
    assert match, result.stdout
    row, col, end_row, end_col = map(int, match.groups())
    json_line = (tmp_path / "n.ipynb").read_text(encoding="utf-8").splitlines()[row - 1]
    assert row == end_row
    assert json_line[col - 1:end_col - 1] == 'layers.Dense(8, activation=\\"relu\\")'


_TEXT = st.lists(st.characters(blacklist_categories=("Cs",)) | st.sampled_from(['"', "\\", "\n", "\r\n", "é", "😀", "\t"]),
                 max_size=40).map("".join)


@settings(max_examples=150, deadline=None)
@given(sources=st.lists(_TEXT, min_size=1, max_size=4), new=_TEXT, which=st.integers(min_value=0),
       style=st.sampled_from(STYLES))
def test_writing_a_source_keeps_every_other_byte(sources: list[str], new: str, which: int, style: str):
    data = json.loads(_notebook([("code", s) for s in sources]))
    text = _restyle(data, style)
    notebook = parse_notebook(text)
    index = which % len(sources) + 1
    written = write_sources(notebook, {index: new})
    if new == notebook.cells[index - 1].source:
        assert written == text
        return
    expected = json.loads(text)
    expected["cells"][index - 1]["source"] = json.loads(written)["cells"][index - 1]["source"]
    assert json.loads(written) == expected
    assert parse_notebook(written).cells[index - 1].source == new
    start, end = _source_span(text, index)
    new_start, new_end = _source_span(written, index)
    assert written[:start] == text[:start] and written[new_end:] == text[end:]


_LINES = st.sampled_from([
    "%matplotlib inline", "!pip install keras", "model.fit?", "x = !ls", "    %time f()", "import keras",
    "for i in range(3):", "    pass", "s = '''", "%not a magic inside a string", "'''", "y = (1", "     % 2)",
    "", "# comment", "a = 1  # gradlint:ipython:0", "%%time", "\\", "z = 'unterminated",
])


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.lists(_LINES, max_size=6).map("\n".join), min_size=1, max_size=4))
def test_virtual_module_splits_back_into_the_same_cells(cells: list[str]):
    notebook = parse_notebook(_notebook([("code", c) for c in cells]))
    module = build_virtual_module(notebook)
    kept = {m.index for m in module.cells}
    assert module.split(module.text) == {c.index: c.source for c in notebook.cells if c.index in kept}
    layout = module.layout()
    assert layout.cells == tuple(sorted(kept))


def test_fix_keeps_every_ipython_line_of_a_cell_with_more_than_ten(tmp_path: Path):
    """Placeholder 1 is a prefix of placeholders 10 and 11: each must still be put back once."""
    magics = "".join(f"%time step_{i} = {i}\n" for i in range(12))
    (tmp_path / "n.ipynb").write_text(_notebook([
        ("code", "from tensorflow.keras import layers\n" + magics + "x = layers.Dense(64, activation='relu')"),
    ]))
    result = cli("fix", "--write", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    source = parse_notebook((tmp_path / "n.ipynb").read_text()).cells[0].source
    assert source == ("from tensorflow.keras import layers\n" + magics
                      + "x = layers.Dense(64, activation='relu', kernel_initializer='he_normal')")


@pytest.mark.parametrize("decoy", [
    "# gradlint:ipython",  # the mark itself
    "# gradlint:ipython~1~ and gradlint:ipython~2~",  # the marks chosen when it is taken
    "# gradlint:ipython" + "~" * 5000,  # a long run of '~' (each one cost a search of every cell)
], ids=["mark", "numbered-marks", "run-of-tildes"])
def test_a_cell_that_holds_the_placeholder_mark_is_split_back_exactly(decoy: str):
    cells = [f"{decoy}\n%matplotlib inline\nimport keras", "!ls\nx = 1  # gradlint:ipython:0"]
    module = build_virtual_module(parse_notebook(_notebook([("code", c) for c in cells])))
    assert len(module.separator) < 50
    assert all(module.tag not in c for c in cells)
    assert module.split(module.text) == {1: cells[0], 2: cells[1]}


# -- cells as parse units, on notebooks written by nbformat ------------------------------------

IMPORTS = "import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers"
RECURRENT_MODEL = ("model = keras.Sequential([\n    layers.LSTM(32),\n    layers.Dense(64, activation='relu'),\n"
                   "    layers.Dense(1),\n])")
COMPILE = "model.compile(optimizer=keras.optimizers.Adam(1e-3), loss='mse')"


def write_nbformat(path: Path, *cells: str | tuple[str, str]) -> Path:
    """A notebook as nbformat writes it; a cell is its code, or ("markdown", text)."""
    made = [new_markdown_cell(c[1]) if isinstance(c, tuple) else new_code_cell(c) for c in cells]
    nbformat.write(new_notebook(cells=made), path)
    return path


def findings(result) -> list[tuple[str, int, int, int]]:
    """(code, cell, row, column) of each finding in a JSON report."""
    return [(d["code"], d["cell"], d["location"]["row"], d["location"]["column"]) for d in json.loads(result.stdout)]


def cell_source(path: Path, index: int) -> str:
    return nbformat.read(path, as_version=4).cells[index - 1].source


def test_a_cell_that_does_not_parse_hides_nothing_in_the_others(tmp_path: Path):
    write_nbformat(tmp_path / "n.ipynb", ("markdown", "# Train"), IMPORTS, RECURRENT_MODEL,
                   "def build(:\n    return model", COMPILE)
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 2  # something could not be checked
    assert findings(result) == [("GL101", 3, 3, 5), ("GL001", 4, 1, 11), ("GL201", 5, 1, 25)]
    gl001 = json.loads(result.stdout)[1]
    assert gl001["message"] == "SyntaxError: invalid syntax"


def test_fix_write_fixes_the_good_cells_and_keeps_the_bad_cell_byte_for_byte(tmp_path: Path):
    bad = "def build(:\n    return model  # half-written, not saved as Python"
    path = write_nbformat(tmp_path / "n.ipynb", IMPORTS, RECURRENT_MODEL, bad, COMPILE)
    before = path.read_text(encoding="utf-8")
    start, end = _source_span(before, 3)
    result = cli("fix", "--write", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 2
    assert findings(result) == [("GL001", 3, 1, 11)]
    after = path.read_text(encoding="utf-8")
    assert "kernel_initializer='he_normal'" in cell_source(path, 2)
    assert cell_source(path, 4) == "model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss='mse')"
    new_start, new_end = _source_span(after, 3)
    assert after[new_start:new_end] == before[start:end]
    assert cell_source(path, 3) == bad


def test_a_half_written_last_cell_hides_no_finding(tmp_path: Path):
    """The normal state of a notebook being worked on: the last cell is being typed."""
    write_nbformat(tmp_path / "n.ipynb", IMPORTS, RECURRENT_MODEL, COMPILE, "model.fit(")
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert result.exit_code == 2
    assert findings(result) == [("GL101", 2, 3, 5), ("GL201", 3, 1, 25), ("GL001", 4, 1, 10)]
    assert "'(' was never closed" in json.loads(result.stdout)[2]["message"]


def test_a_half_written_cell_in_a_buffer_from_an_editor(tmp_path: Path):
    path = write_nbformat(tmp_path / "n.ipynb", IMPORTS, RECURRENT_MODEL, "model.fit(")
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["check", "--no-cache", "--output-format", "json",
                                           "--stdin-filename", "n.ipynb", "-"], input=path.read_bytes())
    finally:
        os.chdir(old)
    assert result.exit_code == 2
    assert findings(result) == [("GL101", 2, 3, 5), ("GL001", 3, 1, 10)]


@pytest.mark.parametrize("ipython", [
    "!saved_model_cli show \\\n    --dir export/1 --all",
    "!pip install -q \\\n    tensorflow \\\n    keras-tuner",
    "pip install transformers",
    "cd data",
    "ls -la",
    "run -i train.py",
    "load_ext tensorboard",
    "x = 1; keras.layers.Dense?",
    "x = 1; keras.layers.Dense??",
    "shape = (\n    28, 28); shape?",
], ids=["shell-continued", "shell-continued-twice", "pip", "cd", "ls-flags", "run", "load_ext", "help", "help2",
        "help-after-a-continued-statement"])
def test_ipython_syntax_is_no_syntax_error(tmp_path: Path, ipython: str):
    write_nbformat(tmp_path / "n.ipynb", IMPORTS, ipython + "\nlayer = layers.Dense(8, activation='relu')")
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    rows = ipython.count("\n") + 2
    assert (result.exit_code, findings(result)) == (1, [("GL101", 2, rows, 9)])


@pytest.mark.parametrize("python", ["pip = 3", "cd(path)", "time.sleep(1)", "ls - la", "run = lambda: (\n    1)",
                                    "cd, pwd = 'a', 'b'", "who: int = 3",
                                    "history += 1", "cat + (\n    1)", "ls \\\n    - 1"])
def test_python_that_starts_with_a_magic_name_is_not_masked(python: str):
    masked = mask_cell(Cell(1, "code", python), "tag")
    assert masked is not None and masked.masks == ()
    assert masked.text.rstrip("\n") == python


def test_a_help_request_after_a_statement_keeps_the_columns_and_the_text(tmp_path: Path):
    cell = "layer = layers.Dense(8, activation='relu'); layer?\nmodel = keras.Sequential([layer]); model.fit??"
    path = write_nbformat(tmp_path / "n.ipynb", IMPORTS, cell)
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert findings(result) == [("GL101", 2, 1, 9)]
    assert cli("fix", "--write", "n.ipynb", cwd=tmp_path).exit_code == 0
    assert cell_source(path, 2) == cell.replace("activation='relu'", "activation='relu', kernel_initializer='he_normal'")


def test_fix_write_puts_every_masked_ipython_line_back(tmp_path: Path):
    cell = ("pip install transformers\n!saved_model_cli show \\\n    --dir export/1 --all\nls -la\n"
            "layer = layers.Dense(8, activation='relu')")
    path = write_nbformat(tmp_path / "n.ipynb", IMPORTS, cell)
    assert cli("fix", "--write", "n.ipynb", cwd=tmp_path).exit_code == 0
    assert cell_source(path, 2) == cell.replace("activation='relu'", "activation='relu', kernel_initializer='he_normal'")


@pytest.mark.parametrize("magic", ["%%time", "%%capture output", "%%backend tensorflow"])
def test_a_cell_magic_with_a_python_body_is_checked(tmp_path: Path, magic: str):
    path = write_nbformat(tmp_path / "n.ipynb", IMPORTS, f"{magic}\nlayer = layers.Dense(8, activation='relu')")
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert (result.exit_code, findings(result)) == (1, [("GL101", 2, 2, 9)])
    assert cli("fix", "--write", "n.ipynb", cwd=tmp_path).exit_code == 0
    assert cell_source(path, 2) == f"{magic}\nlayer = layers.Dense(8, activation='relu', kernel_initializer='he_normal')"


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile model.py", "%%html", "%%script python3"])
def test_a_cell_of_another_language_is_skipped_even_when_it_looks_like_python(tmp_path: Path, magic: str):
    body = "from tensorflow.keras import layers\nlayers.Dense(8, activation='relu')\nmodel.fit("
    write_nbformat(tmp_path / "n.ipynb", IMPORTS, f"{magic}\n{body}")
    result = cli("check", "--output-format", "json", "n.ipynb", cwd=tmp_path)
    assert (result.exit_code, findings(result)) == (0, [])


def test_an_unknown_cell_magic_whose_body_is_not_python_is_skipped(tmp_path: Path):
    write_nbformat(tmp_path / "n.ipynb", IMPORTS, "%%sparql\nSELECT ?layer WHERE { ?layer a keras:Dense }")
    assert cli("check", "n.ipynb", cwd=tmp_path).exit_code == 0


def test_the_notebook_module_does_not_import_the_engine():
    import ast as python_ast

    for name in ("notebook", "nbsource", "jsonspans", "sources"):
        tree = python_ast.parse((Path(__file__).resolve().parent.parent / "gradlint" / f"{name}.py").read_text())
        imported = {n.module for n in python_ast.walk(tree) if isinstance(n, python_ast.ImportFrom)}
        imported |= {a.name for n in python_ast.walk(tree) if isinstance(n, python_ast.Import) for a in n.names}
        assert not {m for m in imported if m and m.startswith(("gradlint.engine", "gradlint.cli"))}, name


def test_a_dropped_unit_keeps_every_other_position_and_comes_back_exactly():
    from gradlint.sources import ParseUnit, SourceError, drop_failing_units, restore_units

    module = "a = 1\r\n#sep\nmodel.fit(\n  x,\n#sep\nb = 2\n"
    units = (ParseUnit(1, 2), ParseUnit(3, 5), ParseUnit(6, 7))
    dropped = drop_failing_units(module, units)
    assert dropped.text == "a = 1\r\n#sep\n\n\n#sep\nb = 2\n"
    assert [(f.index, f.row, f.column) for f in dropped.failures] == [(1, 3, 10)]
    fixed = dropped.text.replace("b = 2", "b = 3")
    assert restore_units(fixed, units, module, units, dropped.failures) == module.replace("b = 2", "b = 3")
    with pytest.raises(SourceError, match="does not parse"):
        restore_units(dropped.text.replace("\n\n\n", "\nc = 1\n\n"), units, module, units, dropped.failures)
