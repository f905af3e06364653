"""A generated first-party Keras package whose modules import each other, for measuring what
following the project's own modules costs (`static_speed.py` times it).

`deepkit/`: layer helpers and backbones, model builders and a model zoo, optimizer factories,
training scripts, utilities and a sweep of experiment scripts, written with relative and
absolute imports, `import … as …` of modules, chains of three hops (an experiment → the zoo →
a builder → a backbone) and import cycles (the zoo and the builders it dispatches to, whose
default model goes through it and back: five hops; two block modules). Its findings are a realistic mix: He/Glorot mismatches in helpers, fixed-scale
initializers, SELU with Dropout, a deep sigmoid stack, an exponential hidden layer, and
recurrent models compiled or trained in another module than the one that builds them.

`local=True` writes the same package with every first-party import replaced by local copies
of the functions it imports (and of theirs): what the code would cost with no cross-module
summaries at all, finding for finding the same models.

Deterministic: the same `experiments` and `seed` write the same bytes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "deepkit"
HEADER = "import keras\nfrom keras import layers, ops\nimport tensorflow as tf\n"
# A module the local copies still import: used as an object (`io.load(path)`), it gives no model.
KEPT_IN_COPIES = frozenset({"from ..utils import io"})
# The module each widely imported helper lives in: the one `static_speed.py` edits.
WIDELY_IMPORTED = f"{PACKAGE}/layers/recurrent.py"


@dataclass(frozen=True)
class Function:
    """One first-party function: its source, and the first-party functions it calls."""

    source: str
    calls: tuple[str, ...] = ()


@dataclass
class Module:
    path: str  # relative to the corpus root
    doc: str = ""  # the module's docstring (a default one if empty)
    imports: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (statement, functions it brings)
    defines: tuple[str, ...] = ()  # names of FUNCTIONS defined here
    body: str = ""  # module-level code after the definitions
    keras: bool = True  # starts with the Keras imports


@dataclass(frozen=True)
class Expected:
    """A finding the corpus must give: `code` in `path`, made by a model or optimizer from
    another module (`why`)."""

    path: str
    code: str
    why: str
    present: bool = True  # False: the finding must NOT be there (a CNN with "adam")
    required: bool = True  # False: what the project's modules should give, not yet followed


FUNCTIONS: dict[str, Function] = {
    # layers/activations.py
    "mish": Function("def mish(x):\n    return x * ops.tanh(ops.softplus(x))\n"),
    "hard_swish": Function("def hard_swish(x):\n    return x * ops.relu6(x + 3.0) / 6.0\n"),
    # layers/dense_blocks.py
    "dense_block": Function(
        "def dense_block(x, units, rate=0.1):\n"
        "    x = layers.Dense(units, activation=\"relu\")(x)\n"
        "    return layers.Dropout(rate)(x)\n"),
    "he_dense": Function(
        "def he_dense(units, name=None):\n"
        "    return layers.Dense(units, activation=\"relu\", kernel_initializer=\"he_normal\", name=name)\n"),
    "mlp_head": Function(
        "def mlp_head(num_classes, hidden=128):\n"
        "    return keras.Sequential([\n"
        "        layers.Dense(hidden, activation=\"relu\", kernel_initializer=\"he_uniform\"),\n"
        "        layers.Dense(num_classes, activation=\"softmax\"),\n"
        "    ], name=\"mlp_head\")\n"),
    # layers/residual.py (imports dense_blocks, which imports it back)
    "residual_dense": Function(
        "def residual_dense(x, units):\n"
        "    shortcut = x\n"
        "    x = layers.Dense(units, activation=\"relu\", kernel_initializer=\"he_normal\")(x)\n"
        "    x = layers.Dense(units)(x)\n"
        "    return layers.Activation(\"relu\")(layers.Add()([shortcut, x]))\n"),
    "residual_tower": Function(
        "def residual_tower(x, units, depth=3):\n"
        "    for _ in range(depth):\n"
        "        x = residual_dense(x, units)\n"
        "    return dense_block(x, units)\n", ("residual_dense", "dense_block")),
    "wide_block": Function(
        "def wide_block(x, units):\n"
        "    x = residual_dense(x, units)\n"
        "    return layers.Dense(units, activation=\"tanh\")(x)\n", ("residual_dense",)),
    # layers/conv_blocks.py
    "conv_bn_relu": Function(
        "def conv_bn_relu(x, filters, kernel_size=3):\n"
        "    x = layers.Conv2D(filters, kernel_size, padding=\"same\", use_bias=False,\n"
        "                      kernel_initializer=\"he_normal\")(x)\n"
        "    x = layers.BatchNormalization()(x)\n"
        "    return layers.ReLU()(x)\n"),
    "conv_stack": Function(
        "def conv_stack():\n"
        "    return keras.Sequential([\n"
        "        layers.Conv2D(32, 3, activation=\"relu\", kernel_initializer=\"he_normal\"),\n"
        "        layers.MaxPooling2D(),\n"
        "        layers.Conv2D(64, 3, activation=\"relu\"),\n"
        "        layers.GlobalAveragePooling2D(),\n"
        "    ], name=\"conv_stack\")\n"),
    # layers/recurrent.py: the backbones every text model uses
    "lstm_backbone": Function(
        "def lstm_backbone(units=64):\n"
        "    return keras.Sequential([\n"
        "        layers.LSTM(units, return_sequences=True),\n"
        "        layers.LSTM(units),\n"
        "    ], name=\"lstm_backbone\")\n"),
    "gru_backbone": Function(
        "def gru_backbone(units=64):\n"
        "    return keras.Sequential([layers.Bidirectional(layers.GRU(units))], name=\"gru_backbone\")\n"),
    # layers/embeddings.py
    "token_embedding": Function(
        "def token_embedding(vocab, dim=128):\n"
        "    return layers.Embedding(vocab, dim, mask_zero=True)\n"),
    # layers/scaled.py
    "scaled_dense": Function(
        "def scaled_dense(units):\n"
        "    init = keras.initializers.RandomNormal(stddev=0.5)\n"
        "    return layers.Dense(units, activation=\"relu\", kernel_initializer=init)\n"),
    # models/text.py
    "build_lstm_classifier": Function(
        "def build_lstm_classifier(vocab=20000, units=64):\n"
        "    return keras.Sequential([\n"
        "        layers.Embedding(vocab, 128),\n"
        "        lstm_backbone(units),\n"
        "        layers.Dense(1, activation=\"sigmoid\"),\n"
        "    ], name=\"lstm_classifier\")\n", ("lstm_backbone",)),
    "build_gru_tagger": Function(
        "def build_gru_tagger(vocab=20000, tags=17):\n"
        "    return keras.Sequential([\n"
        "        layers.Embedding(vocab, 64),\n"
        "        gru_backbone(48),\n"
        "        layers.Dense(tags, activation=\"softmax\"),\n"
        "    ], name=\"gru_tagger\")\n", ("gru_backbone",)),
    "build_bow": Function(
        "def build_bow(vocab=20000):\n"
        "    return keras.Sequential([\n"
        "        layers.Embedding(vocab, 64),\n"
        "        layers.GlobalAveragePooling1D(),\n"
        "        layers.Dense(64, activation=\"relu\", kernel_initializer=\"he_normal\"),\n"
        "        layers.Dense(1, activation=\"sigmoid\"),\n"
        "    ])\n"),
    # models/vision.py
    "build_cnn": Function(
        "def build_cnn(num_classes=10):\n"
        "    return keras.Sequential([\n"
        "        keras.Input((32, 32, 3)),\n"
        "        conv_stack(),\n"
        "        layers.Dense(num_classes, activation=\"softmax\"),\n"
        "    ], name=\"cnn\")\n", ("conv_stack",)),
    "build_resnetish": Function(
        "def build_resnetish(num_classes=10):\n"
        "    inputs = keras.Input((32, 32, 3))\n"
        "    x = conv_bn_relu(inputs, 32)\n"
        "    x = conv_bn_relu(x, 64)\n"
        "    x = layers.GlobalAveragePooling2D()(x)\n"
        "    outputs = layers.Dense(num_classes, activation=\"softmax\")(x)\n"
        "    return keras.Model(inputs, outputs, name=\"resnetish\")\n", ("conv_bn_relu",)),
    # models/tabular.py
    "build_mlp": Function(
        "def build_mlp(features=20, units=256):\n"
        "    inputs = keras.Input((features,))\n"
        "    x = dense_block(inputs, units)\n"
        "    x = residual_tower(x, units)\n"
        "    outputs = layers.Dense(1)(x)\n"
        "    return keras.Model(inputs, outputs, name=\"mlp\")\n", ("dense_block", "residual_tower")),
    "build_selu_net": Function(
        "def build_selu_net(features=20):\n"
        "    return keras.Sequential([\n"
        "        keras.Input((features,)),\n"
        "        layers.Dense(128, activation=\"selu\", kernel_initializer=\"lecun_normal\"),\n"
        "        layers.Dropout(0.2),\n"
        "        layers.Dense(128, activation=\"selu\", kernel_initializer=\"lecun_normal\"),\n"
        "        layers.Dense(1),\n"
        "    ])\n"),
    # models/seq2seq.py
    "build_seq2seq": Function(
        "def build_seq2seq(vocab=8000, units=128):\n"
        "    source = keras.Input((None,), dtype=\"int32\")\n"
        "    x = layers.Embedding(vocab, units)(source)\n"
        "    x = layers.GRU(units, return_sequences=True)(x)\n"
        "    x = layers.GRU(units, return_sequences=True)(x)\n"
        "    outputs = layers.Dense(vocab, activation=\"softmax\")(x)\n"
        "    return keras.Model(source, outputs, name=\"seq2seq\")\n"),
    # models/autoencoder.py
    "build_sigmoid_autoencoder": Function(
        "def build_sigmoid_autoencoder(dim=784):\n"
        "    return keras.Sequential([\n"
        "        keras.Input((dim,)),\n"
        "        layers.Dense(256, activation=\"sigmoid\"),\n"
        "        layers.Dense(128, activation=\"sigmoid\"),\n"
        "        layers.Dense(64, activation=\"sigmoid\"),\n"
        "        layers.Dense(32, activation=\"sigmoid\"),\n"
        "        layers.Dense(64, activation=\"sigmoid\"),\n"
        "        layers.Dense(128, activation=\"sigmoid\"),\n"
        "        layers.Dense(256, activation=\"sigmoid\"),\n"
        "        layers.Dense(dim, activation=\"sigmoid\"),\n"
        "    ])\n"),
    "build_wide_autoencoder": Function(
        "def build_wide_autoencoder(dim=784):\n"
        "    inputs = keras.Input((dim,))\n"
        "    x = wide_block(inputs, 256)\n"
        "    x = layers.Dense(64, activation=\"exponential\")(x)\n"
        "    outputs = layers.Dense(dim, activation=\"sigmoid\")(x)\n"
        "    return keras.Model(inputs, outputs)\n", ("wide_block",)),
    # models/zoo.py: dispatches to the builders (which import it back to register)
    "get_lstm": Function("def get_lstm(vocab=20000):\n    return build_lstm_classifier(vocab)\n",
                         ("build_lstm_classifier",)),
    "get_tagger": Function("def get_tagger():\n    return build_gru_tagger()\n", ("build_gru_tagger",)),
    "get_cnn": Function("def get_cnn():\n    return build_cnn()\n", ("build_cnn",)),
    "get_mlp": Function("def get_mlp(features=20):\n    return build_mlp(features)\n", ("build_mlp",)),
    "get_bow": Function("def get_bow():\n    return build_bow()\n", ("build_bow",)),
    # The default model goes from the zoo to the text builders and back (the import cycle).
    "get_default": Function("def get_default():\n    return build_default()\n", ("build_default",)),
    "build_default": Function("def build_default():\n    return zoo.get_lstm()\n", ("get_lstm",)),
    # optim/factories.py
    "make_adam": Function(
        "def make_adam(lr=1e-3):\n    return keras.optimizers.Adam(learning_rate=lr)\n"),
    "make_clipped_adam": Function(
        "def make_clipped_adam(lr=1e-3):\n    return keras.optimizers.Adam(learning_rate=lr, clipnorm=1.0)\n"),
    "make_sgd": Function(
        "def make_sgd(lr=0.01):\n    return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)\n"),
    # optim/schedules.py
    "cosine_schedule": Function(
        "def cosine_schedule(lr=1e-3, steps=10000):\n"
        "    return keras.optimizers.schedules.CosineDecay(lr, decay_steps=steps)\n"),
    # utils/callbacks.py
    "default_callbacks": Function(
        "def default_callbacks(path=\"checkpoints/best.keras\"):\n"
        "    return [\n"
        "        keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True),\n"
        "        keras.callbacks.ModelCheckpoint(path, save_best_only=True),\n"
        "    ]\n"),
    # utils/data.py
    "make_dataset": Function(
        "def make_dataset(x, y, batch_size=32, shuffle=True):\n"
        "    ds = tf.data.Dataset.from_tensor_slices((x, y))\n"
        "    if shuffle:\n"
        "        ds = ds.shuffle(10000, seed=0)\n"
        "    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)\n"),
    "random_split": Function(
        "def random_split(n, rate=0.1):\n"
        "    cut = int(n * (1 - rate))\n"
        "    return slice(0, cut), slice(cut, n)\n"),
    # utils/metrics.py
    "classification_metrics": Function(
        "def classification_metrics():\n"
        "    return [keras.metrics.AUC(name=\"auc\"), keras.metrics.Precision(), keras.metrics.Recall()]\n"),
}

# Words for the docstrings every function carries, as the team's style guide asks.
_PARAMETERS = {
    "x": "the input tensor", "units": "width of the hidden layers", "rate": "dropout rate",
    "name": "the layer's name", "num_classes": "number of classes of the softmax head",
    "hidden": "width of the hidden layer", "depth": "number of residual blocks", "filters": "output channels",
    "kernel_size": "size of the convolution window", "vocab": "size of the token vocabulary",
    "dim": "size of each input vector", "features": "number of input features", "tags": "number of tags",
    "lr": "the learning rate", "steps": "number of steps of the decay", "path": "where to write",
    "batch_size": "examples per batch", "shuffle": "whether to shuffle each epoch", "n": "number of examples",
    "y": "the targets", "seed": "the random seed",
}


def _documented(source: str) -> str:
    """`source` with a docstring after its `def` line: a summary, then its arguments."""
    head, _, rest = source.partition("\n")
    match = re.match(r"def (\w+)\((.*)\):", head)
    assert match, head
    name, params = match.group(1), [p.split("=")[0].strip() for p in match.group(2).split(",") if p.strip()]
    lines = [f'    """{name.replace("_", " ").capitalize()}, with the defaults of the last published runs.', ""]
    if params:
        lines.append("    Args:")
        lines += [f"        {p}: {_PARAMETERS.get(p, 'see the defaults')}." for p in params]
        lines.append("")
    lines += ["    Returns:", "        What the experiments expect; see docs/models.md.", '    """']
    return head + "\n" + "\n".join(lines) + "\n" + rest


# The plain Python every training script carries: arguments, data loading, a run summary.
SCRIPT = '''

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the training set")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per step")
    parser.add_argument("--data", type=Path, default=Path("data/train.npz"), help="arrays to train on")
    parser.add_argument("--out", type=Path, default=Path("runs"), help="where to write the run summary")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the shuffling")
    return parser.parse_args(argv)


def load_arrays(path):
    """The training and validation arrays of one dataset file."""
    with np.load(path) as data:
        x, y = data["x"], data["y"]
    cut = int(len(x) * 0.9)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def write_summary(history, out, run):
    """Last and best value of every metric, as JSON beside the checkpoints."""
    out.mkdir(parents=True, exist_ok=True)
    summary = {key: {"last": values[-1], "best": min(values) if "loss" in key else max(values)}
               for key, values in history.history.items()}
    (out / f"{run}.json").write_text(json.dumps(summary, indent=2))
    return summary
'''

FIT = ("history = model.fit(make_dataset(x_train, y_train, args.batch_size),\n"
       "                    validation_data=make_dataset(x_val, y_val, shuffle=False),\n"
       "                    epochs=args.epochs, callbacks=default_callbacks())\n"
       "write_summary(history, args.out, Path(__file__).stem)\n")


def _modules(experiments: int, seed: int) -> tuple[list[Module], list[Expected]]:
    p = PACKAGE
    mods = [
        Module(f"{p}/__init__.py", body='"""deepkit: models and training for the team\'s experiments."""\n'
               "__version__ = \"0.3.1\"\n", keras=False),
        Module(f"{p}/utils/__init__.py", keras=False),
        Module(f"{p}/utils/config.py", keras=False, body=(
            "import dataclasses\nimport json\nfrom pathlib import Path\n\n\n@dataclasses.dataclass\n"
            "class RunConfig:\n    name: str\n    lr: float = 1e-3\n    batch_size: int = 32\n    epochs: int = 10\n\n\n"
            "def load(path):\n    return RunConfig(**json.loads(Path(path).read_text()))\n")),
        Module(f"{p}/utils/logs.py", keras=False, body=(
            "import logging\n\n\ndef get_logger(name):\n    logger = logging.getLogger(name)\n"
            "    logger.setLevel(logging.INFO)\n    return logger\n")),
        Module(f"{p}/utils/seeds.py", body="\n\ndef set_seed(seed=0):\n    keras.utils.set_random_seed(seed)\n"),
        Module(f"{p}/utils/data.py", defines=("make_dataset", "random_split")),
        Module(f"{p}/utils/callbacks.py", defines=("default_callbacks",)),
        Module(f"{p}/utils/metrics.py", defines=("classification_metrics",)),
        Module(f"{p}/utils/io.py", body=(
            "\n\ndef save(model, path):\n    model.save(path)\n\n\ndef load(path):\n"
            "    return keras.models.load_model(path, compile=False)\n")),
        Module(f"{p}/layers/__init__.py", keras=False),
        Module(f"{p}/layers/activations.py", defines=("mish", "hard_swish")),
        Module(f"{p}/layers/dense_blocks.py", defines=("dense_block", "he_dense", "mlp_head"),
               imports=[("from . import residual  # noqa: F401 (registers the residual blocks)", ())]),
        Module(f"{p}/layers/residual.py", defines=("residual_dense", "residual_tower", "wide_block"),
               imports=[("from .dense_blocks import dense_block", ("dense_block",))]),
        Module(f"{p}/layers/conv_blocks.py", defines=("conv_bn_relu", "conv_stack")),
        Module(f"{p}/layers/recurrent.py", defines=("lstm_backbone", "gru_backbone")),
        Module(f"{p}/layers/embeddings.py", defines=("token_embedding",)),
        Module(f"{p}/layers/scaled.py", defines=("scaled_dense",), body=(
            "\n\nclass ScaledMLP(keras.Model):\n    def __init__(self, units=64):\n        super().__init__()\n"
            "        self.hidden = scaled_dense(units)\n        self.out = layers.Dense(1)\n\n"
            "    def call(self, x):\n        return self.out(self.hidden(x))\n")),
        Module(f"{p}/layers/attention.py", body=(
            "\n\nclass SelfAttentionBlock(layers.Layer):\n    def __init__(self, dim, heads=4, **kwargs):\n"
            "        super().__init__(**kwargs)\n        self.attention = layers.MultiHeadAttention(heads, dim // heads)\n"
            "        self.norm = layers.LayerNormalization()\n"
            "        self.ffn = layers.Dense(dim, activation=\"gelu\", kernel_initializer=\"he_normal\")\n\n"
            "    def call(self, x):\n        x = self.norm(x + self.attention(x, x))\n        return x + self.ffn(x)\n")),
        Module(f"{p}/models/__init__.py", keras=False, body=(
            "from .text import build_lstm_classifier  # noqa: F401\nfrom .vision import build_cnn  # noqa: F401\n")),
        Module(f"{p}/models/text.py", defines=("build_lstm_classifier", "build_gru_tagger", "build_bow", "build_default"),
               imports=[("from ..layers.recurrent import gru_backbone, lstm_backbone", ("gru_backbone", "lstm_backbone")),
                        ("from . import zoo  # the zoo imports this module too", ("get_lstm",))]),
        Module(f"{p}/models/vision.py", defines=("build_cnn", "build_resnetish"),
               imports=[(f"from {p}.layers.conv_blocks import conv_bn_relu, conv_stack", ("conv_bn_relu", "conv_stack"))]),
        Module(f"{p}/models/tabular.py", defines=("build_mlp", "build_selu_net"),
               imports=[("from ..layers.dense_blocks import dense_block", ("dense_block",)),
                        ("from ..layers.residual import residual_tower", ("residual_tower",))]),
        Module(f"{p}/models/seq2seq.py", defines=("build_seq2seq",)),
        Module(f"{p}/models/autoencoder.py", defines=("build_sigmoid_autoencoder", "build_wide_autoencoder"),
               imports=[(f"from {p}.layers.residual import wide_block", ("wide_block",))]),
        Module(f"{p}/models/zoo.py", defines=("get_lstm", "get_tagger", "get_cnn", "get_mlp", "get_bow", "get_default"),
               imports=[("from .text import build_bow, build_default, build_gru_tagger, build_lstm_classifier",
                         ("build_bow", "build_default", "build_gru_tagger", "build_lstm_classifier")),
                        ("from .vision import build_cnn", ("build_cnn",)),
                        ("from .tabular import build_mlp", ("build_mlp",))]),
        Module(f"{p}/optim/__init__.py", keras=False),
        Module(f"{p}/optim/factories.py", defines=("make_adam", "make_clipped_adam", "make_sgd")),
        Module(f"{p}/optim/schedules.py", defines=("cosine_schedule",)),
        Module(f"{p}/train/__init__.py", keras=False),
    ]
    common = [(f"from {p}.utils.data import make_dataset", ("make_dataset",)),
              (f"from {p}.utils.callbacks import default_callbacks", ("default_callbacks",))]
    data = ("\nimport argparse\nimport json\nfrom pathlib import Path\n\nimport numpy as np\n\n"
            "EPOCHS = 10\n" + SCRIPT + "\n\nargs = parse_args()\n"
            "x_train, y_train, x_val, y_val = load_arrays(args.data)\n")
    mods += [
        # The LSTM of models/text.py (its backbone in layers/recurrent.py), compiled here: GL201.
        Module(f"{p}/train/train_text.py", imports=[
            ("from ..models.text import build_lstm_classifier", ("build_lstm_classifier",)), *common],
            body=data + "model = build_lstm_classifier()\n"
                        "model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=\"binary_crossentropy\")\n" + FIT),
        # A CNN compiled with "adam" beside it: nothing to say.
        Module(f"{p}/train/train_vision.py", imports=[
            (f"import {p}.models.vision as vision_models", ("build_cnn",)), *common],
            body=data + "model = vision_models.build_cnn()\n"
                        "model.compile(optimizer=\"adam\", loss=\"sparse_categorical_crossentropy\")\n" + FIT),
        Module(f"{p}/train/train_tabular.py", imports=[
            ("from ..models.tabular import build_mlp, build_selu_net", ("build_mlp", "build_selu_net")),
            ("from ..optim.factories import make_sgd", ("make_sgd",)), *common],
            body=data + "model = build_mlp()\nmodel.compile(optimizer=make_sgd(), loss=\"mse\")\n" + FIT
                 + "selu = build_selu_net()\nselu.compile(optimizer=\"adam\", loss=\"mse\")\n"),
        # A GRU seq2seq trained with an unclipped optimizer from the factories module.
        Module(f"{p}/train/train_seq2seq.py", imports=[
            (f"from {p}.models.seq2seq import build_seq2seq", ("build_seq2seq",)),
            (f"import {p}.optim.factories as optim_factories", ("make_adam",)), *common],
            body=data + "model = build_seq2seq()\n"
                        "model.compile(optimizer=optim_factories.make_adam(3e-4), loss=\"sparse_categorical_crossentropy\")\n"
                 + FIT),
        # A custom loop over the tagger of the zoo (two hops to its GRU backbone): GL202.
        Module(f"{p}/train/custom_loop.py", imports=[("from ..models.zoo import get_tagger", ("get_tagger",))],
               body=(
                   "\n\nmodel = get_tagger()\noptimizer = keras.optimizers.Adam(1e-3)\n"
                   "loss_fn = keras.losses.SparseCategoricalCrossentropy()\n\n\n@tf.function\n"
                   "def train_step(x, y):\n    with tf.GradientTape() as tape:\n"
                   "        loss = loss_fn(y, model(x, training=True))\n"
                   "    grads = tape.gradient(loss, model.trainable_variables)\n"
                   "    optimizer.apply_gradients(zip(grads, model.trainable_variables))\n    return loss\n")),
        # The default model: five hops through the zoo ↔ text cycle to its LSTM backbone.
        Module(f"{p}/train/train_default.py", imports=[
            (f"from {p}.models.zoo import get_default", ("get_default",)), *common],
            body=data + "model = get_default()\n"
                        "model.compile(optimizer=keras.optimizers.Nadam(1e-3), loss=\"binary_crossentropy\")\n" + FIT),
        Module(f"{p}/train/autoencode.py", imports=[
            ("from ..models.autoencoder import build_sigmoid_autoencoder, build_wide_autoencoder",
             ("build_sigmoid_autoencoder", "build_wide_autoencoder"))],
            body="\n\nfor build in (build_sigmoid_autoencoder, build_wide_autoencoder):\n"
                 "    model = build()\n    model.compile(optimizer=\"adam\", loss=\"mse\")\n"),
        Module(f"{p}/train/finetune.py", imports=[
            (f"from {p}.models.vision import build_resnetish", ("build_resnetish",)),
            ("from ..optim.schedules import cosine_schedule", ("cosine_schedule",)), *common],
            body=data + "model = build_resnetish()\nfor layer in model.layers[:-1]:\n    layer.trainable = False\n"
                        "model.compile(optimizer=keras.optimizers.AdamW(cosine_schedule()), loss=\"sparse_categorical_crossentropy\")\n"
                 + FIT),
        Module(f"{p}/train/evaluate.py", imports=[
            ("from ..utils.metrics import classification_metrics", ("classification_metrics",)),
            ("from ..utils import io", ())],
            body="\n\n\ndef evaluate(path, dataset):\n    model = io.load(path)\n"
                 "    model.compile(loss=\"binary_crossentropy\", metrics=classification_metrics())\n"
                 "    return model.evaluate(dataset, return_dict=True)\n"),
    ]
    expected = [
        Expected(f"{p}/train/train_text.py", "GL201", "LSTM of models/text.py (backbone in layers/recurrent.py)"),
        Expected(f"{p}/train/train_vision.py", "GL201", "a CNN of models/vision.py with \"adam\"", present=False),
        Expected(f"{p}/train/custom_loop.py", "GL202", "GRU tagger of models/zoo.py → models/text.py → layers/recurrent.py"),
        Expected(f"{p}/train/train_seq2seq.py", "GL201", "GRU of models/seq2seq.py, optimizer of optim/factories.py",
                 required=False),
        Expected(f"{p}/train/train_default.py", "GL201",
                 "LSTM 5 hops away: zoo → text → zoo → text → layers/recurrent.py (the import cycle)", required=False),
    ]
    # The sweep: one script per run, each a model from the zoo or from a builder module, and
    # an optimizer written out or from the factories.
    rng = random.Random(seed)
    builders = [("zoo", "get_lstm", True), ("zoo", "get_tagger", True), ("zoo", "get_cnn", False),
                ("zoo", "get_mlp", False), ("zoo", "get_bow", False), ("text", "build_lstm_classifier", True),
                ("seq2seq", "build_seq2seq", True), ("vision", "build_resnetish", False),
                ("tabular", "build_selu_net", False)]
    optimizers = [("keras.optimizers.Adam({lr})", False), ("keras.optimizers.Adam({lr}, clipnorm=1.0)", True),
                  ("keras.optimizers.RMSprop({lr}, clipvalue=0.5)", True), ("\"adam\"", False)]
    for i in range(experiments):
        module, builder, recurrent = builders[i % len(builders)]
        optimizer, clipped = optimizers[(i + i // len(builders)) % len(optimizers)]
        lr = rng.choice(["1e-3", "3e-4", "1e-4", "5e-4"])
        style = rng.random()
        if style < 0.4:
            statement = f"from ..models.{module} import {builder}"
        elif style < 0.8:
            statement = f"from {p}.models.{module} import {builder}"
        else:
            statement = f"from ..models import {module} as {module}_models"
        call = f"{module}_models.{builder}()" if style >= 0.8 else f"{builder}()"
        path = f"{p}/experiments/exp_{i:03d}.py"
        body = (data + f"RUN = \"exp_{i:03d}\"\nmodel = {call}\n"
                f"model.compile(optimizer={optimizer.format(lr=lr)}, loss=\"binary_crossentropy\",\n"
                f"              metrics=classification_metrics())\n" + FIT)
        mods.append(Module(path, body=body, imports=[
            (statement, (builder,)), *common,
            (f"from {p}.utils.metrics import classification_metrics", ("classification_metrics",))]))
        if recurrent and optimizer.startswith("keras") and not clipped:
            hops = {"zoo": "3 hops: zoo → builder → backbone", "text": "2 hops: builder → backbone"}.get(module, "1 hop")
            expected.append(Expected(path, "GL201", f"{builder}() ({hops})"))
    mods.append(Module(f"{p}/experiments/__init__.py", keras=False))
    return mods, expected


def _strip_aliases(text: str, aliases: set[str] | frozenset[str]) -> str:
    if not aliases:
        return text
    return re.sub(r"\b(?:{})\.".format("|".join(sorted(aliases))), "", text)


def _closure(names: list[str]) -> list[str]:
    """`names` and every first-party function they call, each once, callees first."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for callee in FUNCTIONS[name].calls:
            visit(callee)
        order.append(name)

    for name in names:
        visit(name)
    return order


def _aliases(module: Module) -> set[str]:
    """Modules bound by the module's imports of functions (`import a.b as x`, `from . import
    zoo`), whose `x.` a local copy drops."""
    return {m.group(1) for s, names in module.imports if names
            for m in [re.search(r"(?: as |^from [.\w]+ import )(\w+)(?:\s+#.*)?$", s)]
            if m and m.group(1) not in FUNCTIONS}


def render(module: Module, local: bool, aliases: set[str] | frozenset[str] = frozenset()) -> str:
    """The module's text; with `local`, first-party imports replaced by the functions'
    definitions (and their callees'), as if each module were written on its own, and the
    module `aliases` dropped from the calls (`zoo.get_lstm()` → `get_lstm()`)."""
    doc = module.doc or (f"{Path(module.path).stem.replace('_', ' ').capitalize()} of deepkit "
                         f"({Path(module.path).parent.name}).\n\nSee docs/{Path(module.path).parent.name}.md "
                         "for what each function is for and which runs use it.")
    text = f'"""{doc}\n"""\n' + (HEADER if module.keras else "")
    if local:
        own = set(module.defines)
        copied = [n for n in _closure([n for _, names in module.imports for n in names]) if n not in own]
        # A defined function's callees from other modules are copied too.
        copied += [n for n in _closure(list(module.defines)) if n not in own and n not in copied]
        imports = [s for s, _ in module.imports if s in KEPT_IN_COPIES]
    else:
        copied = []
        imports = [s for s, _ in module.imports]
    if imports:
        text += "\n" + "\n".join(imports) + "\n"
    definitions = [_documented(FUNCTIONS[n].source) for n in copied + list(module.defines)]
    if definitions:
        text += "\n\n" + "\n\n".join(definitions)
    text += module.body
    return _strip_aliases(text, aliases) if local else text


def users_of(path: str, experiments: int = 36, seed: int = 0) -> list[str]:
    """The modules whose own or imported functions call, at any depth, a function defined in
    `path`: those whose findings an edit of `path` can change."""
    modules, _ = _modules(experiments, seed)
    home = {name: m.path for m in modules for name in m.defines}
    users = []
    for module in modules:
        used = _closure([n for _, names in module.imports for n in names] + list(module.defines))
        if module.path != path and any(home.get(n) == path for n in used):
            users.append(module.path)
    return users


def write_corpus(root: Path, local: bool = False, experiments: int = 36, seed: int = 0) -> list[Expected]:
    """Write the package under `root` (with a pyproject.toml whose [tool.gradlint] makes
    `root` the configuration root) and return the findings it must give."""
    modules, expected = _modules(experiments, seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("[tool.gradlint]\nrespect-gitignore = false\n")
    aliases = set().union(*map(_aliases, modules))
    for module in modules:
        path = root / module.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(module, local, aliases))
    return expected


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "deepkit-corpus")
    for e in write_corpus(target, local="--local" in sys.argv):
        print(("must find " if e.present else "must not find ") + f"{e.code} in {e.path}: {e.why}")
