"""A configuration file (`[tool.gradlint]` in pyproject.toml, or a gradlint.toml) → one frozen
Settings object. Which file applies to which checked file is `settings_tree.py`'s job.

Every key is declared once in `_KEYS` with its type; anything else is an error that names the
file and the key, because a silently ignored setting is worse than none.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gradlint.errors import ConfigError
from gradlint.regular_files import NotRegularFile, read_regular_file

# How a configuration file is parsed: a run passes one that parses each file once.
TomlReader = Callable[[Path], dict[str, Any]]

DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".venv", "venv", "env", ".env", "__pycache__", "build", "dist",
    ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".gradlint_cache",
    "node_modules", "site-packages", ".ipynb_checkpoints",
)


@dataclass(frozen=True)
class Settings:
    """Everything that changes what gradlint reports or how it fixes."""

    select: tuple[str, ...] = ("GL", "GR")
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    respect_gitignore: bool = True
    extensions: tuple[str, ...] = ("py", "ipynb")  # file types taken when walking directories
    fix_distribution: str = "normal"  # "normal" | "uniform": for initializers gradlint adds
    saturating_depth: int = 4  # GL301: hidden saturating layers in a row that make a finding
    min_severity: str = "warning"  # report findings of this severity and above ("error": what breaks training)
    clip: str = "clipnorm"  # the optimizer argument GL201's fix adds: clipnorm | clipvalue | global_clipnorm
    clip_value: float = 1.0  # its value, and the norm GL202's fix clips gradients to
    line_length: int = 88  # fixes keep lines within it ([tool.ruff] or [tool.black] line-length, else 88)
    unsafe_fixes: bool = False  # `fix` applies unsafe fixes too (those that replace what the author wrote)
    runtime: Mapping[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = None  # absolute once loaded; default: .gradlint_cache beside the configuration
    use_cache: bool = True
    config_path: Path | None = None  # the configuration file the settings came from (resolved)

    @property
    def root(self) -> Path:
        """Directory that relative patterns in the configuration are anchored to."""
        return self.config_path.parent if self.config_path else Path.cwd()

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _str_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("a list of strings")
    return tuple(value)


KNOWN_EXTENSIONS = ("py", "pyi", "ipynb")


def extensions(values: tuple[str, ...]) -> tuple[str, ...]:
    """`["py", ".ipynb"]` → ("py", "ipynb"); TypeError for a file type gradlint cannot check."""
    cleaned = tuple(dict.fromkeys(v.strip().lstrip(".").lower() for v in values if v.strip()))
    unknown = [v for v in cleaned if v not in KNOWN_EXTENSIONS]
    if unknown or not cleaned:
        raise TypeError(f"a list of file types among {', '.join(map(repr, KNOWN_EXTENSIONS))}")
    return cleaned


def _per_file(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise TypeError("a table of glob = [codes]")
    return {str(k): _str_list(v) for k, v in value.items()}


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise TypeError(" or ".join(repr(a) for a in allowed))
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _table(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("a table")
    return value


# key in pyproject.toml → (Settings field, converter raising TypeError("expected …"))
_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "select": ("select", _str_list),
    "ignore": ("ignore", _str_list),
    "exclude": ("exclude", _str_list),
    "extend-exclude": ("extend_exclude", _str_list),
    "per-file-ignores": ("per_file_ignores", _per_file),
    "respect-gitignore": ("respect_gitignore", _bool),
    "extensions": ("extensions", lambda v: extensions(_str_list(v))),
    "fix-distribution": ("fix_distribution", _choice("normal", "uniform")),
    "saturating-depth": ("saturating_depth", lambda v: _int_at_least(v, 2)),
    "min-severity": ("min_severity", _choice("warning", "error")),
    "clip": ("clip", _choice("clipnorm", "clipvalue", "global_clipnorm")),
    "clip-value": ("clip_value", lambda v: _positive_number(v)),
    "unsafe-fixes": ("unsafe_fixes", _bool),
    "runtime": ("runtime", _table),
    "cache-dir": ("cache_dir", lambda v: _path_string(v)),
    "line-length": ("line_length", lambda v: _int_at_least(v, 1)),
}


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise TypeError("a positive number")
    return float(value)


def _int_at_least(value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise TypeError(f"an integer of at least {low}")
    return value


def _path_string(value: Any) -> Path:
    # An empty string would be the project root itself; a NUL cannot name any file.
    if not isinstance(value, str) or not value or "\0" in value:
        raise TypeError("a non-empty path string without NUL characters")
    return Path(value)


def _project_cache_dir(value: Path, config: Path | None) -> Path:
    """A `cache-dir` read from a configuration file, as the absolute path it names (relative
    to that file's directory). A repository's configuration must not point gradlint at
    anyone else's files: the directory, with every link resolved, must lie strictly inside
    the configuration file's directory. Anywhere else is for the user to ask for, with
    --cache-dir or GRADLINT_CACHE_DIR."""
    root = config.resolve().parent if config else Path.cwd().resolve()
    where = f"{config}: " if config else ""
    try:
        resolved = (root / value).resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links
        raise ConfigError(f"{where}[tool.gradlint] cache-dir {str(value)!r} cannot be resolved: {exc}") from None
    if resolved == root or not resolved.is_relative_to(root):
        raise ConfigError(
            f"{where}[tool.gradlint] cache-dir {str(value)!r} must lie inside the project directory {root} "
            f"(it is {resolved}); use --cache-dir or GRADLINT_CACHE_DIR for a cache elsewhere")
    return resolved


CACHE_DIR_VARIABLE = "GRADLINT_CACHE_DIR"


def command_line_cache_dir(option: str | None, environ: Mapping[str, str]) -> Path | None:
    """`--cache-dir`, else $GRADLINT_CACHE_DIR: anywhere the user names, a relative path taken
    from the current directory (not the configuration's). None when neither is given."""
    if option is not None:
        value, source = option, "--cache-dir"
    elif CACHE_DIR_VARIABLE in environ:
        value, source = environ[CACHE_DIR_VARIABLE], CACHE_DIR_VARIABLE
    else:
        return None
    if not value:
        raise ConfigError(f"{source} is empty: name a directory for the result cache, or leave it unset")
    try:
        return Path(value).resolve()  # `..` as the file system means it, even after a link
    except (OSError, RuntimeError):  # a loop of links: let the cache say it cannot use it
        return Path(value).absolute()


CONFIG_FILE = "gradlint.toml"  # settings at its top level; in one directory it wins over pyproject.toml
PYPROJECT = "pyproject.toml"


def find_config(start: Path, read: TomlReader | None = None) -> Path | None:
    """The nearest configuration at or above `start`: a gradlint.toml, else a pyproject.toml
    with a [tool.gradlint] table. `read`: as for `settings_from_file`.

    Another project's pyproject.toml on the way up that cannot be read or parsed, or whose
    `tool` is not a table, is skipped with a warning naming it: it is not gradlint's to judge.
    One whose text shows a [tool.gradlint] table is returned all the same, for its error to be
    reported rather than skipped past."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.parents):
        path = config_in(candidate, read=read)
        if path is not None:
            return path
    return None


def config_in(directory: Path, names: Container[str] | None = None, read: TomlReader | None = None) -> Path | None:
    """The configuration file of `directory` itself, if it has one. `names`: the directory's
    entries when the caller has listed them (a walk), which saves a stat per candidate;
    `read`: as for `settings_from_file`."""
    def present(name: str) -> bool:
        return (names is None or name in names) and os.path.isfile(directory / name)

    own, pyproject = directory / CONFIG_FILE, directory / PYPROJECT
    if present(CONFIG_FILE):
        if present(PYPROJECT):
            _warn_if_shadowed(pyproject, own)
        return own
    if present(PYPROJECT) and _configures_gradlint(pyproject, read):
        return pyproject
    return None


def _warn_if_shadowed(pyproject: Path, own: Path) -> None:
    """A [tool.gradlint] table beside a gradlint.toml is not read: say so rather than ignore
    it silently."""
    from gradlint.notices import warn

    try:
        shadowed = _GRADLINT_TABLE.search(read_regular_file(pyproject)) is not None
    except (OSError, NotRegularFile):
        return
    if shadowed:
        warn(f"{pyproject}: [tool.gradlint] not read: {own} in the same directory takes precedence")


# A [tool.gradlint] table header, or a `tool.gradlint.…`/`gradlint.…` dotted key, at a line's start.
_GRADLINT_TABLE = re.compile(rb"""(?mx)^[ \t]*(?:
    \[\[?[ \t]*tool[ \t]*\.[ \t]*["']?gradlint\b
  | (?:tool[ \t]*\.[ \t]*)?["']?gradlint["']?[ \t]*[.=])""")


def _configures_gradlint(path: Path, read: TomlReader | None = None) -> bool:
    """Whether this pyproject.toml holds gradlint's settings (or may, if it cannot be parsed)."""
    from gradlint.notices import warn

    try:
        data = (read or read_toml)(path)
    except ConfigError as exc:
        try:
            ours = _GRADLINT_TABLE.search(read_regular_file(path)) is not None
        except (OSError, NotRegularFile):
            ours = False
        if not ours:
            warn(f"{exc}; skipped")
        return ours
    tool = data.get("tool")
    if tool is not None and not isinstance(tool, dict):
        warn(f"{path}: 'tool' must be a table, not {type(tool).__name__}; skipped")
        return False
    return tool is not None and "gradlint" in tool


def read_toml(path: Path) -> dict[str, Any]:
    # Imported here: a run with no configuration file to read never pays for the parser.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        data = read_regular_file(path)
    except NotRegularFile as exc:
        if exc.kind == "directory":
            raise ConfigError(f"{path}: is a directory, not a configuration file") from None
        raise ConfigError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply to read") from None


def load_settings(config: Path | None, start: Path) -> Settings:
    """Settings from `--config` if given, else from the nearest configuration, else defaults.
    The pyproject.toml that `find_config` parsed to see its [tool.gradlint] is not parsed again."""
    read = functools.cache(read_toml)
    if config is not None:
        if not config.exists():
            raise ConfigError(f"{config}: configuration file does not exist")
        path: Path | None = config
    else:
        path = find_config(start, read)
    return Settings() if path is None else settings_from_file(path, read)


def settings_from_file(path: Path, read: TomlReader | None = None) -> Settings:
    """The settings one configuration file gives. `read`: how to parse a TOML file (a run
    passes one that parses each file once)."""
    read = read or read_toml
    data = read(path)
    # A pyproject.toml (or any file with a [tool.gradlint] table) is read there; another
    # TOML file (a gradlint.toml, or one given with --config) holds the settings at its top level.
    nested = isinstance(data.get("tool"), dict) and "gradlint" in data["tool"]
    table = data["tool"]["gradlint"] if nested else ({} if path.name == PYPROJECT else data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.gradlint] must be a table")
    settings = settings_from_table(table, path)
    if "line-length" not in table:
        tool = data["tool"] if nested else _tools_beside(path, read)
        formatter_length = formatters_line_length(tool) if tool else None
        if formatter_length is not None:
            settings = replace(settings, line_length=formatter_length)
    return settings


def _tools_beside(path: Path, read: TomlReader) -> Mapping[str, Any] | None:
    """The [tool] table of the pyproject.toml beside a gradlint.toml, where the project's
    formatter keeps its line length; None when there is none to read (not gradlint's to judge)."""
    if path.name != CONFIG_FILE or not os.path.isfile(path.parent / PYPROJECT):
        return None
    try:
        tool = read(path.parent / PYPROJECT).get("tool")
    except ConfigError:
        return None
    return tool if isinstance(tool, dict) else None


def formatters_line_length(tool: Mapping[str, Any]) -> int | None:
    """`line-length` of [tool.ruff], else of [tool.black]: the lines the project's formatter
    keeps, which fixes keep too. A value those tools would not take is theirs to report."""
    for name in ("ruff", "black"):
        table = tool.get(name)
        value = table.get("line-length") if isinstance(table, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
    return None


def settings_from_table(table: Mapping[str, Any], path: Path | None) -> Settings:
    where = f"{path}: " if path else ""
    values: dict[str, Any] = {"config_path": path.resolve() if path else None}
    for key, value in table.items():
        if key not in _KEYS:
            import difflib

            hint = difflib.get_close_matches(key, _KEYS, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ConfigError(f"{where}unknown key '{key}' in [tool.gradlint]{suggestion}")
        attr, convert = _KEYS[key]
        try:
            values[attr] = convert(value)
        except TypeError as exc:
            raise ConfigError(f"{where}[tool.gradlint] {key} must be {exc}, not {value!r}") from None
    if "cache_dir" in values:
        values["cache_dir"] = _project_cache_dir(values["cache_dir"], path)
    if values.get("runtime"):
        _check_runtime_table(values["runtime"], where)
    settings = Settings(**values)
    _check_patterns(settings, table, where)
    if not {"select", "ignore", "per-file-ignores"} & set(table):
        return settings
    from gradlint.rules import validate_selectors  # the registry knows which codes exist

    for key, selectors in (("select", settings.select), ("ignore", settings.ignore),
                           *(("per-file-ignores", v) for v in settings.per_file_ignores.values())):
        bad = validate_selectors(selectors)
        if bad:
            raise ConfigError(f"{where}[tool.gradlint] {key}: unknown rule code or prefix {bad!r}")
    return settings


def _check_runtime_table(table: Mapping[str, Any], where: str) -> None:
    """[tool.gradlint.runtime] is checked whatever the command, so that a typo there fails
    `check` as it would fail `probe`. Its keys are declared once, beside the probe's options
    (a module that imports no TensorFlow), and read from there only when the table is given."""
    from gradlint.runtime.settings import options_from_table

    try:
        options_from_table(table)
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None


def _check_patterns(settings: Settings, table: Mapping[str, Any], where: str) -> None:
    """A pattern that pathspec cannot compile (`\\`, `[z-a]`, `!`) is a ConfigError naming the
    key and the pattern, before any walk would crash on it."""
    from gradlint.patterns import pattern_error

    for key, patterns in (("exclude", settings.exclude), ("extend-exclude", settings.extend_exclude),
                          ("per-file-ignores", tuple(settings.per_file_ignores))):
        if key not in table:
            continue
        for pattern in patterns:
            problem = pattern_error(pattern)
            if problem is not None:
                raise ConfigError(f"{where}[tool.gradlint] {key}: invalid pattern {pattern!r} ({problem})")
