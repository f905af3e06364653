"""`gradlint signal PATH...`: the static prediction of each model's gradient flow, in
milliseconds, without TensorFlow."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import click

from gradlint.signal.report import ModelSignal, to_json, to_text


@click.command("signal")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--output-format", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--config", type=click.Path(path_type=Path), help="pyproject.toml (or TOML file) to read settings from.")
def signal(paths: tuple[Path, ...], output_format: str, config: Path | None) -> None:
    """Predict each model's forward scale and backward signal, layer by layer (static; no TensorFlow).

    The verdict uses the probe's thresholds: vanishing below a first/last backward ratio of
    1e-3, exploding above 1e3 (or forward growth above 1e3)."""
    from gradlint.config import load_settings
    from gradlint.discovery import discover
    from gradlint.errors import GradlintError

    paths = paths or (Path("."),)
    try:
        settings = load_settings(config, paths[0] if paths[0].exists() else Path.cwd())
        files = list(discover(paths, settings))
    except GradlintError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    models: list[ModelSignal] = []
    failed = False
    for found in files:
        if found.problem:  # a path that does not exist, a FIFO: never opened
            click.echo(f"error: {found.display}: {found.problem}", err=True)
            failed = True
            continue
        try:
            models.extend(models_in(found.path, found.display))
        except _Unreadable as exc:
            click.echo(f"error: {found.display}: {exc}", err=True)
            failed = True
        except (RecursionError, MemoryError, ArithmeticError, ValueError) as exc:
            # One file the model cannot handle must not cost the others their predictions.
            click.echo(f"error: internal error while predicting {found.display}: {type(exc).__name__}: {exc}", err=True)
            failed = True
    click.echo((to_json if output_format == "json" else to_text)(models), nl=False)
    sys.exit(2 if failed else 0)


class _Unreadable(Exception):
    pass


def models_in(path: Path, display: str) -> list[ModelSignal]:
    """The models (stacks of two or more weighted layers) one file builds."""
    from gradlint.files import UnreadableFile, read_source

    try:
        source = read_source(path)
    except UnreadableFile as exc:
        raise _Unreadable(str(exc)) from None
    text, layout = source.text, None
    if path.suffix == ".ipynb":
        from gradlint.notebook import (
            NotebookError,
            build_virtual_module,
            parse_notebook,
        )

        try:
            module = build_virtual_module(parse_notebook(text))
        except NotebookError as exc:
            raise _Unreadable(str(exc)) from None
        text, layout = module.text, module.layout()
    return models_in_text(text, display, layout)


def models_in_text(text: str, display: str, layout: object = None) -> list[ModelSignal]:
    from gradlint.graph.model import build_graph
    from gradlint.graph.source import SourceText
    from gradlint.signal.from_graph import signal_of

    if "keras" not in text and "tensorflow" not in text and "torch" not in text and "flax" not in text:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        raise _Unreadable(f"cannot be parsed: {exc}") from None
    graph = build_graph(tree, SourceText(text), display)
    found = []
    for model in signal_of(graph).models:
        if model.layers < 2:
            continue
        row, cell = model.line, None
        if layout is not None:
            cell, row = layout.row_of(row)  # type: ignore[attr-defined]
        function = model.description.name
        found.append(ModelSignal(display, None if function == "<module>" else function, row, cell, model))
    return found
