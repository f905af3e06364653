"""GL101's fix for Flax layers: kernel_init= added in the file's words (safe), an author's
initializer rewritten for that layer alone (unsafe); every fix parses and is idempotent."""

from __future__ import annotations

from flax_helpers import check, dedent, fix


def test_adds_kernel_init_with_the_linen_name():
    fixed = fix("""
        from flax import linen as nn

        class MLP(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.Dense(512)(x))
                return nn.Dense(10)(x)
    """)
    assert "nn.Dense(512, kernel_init=nn.initializers.he_normal())(x)" in fixed
    assert "nn.Dense(10)(x)" in fixed


def test_the_fix_is_safe_for_a_default_and_unsafe_for_an_authors_choice():
    [default] = check("""
        from flax import linen as nn
        model = nn.Sequential([nn.Dense(128), nn.relu, nn.Dense(10)])
    """)
    assert default.fix is not None and default.fix.applicability == "safe"
    [chosen] = check("""
        from flax import linen as nn
        model = nn.Sequential([nn.Dense(128, kernel_init=nn.initializers.glorot_uniform()), nn.relu, nn.Dense(10)])
    """)
    assert chosen.fix is not None and chosen.fix.applicability == "unsafe"


def test_nnx_layers_get_nnx_initializers_before_rngs():
    fixed = fix("""
        from flax import nnx

        class MLP(nnx.Module):
            def __init__(self, *, rngs: nnx.Rngs):
                self.fc1 = nnx.Linear(784, 256, rngs=rngs)
                self.fc2 = nnx.Linear(256, 10, rngs=rngs)

            def __call__(self, x):
                return self.fc2(nnx.gelu(self.fc1(x)))
    """)
    assert "nnx.Linear(784, 256, kernel_init=nnx.initializers.he_normal(), rngs=rngs)" in fixed
    assert "nnx.Linear(256, 10, rngs=rngs)" in fixed


def test_only_jax_imported_writes_jax_nn_initializers():
    fixed = fix("""
        import jax
        from flax.linen import Dense, Module, compact, relu

        class MLP(Module):
            @compact
            def __call__(self, x):
                return Dense(1)(relu(Dense(64)(x)))
    """)
    assert "Dense(64, kernel_init=jax.nn.initializers.he_normal())" in fixed


def test_a_directly_imported_initializers_module_is_used():
    fixed = fix("""
        from flax import linen as nn
        from jax.nn import initializers

        class MLP(nn.Module):
            @nn.compact
            def __call__(self, x):
                return nn.Dense(1)(nn.relu(nn.Dense(64)(x)))
    """)
    assert "nn.Dense(64, kernel_init=initializers.he_normal())" in fixed


def test_no_name_for_jax_or_flax_gives_the_text_without_an_edit():
    [found] = check("""
        from flax.linen import Dense, Module, compact, relu

        class MLP(Module):
            @compact
            def __call__(self, x):
                return Dense(1)(relu(Dense(64)(x)))
    """)
    assert found.fix is None and "kernel_init=jax.nn.initializers.he_normal()" in found.message


def test_uniform_setting_writes_he_uniform():
    fixed = fix("""
        from flax import linen as nn
        model = nn.Sequential([nn.Dense(128), nn.relu, nn.Dense(10)])
    """, fix_distribution="uniform")
    assert "nn.Dense(128, kernel_init=nn.initializers.he_uniform())" in fixed


def test_rewrites_an_authors_initializer_keeping_its_path_and_distribution():
    text = """
        import jax
        from flax import linen as nn

        class MLP(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.Dense(256, kernel_init=jax.nn.initializers.glorot_uniform())(x))
                x = nn.relu(nn.Dense(256, kernel_init=nn.initializers.normal(stddev=0.001))(x))
                return nn.Dense(10)(x)
    """
    assert fix(text) == dedent(text)  # unsafe: not without --unsafe-fixes
    fixed = fix(text, unsafe=True)
    assert "nn.Dense(256, kernel_init=jax.nn.initializers.he_uniform())" in fixed
    assert "nn.Dense(256, kernel_init=nn.initializers.he_normal())" in fixed


def test_a_shared_variable_keeps_its_value_for_the_other_layers():
    fixed = fix("""
        from flax import linen as nn

        init = nn.initializers.glorot_normal()

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                x = nn.relu(nn.Dense(256, kernel_init=init)(x))
                return nn.Dense(10, kernel_init=init)(x)
    """, unsafe=True)
    assert "init = nn.initializers.glorot_normal()" in fixed
    assert "nn.Dense(256, kernel_init=nn.initializers.he_normal())" in fixed
    assert "nn.Dense(10, kernel_init=init)" in fixed


def test_the_fixed_fixtures_are_clean():
    from pathlib import Path

    from gradlint.config import Settings
    from gradlint.engine import check_source, fix_source

    path = Path(__file__).resolve().parents[2] / "fixtures" / "flax" / "mlp_linen.py"
    fixed = fix_source(path.read_text(encoding="utf-8"), str(path), Settings()).source
    assert fixed.count("kernel_init=nn.initializers.he_normal()") == 2
    assert [d.code for d in check_source(fixed, str(path), Settings())] == []
