"""Another seed's initial weights drawn into the model already built, instead of building it again.

Probing at a second seed used to run the user's factory again and trace the compiled pass
again: each seed cost a whole probe. The same model can instead be given the weights the
factory would have given it at that seed, and its traced pass (which holds its variables by
reference) reused.

Why this is exact, not just alike in distribution: after `keras.utils.set_random_seed(s)`,
every Keras random initializer and `SeedGenerator` made without a seed takes one draw of
Python's `random.randint(1, 10**9)` as its seed, in the order the factory makes them, and an
initializer with an integer seed always returns the same values. So while the first seed's
model is built, each variable's initializer and each seed holder are recorded; the holder's
place in seed `s`'s draws is found by replaying them, and at seed `s'` it takes the draw at
that place. Calling each variable's initializer again then gives, bit for bit, what a rebuild
at `s'` gives, and a seed named in the output can be probed alone with the same result. A
holder given a seed by the code keeps it, as in a rebuild (one whose seed is a copy of a drawn
one, as MultiHeadAttention clones its initializers, follows that draw). BatchNorm's moving
statistics go back to their initializers and each SeedGenerator to `[seed, 0]`; a random op
in the pass that draws from a global seed (no SeedGenerator of its own) goes on with its
stream rather than starting the new seed's: the same distribution, not the same numbers.

The model is built again instead (`plan` gives the reason) when that cannot be known:
- a variable was not made from an initializer (created from an array, or before recording);
- a holder's seed is not among seed `s`'s draws (the factory sets a seed itself, or draws
  Python random numbers between the layers);
- an initializer called again does not give the variable's values exactly (the factory set
  or loaded weights, or the initializer draws from a global random state).
"""

from __future__ import annotations

import contextlib
import random
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SEED_RANGE = (1, 10**9)  # keras.random.make_default_seed's draw
_SLACK = 256  # draws replayed beyond one per seed holder


@dataclass
class Recorded:
    """What building a model made: each variable's initializer, and the seed holders."""

    initializers: dict[int, tuple[Any, Callable[..., Any]]] = field(default_factory=dict)  # id → (variable, init)
    random_initializers: list[Any] = field(default_factory=list)
    seed_generators: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def recording(keras: Any) -> Iterator[Recorded]:
    """Record, while the block runs, every variable made from an initializer and every random
    initializer and SeedGenerator constructed."""
    from keras.src.initializers.random_initializers import RandomInitializer
    from keras.src.random.seed_generator import SeedGenerator

    recorded = Recorded()
    variable_class = keras.Variable
    original_init = variable_class._initialize_with_initializer
    original_random = RandomInitializer.__init__
    original_generator = SeedGenerator.__init__

    def initialize(self: Any, initializer: Any) -> Any:
        recorded.initializers[id(self)] = (self, initializer)
        return original_init(self, initializer)

    def random_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_random(self, *args, **kwargs)
        recorded.random_initializers.append(self)

    def generator_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_generator(self, *args, **kwargs)
        recorded.seed_generators.append(self)

    variable_class._initialize_with_initializer = initialize
    RandomInitializer.__init__ = random_init
    SeedGenerator.__init__ = generator_init
    try:
        yield recorded
    finally:
        variable_class._initialize_with_initializer = original_init
        RandomInitializer.__init__ = original_random
        SeedGenerator.__init__ = original_generator


def draws(seed: int, count: int) -> list[int]:
    """The first `count` seeds Keras gives unseeded initializers after set_random_seed(seed)."""
    rng = random.Random(seed)
    return [rng.randint(*SEED_RANGE) for _ in range(count)]


@dataclass
class Redraw:
    """How to give the model the weights of another seed: each holder's place in the draws."""

    variables: list[tuple[Any, Callable[..., Any]]]  # every variable but seed states, with its initializer
    holders: list[tuple[Any, int]]  # (random initializer, place in the draws)
    states: list[tuple[Any, int]]  # (SeedGenerator state variable, place in the draws)
    count: int  # draws to replay

    def apply(self, seed: int) -> None:
        """The weights, BatchNorm statistics and seed states a rebuild at `seed` starts from.

        The global seeds are left alone: the reused pass holds its random state from its trace
        (an op's seed is fixed then), and setting TensorFlow's makes the next call of the pass
        cost as much as a first (0.15 s on the ResNet-20)."""
        new = draws(seed, self.count)
        for holder, place in self.holders:
            holder.seed = new[place]
        for state, place in self.states:
            state.assign(np.array([new[place], 0], dtype=state.dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for variable, initializer in self.variables:
                variable.assign(initializer(variable.shape, dtype=variable.dtype))


def plan(model: Any, recorded: Recorded, seed: int) -> Redraw | str:
    """How to redraw `model` (built after set_random_seed(seed) while `recorded`), or why it
    must be built again instead (a phrase for the report)."""
    count = len(recorded.random_initializers) + len(recorded.seed_generators)
    count = 4 * count + _SLACK
    place = {value: i for i, value in reversed(list(enumerate(draws(seed, count))))}
    holders: list[tuple[Any, int]] = []
    for holder in recorded.random_initializers:
        if not isinstance(holder.seed, int):  # a SeedGenerator: the values differ at each call
            return f"a {type(holder).__name__} initializer draws from a SeedGenerator"
        if holder.seed in place:  # drawn, or copied from a drawn one's config (MultiHeadAttention's)
            holders.append((holder, place[holder.seed]))
        elif holder._init_seed is None:
            return (f"a {type(holder).__name__} initializer's seed is not one --seed gives "
                    f"(the code sets a seed or draws random numbers itself)")
        # else a seed the code fixed, as fixed in a rebuild
    generator_states = {id(g.state): g for g in recorded.seed_generators}
    states: list[tuple[Any, int]] = []
    variables: list[tuple[Any, Callable[..., Any]]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for variable in model.variables:
            known = recorded.initializers.get(id(variable))
            if known is None or known[0] is not variable:
                return f"{variable.path} was not made from an initializer"
            initializer = known[1]
            generator = generator_states.get(id(variable))
            if generator is not None:
                drawn = int(np.asarray(initializer((2,), dtype=variable.dtype))[0])
                if drawn in place:
                    states.append((variable, place[drawn]))
                elif generator._initial_seed is None:
                    return (f"{variable.path}'s seed is not one --seed gives "
                            f"(the code sets a seed or draws random numbers itself)")
                else:  # a fixed seed: back to its start, as in a rebuild
                    variables.append((variable, initializer))
                continue
            again = np.asarray(initializer(variable.shape, dtype=variable.dtype))
            if not np.array_equal(again, np.asarray(variable.numpy()), equal_nan=True):
                return f"{variable.path} does not hold its initializer's values (weights set or loaded)"
            variables.append((variable, initializer))
    return Redraw(variables, holders, states, count)
