"""[tool.gradlint.runtime] validation and input-shape parsing (no TensorFlow needed)."""

from __future__ import annotations

import pytest

from gradlint.errors import ConfigError
from gradlint.runtime.settings import ProbeOptions, options_from_table, parse_input_shapes, parse_shape


def test_an_absent_or_empty_table_gives_the_documented_defaults():
    for table in (None, {}):
        options = options_from_table(table)
        assert options == ProbeOptions()
    defaults = ProbeOptions()
    assert (defaults.batch_size, defaults.repeats, defaults.seed) == (32, 3, 0)
    assert (defaults.vanishing_ratio, defaults.exploding_ratio) == (1e-3, 1e3)
    assert (defaults.forward_growth, defaults.max_grad_norm, defaults.min_relative_grad) == (1e3, 1e6, 1e-7)


def test_every_documented_key_is_read():
    options = options_from_table({
        "targets": ["models/mlp.py:build_model", "pkg.models:build"],
        "batch-size": 8,
        "seed": 7,
        "repeats": 5,
        "vanishing-ratio": 1e-4,
        "exploding-ratio": 1e4,
        "forward-growth": 100,
        "max-grad-norm": 1e5,
        "min-relative-grad": 0,
        "input-shape": ["28,28,1", "None,10"],
    })
    assert options.targets == ("models/mlp.py:build_model", "pkg.models:build")
    assert (options.batch_size, options.seed, options.repeats) == (8, 7, 5)
    assert options.vanishing_ratio == 1e-4 and options.exploding_ratio == 1e4
    assert options.forward_growth == 100.0 and isinstance(options.forward_growth, float)
    assert options.max_grad_norm == 1e5 and options.min_relative_grad == 0.0
    assert options.input_shapes == ((28, 28, 1), (None, 10))


def test_an_unknown_key_is_an_error_that_suggests_the_right_one():
    with pytest.raises(ConfigError, match=r"unknown key 'batch_size' in \[tool.gradlint.runtime\] \(did you mean 'batch-size'\?\)"):
        options_from_table({"batch_size": 16})
    with pytest.raises(ConfigError, match="unknown key 'gpu'.*known keys: targets, batch-size"):
        options_from_table({"gpu": True})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"batch-size": "32"}, "batch-size must be an integer"),
        ({"batch-size": True}, "batch-size must be an integer"),
        ({"repeats": 0}, r"repeats must be an integer ≥ 1"),
        ({"seed": -1}, r"seed must be an integer ≥ 0"),
        ({"vanishing-ratio": 2.0}, r"vanishing-ratio must be a number > 0 and < 1"),
        ({"exploding-ratio": 0.5}, r"exploding-ratio must be a number > 1"),
        ({"max-grad-norm": "big"}, "max-grad-norm must be a number"),
        ({"targets": "model.py:build"}, "targets must be a list of strings"),
        ({"targets": ["ok.py:f", ""]}, "targets must be a list of strings"),
        ({"input-shape": "28,x"}, "bad dimension 'x'"),
        ({"input-shape": "0,3"}, "dimensions must be positive"),
        ({"input-shape": [1, "2"]}, "expected a shape"),
    ],
)
def test_wrong_values_name_the_table_and_the_key(table, message):
    with pytest.raises(ConfigError, match=message) as info:
        options_from_table(table)
    assert str(info.value).startswith("[tool.gradlint.runtime]")


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("28,28,1", (28, 28, 1)),
        ("None,100", (None, 100)),
        ("(None, 100)", (None, 100)),
        ("(100,)", (100,)),
        ("?,64", (None, 64)),
        ([28, 28, 1], (28, 28, 1)),
    ],
)
def test_input_shapes_are_read_in_the_usual_spellings(text, shape):
    assert parse_shape(text) == shape


def test_a_list_of_strings_is_one_shape_per_input():
    assert parse_input_shapes(["16,16,3", "8"], where="x") == ((16, 16, 3), (8,))
    assert parse_input_shapes([[16, 16, 3], [8]], where="x") == ((16, 16, 3), (8,))
    assert parse_input_shapes([784], where="x") == ((784,),)


def test_command_line_values_override_only_what_is_given():
    base = options_from_table({"batch-size": 8, "seed": 3})
    merged = base.with_overrides(batch_size=None, seed=11, repeats=None)
    assert (merged.batch_size, merged.seed, merged.repeats) == (8, 11, 3)
    with pytest.raises(ConfigError):
        base.with_overrides(repeats=0)
