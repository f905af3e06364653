"""Safe and unsafe fixes, as ruff has them.

A fix is safe when it adds the textbook remedy where the author chose nothing (an initializer
where none was given, clipping added to an optimizer, a clip line, an import), unsafe when it
replaces something the author wrote (an explicit initializer, a string optimizer, Dropout, any
GL103 fix). `fix --write` applies the safe ones; `--unsafe-fixes` or `unsafe-fixes = true`
applies both; the outputs and summaries say which is which and what was held back.
"""

from __future__ import annotations

import io
import json
import os
import tokenize
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from gradlint.cli import main
from gradlint.config import Settings, load_settings
from gradlint.diagnostics import Diagnostic
from gradlint.engine import check_source, fix_source
from gradlint.errors import ConfigError
from gradlint.fixing import apply_fixes
from gradlint.rules import ALL_RULES

HEADER = "from tensorflow import keras\n"
RNN = "model = keras.Sequential([keras.layers.LSTM(8), keras.layers.Dense(1)])\n"
STEP = """\
import tensorflow as tf
model = tf.keras.Sequential([tf.keras.layers.GRU(32), tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.RMSprop(learning_rate=1e-3{clip})


def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(y - model(x, training=True)))
    {body}
"""
APPLY = ("grads = tape.gradient(loss, model.trainable_variables)\n"
         "    optimizer.apply_gradients(zip(grads, model.trainable_variables))")
MINIMIZE = "optimizer.minimize(loss, model.trainable_variables, tape=tape)"


def _dense(initializer: str = "") -> str:
    argument = f", kernel_initializer={initializer}" if initializer else ""
    return HEADER + f'model = keras.Sequential([keras.layers.Dense(64, activation="relu"{argument}), keras.layers.Dense(1)])\n'


# (rule, what the fix does, source, expected applicability): one case per kind of fix.
FIX_KINDS = [
    ("GL101", "adds an initializer where none is given", _dense(), "safe"),
    ("GL101", "adds one to a partial that gives none",
     "from functools import partial\n" + HEADER
     + 'Conv = partial(keras.layers.Conv2D, kernel_size=3, activation="relu")\n'
       "model = keras.Sequential([Conv(filters=64), keras.layers.Flatten(), keras.layers.Dense(1)])\n", "safe"),
    ("GL101", "rewrites an explicit string initializer", _dense('"glorot_uniform"'), "unsafe"),
    # Past 88 columns the edited call is laid out again, one argument per line: still only adding.
    ("GL101", "adds one to a call laid out again",
     HEADER + 'layer = keras.layers.Dense(64, activation="relu", use_bias=True, name="a_name")\n',
     "safe"),
    ("GL101", "rewrites one in a call laid out again",
     HEADER + 'd = keras.layers.Dense(64, activation="tanh", kernel_initializer="he_normal", name="x")\n',
     "unsafe"),
    ("GL101", "rewrites an explicit class call", _dense("keras.initializers.GlorotUniform(seed=42)"), "unsafe"),
    ("GL101", "rewrites a VarianceScaling call",
     _dense('keras.initializers.VarianceScaling(scale=1.0, mode="fan_avg")'), "unsafe"),
    ("GL101", "gives one layer its own initializer instead of a shared one",
     HEADER + 'init = "glorot_uniform"\n'
              'model = keras.Sequential([keras.layers.Dense(64, activation="relu", kernel_initializer=init),\n'
              '                          keras.layers.Dense(1, kernel_initializer=init)])\n', "unsafe"),
    ("GL103", "replaces a fixed-scale initializer",
     HEADER + "inputs = keras.Input(shape=(256,))\n"
              'x = keras.layers.Dense(256, activation="relu",\n'
              "                       kernel_initializer=keras.initializers.RandomNormal(stddev=1e-4))(inputs)\n"
              "model = keras.Model(inputs, keras.layers.Dense(1)(x))\n", "unsafe"),
    ("GL201", "adds clipnorm to the optimizer's constructor",
     HEADER + RNN + 'model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")\n', "safe"),
    ("GL201", "writes over clipnorm=None",
     HEADER + RNN + 'model.compile(optimizer=keras.optimizers.Adam(clipnorm=None), loss="mse")\n', "unsafe"),
    ("GL201", "turns a string optimizer into a class call",
     HEADER + RNN + 'model.compile(optimizer="adam", loss="mse")\n', "unsafe"),
    ("GL201", "adds the default optimizer, clipped, where compile() gives none",
     HEADER + RNN + 'model.compile(loss="mse")\n', "safe"),
    ("GL202", "adds a clip_by_global_norm line", STEP.format(clip="", body=APPLY), "safe"),
    ("GL202", "adds clipnorm to the optimizer minimize() uses", STEP.format(clip="", body=MINIMIZE), "safe"),
    ("GL202", "writes over that optimizer's clipnorm=None", STEP.format(clip=", clipnorm=None", body=MINIMIZE),
     "unsafe"),
    ("GL302", "replaces Dropout with AlphaDropout",
     HEADER + 'model = keras.Sequential([keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"),\n'
              '                          keras.layers.Dropout(0.2), keras.layers.Dense(1)])\n', "unsafe"),
]


def _fixed_finding(code: str, source: str) -> Diagnostic:
    found = [d for d in check_source(source, "m.py", Settings(select=(code,))) if d.fix is not None]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("code", "what", "source", "applicability"), FIX_KINDS,
                         ids=[f"{c}-{w}" for c, w, _, _ in FIX_KINDS])
def test_each_kind_of_fix_has_its_safety(code: str, what: str, source: str, applicability: str):
    finding = _fixed_finding(code, source)
    assert finding.fix.applicability == applicability
    assert _keeps_every_token(source, finding) == (applicability == "safe")


@pytest.mark.parametrize(("code", "what", "source", "applicability"), FIX_KINDS,
                         ids=[f"{c}-{w}" for c, w, _, _ in FIX_KINDS])
def test_safe_fixes_are_applied_by_default_and_unsafe_ones_only_when_asked(code, what, source, applicability):
    default = fix_source(source, "m.py", Settings(select=(code,)))
    everything = fix_source(source, "m.py", Settings(select=(code,), unsafe_fixes=True))
    assert everything.source != source and [d.code for d in everything.fixed] == [code]
    if applicability == "safe":
        assert default.source == everything.source
    else:
        assert default.source == source and default.fixed == []
        assert [d.fix.applicability for d in default.remaining] == ["unsafe"]


def _tokens(text: str) -> list[str]:
    layout = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER, tokenize.COMMENT}
    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in layout]


def _keeps_every_token(source: str, finding: Diagnostic) -> bool:
    """Whether the fix, applied alone, only adds: every token the author wrote is still there,
    in order (whatever the layout around them)."""
    fixed = iter(_tokens(apply_fixes(source, [finding]).text))
    return all(token in fixed for token in _tokens(source))


RULE_EXAMPLES = [(rule, i, ex) for rule in ALL_RULES for i, ex in enumerate(rule.invalid) if ex.fixed is not None]


@pytest.mark.parametrize(("rule", "index", "example"), RULE_EXAMPLES,
                         ids=[f"{r.code}-invalid-{i}" for r, i, _ in RULE_EXAMPLES])
def test_rule_examples_fixes_are_safe_exactly_when_they_only_add(rule, index, example):
    """Over the rules' own examples: a safe fix keeps every token the author wrote, an unsafe
    one replaces some; and each applicability is one the rule's documentation states."""
    findings = [d for d in check_source(example.source, "example.py", Settings(select=(rule.code,))) if d.fix]
    assert findings
    declared = {kind.applicability for kind in rule.fix_safety}
    for finding in findings:
        assert _keeps_every_token(example.source, finding) == (finding.fix.applicability == "safe"), finding.message
        assert finding.fix.applicability in declared


def test_every_fixable_rule_documents_the_safety_of_its_fixes():
    for rule in ALL_RULES:
        assert bool(rule.fix_safety) == rule.fixable, rule.code
        assert all(kind.what and kind.why for kind in rule.fix_safety), rule.code


# -- the command line --------------------------------------------------------------------------

MIXED = HEADER + """\
model = keras.Sequential([
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(64, activation="relu", kernel_initializer="glorot_uniform"),
    keras.layers.Dense(1),
])
"""
SAFE_FIXED = MIXED.replace('keras.layers.Dense(64, activation="relu"),',
                           'keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),')
ALL_FIXED = SAFE_FIXED.replace('"glorot_uniform"', '"he_uniform"')
HELD_BACK = "1 hidden fix can be enabled with the '--unsafe-fixes' option"


def cli(*args: str, cwd: Path, stdin: str | None = None):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), input=stdin)
    finally:
        os.chdir(old)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.gradlint]\n")
    (tmp_path / "m.py").write_text(MIXED)
    return tmp_path


def test_fix_write_applies_only_safe_fixes_and_counts_the_unsafe_ones(project: Path):
    result = cli("fix", "--write", "m.py", cwd=project)
    assert (project / "m.py").read_text() == SAFE_FIXED
    assert result.exit_code == 1  # the unsafe finding remains
    assert result.output.splitlines()[-1] == f"Found 2 problems (1 fixed, 1 remaining; {HELD_BACK})."
    assert "m.py:4:5: GL101 Dense" in result.output  # left, and not marked [*]


def test_unsafe_fixes_option_applies_both(project: Path):
    result = cli("fix", "--write", "--unsafe-fixes", "m.py", cwd=project)
    assert (project / "m.py").read_text() == ALL_FIXED
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "Found 2 problems (2 fixed, 0 remaining)."


def test_unsafe_fixes_in_the_configuration_and_no_unsafe_fixes_overriding_it(project: Path):
    (project / "pyproject.toml").write_text("[tool.gradlint]\nunsafe-fixes = true\n")
    assert cli("fix", "--write", "--no-unsafe-fixes", "m.py", cwd=project).exit_code == 1
    assert (project / "m.py").read_text() == SAFE_FIXED
    assert cli("fix", "--write", "m.py", cwd=project).exit_code == 0
    assert (project / "m.py").read_text() == ALL_FIXED


def test_the_configuration_key_is_a_boolean(tmp_path: Path):
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.gradlint]\nunsafe-fixes = true\n")
    assert load_settings(None, tmp_path).unsafe_fixes is True
    config.write_text('[tool.gradlint]\nunsafe-fixes = "yes"\n')
    with pytest.raises(ConfigError, match="unsafe-fixes must be true or false"):
        load_settings(None, tmp_path)


def test_fix_diff_shows_only_what_write_would_write(project: Path):
    result = cli("fix", "m.py", cwd=project)
    assert result.exit_code == 1
    assert '+    keras.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),' in result.output
    assert "he_uniform" not in result.output
    assert result.output.splitlines()[-1] == (f"Would fix 1 problem (1 remaining; {HELD_BACK}); "
                                              "run 'gradlint fix --write' to apply.")
    assert (project / "m.py").read_text() == MIXED
    shown = cli("fix", "--unsafe-fixes", "m.py", cwd=project).output
    assert '"he_uniform"' in shown and "run 'gradlint fix --write --unsafe-fixes' to apply." in shown


def test_fix_diff_with_only_unsafe_fixes_changes_nothing_and_says_why(project: Path):
    (project / "m.py").write_text(SAFE_FIXED)
    result = cli("fix", "m.py", cwd=project)
    assert result.exit_code == 0  # nothing --write would write
    assert "---" not in result.output
    assert HELD_BACK in result.output


def test_check_marks_only_safe_fixes_and_counts_hidden_ones(project: Path):
    result = cli("check", "--no-cache", "m.py", cwd=project)
    lines = result.output.splitlines()
    assert lines[0].startswith("m.py:3:5: GL101 [*] ")
    assert lines[1].startswith("m.py:4:5: GL101 Dense")
    assert lines[-1] == f"Found 2 problems (1 fixable with 'gradlint fix --write'; {HELD_BACK})."
    result = cli("check", "--no-cache", "--unsafe-fixes", "m.py", cwd=project)
    lines = result.output.splitlines()
    assert lines[1].startswith("m.py:4:5: GL101 [*] ")
    assert lines[-1] == "Found 2 problems (2 fixable with 'gradlint fix --write --unsafe-fixes')."


def test_check_json_gives_each_fix_its_applicability(project: Path):
    result = cli("check", "--no-cache", "--output-format", "json", "m.py", cwd=project)
    assert [d["fix"]["applicability"] for d in json.loads(result.output)] == ["safe", "unsafe"]


def test_a_cached_check_does_not_hold_back_fixes_a_later_run_asks_for(project: Path):
    assert cli("check", "m.py", cwd=project).exit_code == 1  # fills the cache
    assert cli("fix", "--write", "--unsafe-fixes", "m.py", cwd=project).exit_code == 0
    assert (project / "m.py").read_text() == ALL_FIXED


def test_stdin_fix_applies_only_safe_fixes_unless_asked(project: Path):
    result = cli("fix", "--stdin-filename", "m.py", "-", cwd=project, stdin=MIXED)
    assert result.stdout == SAFE_FIXED
    result = cli("fix", "--unsafe-fixes", "--stdin-filename", "m.py", "-", cwd=project, stdin=MIXED)
    assert result.stdout == ALL_FIXED


def _notebook(path: Path, *cells: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    nbformat.write(notebook, str(path))


def _cells(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(str(path), as_version=4).cells]


def test_notebook_fixes_respect_safety(project: Path):
    cells = [HEADER.strip(), MIXED.removeprefix(HEADER).strip()]
    _notebook(project / "n.ipynb", *cells)
    result = cli("fix", "--write", "n.ipynb", cwd=project)
    assert result.exit_code == 1 and HELD_BACK in result.output
    assert _cells(project / "n.ipynb") == [cells[0], SAFE_FIXED.removeprefix(HEADER).strip()]
    assert cli("fix", "--write", "--unsafe-fixes", "n.ipynb", cwd=project).exit_code == 0
    assert _cells(project / "n.ipynb") == [cells[0], ALL_FIXED.removeprefix(HEADER).strip()]


def test_rule_command_states_each_fix_and_why():
    text = CliRunner().invoke(main, ["rule", "GL201"]).output
    section = text[text.index("## Fix safety"):]
    assert "- **safe**: adds `clipnorm=1.0`" in section
    assert "- **unsafe**: turns a string optimizer" in section
    data = json.loads(CliRunner().invoke(main, ["rule", "GL302", "--output-format", "json"]).output)
    assert [f["applicability"] for f in data["fix_safety"]] == ["unsafe"] and data["fix_safety"][0]["why"]


def test_applicability_read_back_from_the_cache_must_be_known():
    data = Diagnostic.from_dict(check_source(_dense(), "m.py")[0].to_dict()).to_dict()
    data["fix"]["applicability"] = "maybe"
    with pytest.raises(ValueError, match="applicability"):
        Diagnostic.from_dict(data)
