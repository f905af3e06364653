"""`gradlint signal`: the static prediction per model, as a table and as JSON, without TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradlint.cli import main

MODELS = textwrap.dedent('''\
    import keras
    from keras import layers


    def sequential_relu():
        model = keras.Sequential([keras.Input(shape=(256,))])
        for _ in range(30):
            model.add(layers.Dense(256, activation="relu"))
        model.add(layers.Dense(10, activation="softmax"))
        return model


    def functional_he():
        inputs = keras.Input(shape=(256,))
        x = inputs
        for _ in range(30):
            x = layers.Dense(256, activation="relu", kernel_initializer="he_normal")(x)
        return keras.Model(inputs, layers.Dense(10)(x))


    class SigmoidMLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.d1 = layers.Dense(128, activation="sigmoid")
            self.d2 = layers.Dense(128, activation="sigmoid")
            self.d3 = layers.Dense(128, activation="sigmoid")
            self.d4 = layers.Dense(128, activation="sigmoid")
            self.d5 = layers.Dense(128, activation="sigmoid")
            self.d6 = layers.Dense(128, activation="sigmoid")
            self.out = layers.Dense(10)

        def call(self, x):
            return self.out(self.d6(self.d5(self.d4(self.d3(self.d2(self.d1(x)))))))
''')


@pytest.fixture()
def models(tmp_path: Path) -> Path:
    path = tmp_path / "models.py"
    path.write_text(MODELS)
    return path


def test_json_has_one_object_per_model_with_the_probe_s_summary_numbers(models: Path):
    result = CliRunner().invoke(main, ["signal", "--output-format", "json", str(models)])
    assert result.exit_code == 0, result.output
    found = {m["function"]: m for m in json.loads(result.output)}
    assert set(found) == {"sequential_relu", "functional_he", "SigmoidMLP"}
    relu, he, sigmoid = found["sequential_relu"], found["functional_he"], found["SigmoidMLP"]
    # The probe measures 3.8e-5 and 0.99 on these two models.
    assert relu["backward_ratio"] == pytest.approx(4.3e-5, rel=0.1) and relu["verdict"] == "vanishing"
    assert he["backward_ratio"] == pytest.approx(1.0, rel=0.05) and he["verdict"] == "healthy"
    assert sigmoid["backward_ratio"] < 1e-3 and sigmoid["verdict"] == "vanishing"
    # What a Model subclass's call() returns is the model's output: its last layer is the head.
    assert sigmoid["layers"][-1]["head"] is True and len(sigmoid["layers"]) == 7
    assert relu["line"] == 8 and relu["filename"] == str(models)
    assert len(relu["layers"]) == 31 and relu["layers"][-1]["head"] is True
    first = relu["layers"][0]
    assert (first["activation"], first["initializer"]) == ("relu", "glorot_uniform (Keras default)")
    assert first["factor"] == pytest.approx(0.707, rel=1e-3)
    # The subclassed model's widths are not visible: the prediction says what it assumed.
    assert any("equal widths assumed" in note for note in sigmoid["unknown"])


def test_text_shows_a_table_per_model_and_the_verdict(models: Path):
    result = CliRunner().invoke(main, ["signal", str(models)])
    assert result.exit_code == 0
    blocks = result.output.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        f"{models}:8: sequential_relu", f"{models}:14: functional_he", f"{models}:21: SigmoidMLP"]
    header = blocks[0].splitlines()[1].split()
    assert header[:3] == ["layer", "activation", "initializer"]
    assert "predicted backward ratio first/last: 4.32e-05; forward growth: 0.707; verdict: vanishing" in blocks[0]


def test_a_file_without_models_prints_nothing_and_a_broken_one_is_an_error(tmp_path: Path):
    (tmp_path / "plain.py").write_text("print('no keras here')\n")
    (tmp_path / "broken.py").write_text("import keras\ndef f(:\n")
    result = CliRunner().invoke(main, ["signal", str(tmp_path / "plain.py"), str(tmp_path / "broken.py")])
    assert result.exit_code == 2
    assert "broken.py: cannot be parsed" in result.output


def test_signal_never_imports_tensorflow(models: Path):
    code = ("import sys; from click.testing import CliRunner; from gradlint.cli import main; "
            f"r = CliRunner().invoke(main, ['signal', {str(models)!r}]); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'numpy', 'jax', 'torch')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_output_format_carries_the_severity(models: Path):
    # Thirty ReLU layers with Glorot cross the probe's threshold (error); the lone second
    # model's layers are fine; a 2-layer mismatch is a warning.
    models.write_text(MODELS + textwrap.dedent('''
        def small():
            inputs = keras.Input(shape=(64,))
            x = layers.Dense(64, activation="relu")(inputs)
            x = layers.Dense(64, activation="relu")(x)
            return keras.Model(inputs, layers.Dense(1)(x))
    '''))
    runner = CliRunner()
    found = json.loads(runner.invoke(main, ["check", "--no-cache", "--select", "GL101", "--output-format", "json",
                                            str(models)]).output)
    assert sorted(d["severity"] for d in found) == ["error", "warning", "warning"]
    sarif = json.loads(runner.invoke(main, ["check", "--no-cache", "--select", "GL101", "--output-format", "sarif",
                                            str(models)]).output)
    assert sorted(r["level"] for r in sarif["runs"][0]["results"]) == ["error", "warning", "warning"]
    github = runner.invoke(main, ["check", "--no-cache", "--select", "GL101", "--output-format", "github", str(models)])
    assert sorted(line.split(" ", 1)[0] for line in github.output.splitlines()) == ["::error", "::warning", "::warning"]
    errors_only = runner.invoke(main, ["check", "--no-cache", "--select", "GL101", "--output-format", "json",
                                       "--config", str(_config(models, 'min-severity = "error"')), str(models)])
    assert [d["location"]["row"] for d in json.loads(errors_only.output)] == [8]
    flag = runner.invoke(main, ["check", "--no-cache", "--select", "GL101", "--min-severity", "error", str(models)])
    assert flag.exit_code == 1 and flag.output.count("GL101") == 1


def _config(models: Path, line: str) -> Path:
    path = models.parent / "pyproject.toml"
    path.write_text(f"[tool.gradlint]\n{line}\n")
    return path


def test_functional_models_are_followed_through_residual_adds_and_loops(tmp_path: Path):
    path = tmp_path / "resnets.py"
    path.write_text(textwrap.dedent('''\
        import keras
        from keras import layers


        def dense_resnet():
            inputs = keras.Input(shape=(64,))
            x = layers.Dense(64, activation="relu", kernel_initializer="he_normal")(inputs)
            for _ in range(12):
                h = layers.Dense(64, activation="relu", kernel_initializer="he_normal")(x)
                x = x + h
            return keras.Model(inputs, layers.Dense(10)(x))


        def conv_resnet():
            inputs = keras.Input(shape=(32, 32, 16))
            x = inputs
            for _ in range(3):
                y = layers.Conv2D(16, 3, padding="same", use_bias=False)(x)
                y = layers.BatchNormalization()(y)
                y = layers.ReLU()(y)
                y = layers.Conv2D(16, 3, padding="same", use_bias=False)(y)
                y = layers.BatchNormalization()(y)
                x = layers.ReLU()(layers.Add()([x, y]))
            x = layers.GlobalAveragePooling2D()(x)
            return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))


        def inception_like():
            inputs = keras.Input(shape=(64,))
            a = layers.Dense(32, activation="relu")(inputs)
            b = layers.Dense(32, activation="relu")(inputs)
            return keras.Model(inputs, layers.Dense(1)(layers.concatenate([a, b])))
    '''))
    result = CliRunner().invoke(main, ["signal", "--output-format", "json", str(path)])
    found = {m["function"]: m for m in json.loads(result.output)}
    dense = found["dense_resnet"]
    # 12 blocks x + relu(Dense(x)) with He: (1 + 1)^(12/2) = 64; the probe measures 69.
    assert dense["backward_ratio"] == pytest.approx(64, rel=0.01)
    assert len(dense["layers"]) == 14
    conv = found["conv_resnet"]
    # Six convolutions, each normalization's γ (a row of the probe's table too), the head.
    assert len(conv["layers"]) == 13 and conv["verdict"] == "healthy"
    # Two paths that meet in a concatenation are not a residual add: not described as one.
    assert "inception_like" not in found


def test_text_output_marks_the_errors_only(models: Path):
    models.write_text(MODELS + "\n\nlone = layers.Dense(64, activation='relu')\n")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--select", "GL101,GL301", str(models)])
    lines = [line for line in result.output.splitlines() if ": GL" in line]
    # The 30-layer Glorot ReLU stack and the six sigmoid layers cross the probe's thresholds;
    # the lone layer's ×0.71 is a warning, shown as ruff shows a finding.
    assert sum(": GL101 [*] error: Dense with activation 'relu'" in line for line in lines) == 1
    assert sum(": GL301 error: 6 hidden layers" in line for line in lines) == 1
    [lone] = [line for line in lines if "error:" not in line]
    assert ": GL101 [*] Dense with activation 'relu' uses glorot_uniform" in lone


def test_a_subclassed_residual_model_is_walked_from_its_call_input(tmp_path: Path):
    path = tmp_path / "res.py"
    path.write_text(textwrap.dedent('''\
        import keras
        from keras import layers


        class ResMLP(keras.Model):
            def __init__(self):
                super().__init__()
                self.stem = layers.Dense(64, activation="relu", kernel_initializer="he_normal")
                self.d1 = layers.Dense(64, activation="relu", kernel_initializer="he_normal")
                self.d2 = layers.Dense(64, activation="relu", kernel_initializer="he_normal")
                self.head = layers.Dense(10)

            def call(self, x):
                x = self.stem(x)
                x = x + self.d1(x)
                x = x + self.d2(x)
                return self.head(x)
    '''))
    [model] = json.loads(CliRunner().invoke(main, ["signal", "--output-format", "json", str(path)]).output)
    assert model["function"] == "ResMLP" and len(model["layers"]) == 4
    # Two residual blocks with He: (1 + 1) per block in variance, √4 = 2 in norm.
    assert model["backward_ratio"] == pytest.approx(2.0, rel=0.01)
