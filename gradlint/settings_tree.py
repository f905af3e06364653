"""Which settings apply to each checked file: the nearest configuration at or above its
directory, as ruff finds them, with the command line's options laid over every one.

A file's settings come from the nearest directory, at or above the file's own, holding a
gradlint.toml or a pyproject.toml with a [tool.gradlint] table (in one directory gradlint.toml
wins, as ruff reads ruff.toml before pyproject.toml). A configuration stands alone: a key it does
not set takes gradlint's default, not the value of a configuration further up. With `--config`,
that one file applies to every file. Within one run each configuration file is parsed once and
each directory looked up once, so that a walk over thousands of directories costs no more than
listing them.
"""

from __future__ import annotations

import os
from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradlint.config import Settings, config_in, read_toml, settings_from_file
from gradlint.errors import ConfigError


@dataclass(frozen=True)
class Overrides:
    """The command line's options, laid over each file's settings: `select` (when given)
    replaces the configured list, `extend_select` and `ignore` add to it, the others replace
    the configured value when given."""

    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extensions: tuple[str, ...] | None = None
    min_severity: str | None = None
    unsafe_fixes: bool | None = None
    cache_dir: Path | None = None
    use_cache: bool | None = None

    def apply(self, settings: Settings) -> Settings:
        return settings.with_overrides(
            select=(*(self.select or settings.select), *self.extend_select),
            ignore=(*settings.ignore, *self.ignore),
            extensions=self.extensions,
            min_severity=self.min_severity,
            unsafe_fixes=self.unsafe_fixes,
            cache_dir=self.cache_dir,
            use_cache=self.use_cache,
        )


class SettingsTree:
    """The settings of one run, per directory. Every file under one configuration gets the
    same Settings object (which the result cache and the workers rely on to group files)."""

    def __init__(self, config: Path | None = None, overrides: Overrides | None = None,
                 fixed: Settings | None = None) -> None:
        self.config = config
        self.overrides = overrides or Overrides()
        self._toml: dict[str, dict[str, Any] | ConfigError] = {}
        self._loaded: dict[str, Settings] = {}  # configuration file (real path) → settings
        self._config_of: dict[str, Path | None] = {}  # directory (real path) → its own configuration
        self._by_directory: dict[str, Settings] = {}  # directory (real path) → settings of its files
        self._defaults: Settings | None = None
        self._fixed = fixed
        if fixed is None and config is not None:
            if not config.exists():
                raise ConfigError(f"{config}: configuration file does not exist")
            self._fixed = self.load(config)

    @classmethod
    def single(cls, settings: Settings) -> SettingsTree:
        """A tree that gives `settings` to every file (an API caller's one Settings)."""
        return cls(fixed=settings)

    @property
    def is_single(self) -> bool:
        """One configuration for every file (`--config`, or `single`)."""
        return self._fixed is not None

    def read(self, path: Path) -> dict[str, Any]:
        """A TOML file's data, parsed once per run; its error, once found, raised each time."""
        key = os.path.realpath(path)
        if key not in self._toml:
            try:
                self._toml[key] = read_toml(path)
            except ConfigError as exc:
                self._toml[key] = exc
        found = self._toml[key]
        if isinstance(found, ConfigError):
            raise found
        return found

    def load(self, path: Path) -> Settings:
        """The settings one configuration file gives, with the command line's on top."""
        key = os.path.realpath(path)
        if key not in self._loaded:
            self._loaded[key] = self.overrides.apply(settings_from_file(path, self.read))
        return self._loaded[key]

    def defaults(self) -> Settings:
        """For a file with no configuration above it: gradlint's defaults, anchored at the
        current directory."""
        if self._defaults is None:
            self._defaults = self.overrides.apply(Settings())
        return self._defaults

    def for_path(self, path: Path) -> Settings:
        """The settings of a file (those of its directory), or of the files directly in a
        directory."""
        return self.for_directory(path if os.path.isdir(path) else path.parent)

    def for_directory(self, directory: Path | str) -> Settings:
        """The settings of the files directly in `directory`: the nearest configuration at or
        above it. A directory that does not exist (an editor's unsaved buffer) is looked up
        from there all the same."""
        if self._fixed is not None:
            return self._fixed
        current = os.path.realpath(directory or ".")
        chain: list[str] = []
        while True:
            settings = self._by_directory.get(current)
            if settings is not None:
                break
            chain.append(current)
            config = self._own_config(current)
            if config is not None:
                settings = self.load(config)
                break
            parent = os.path.dirname(current)
            if parent == current:
                settings = self.defaults()
                break
            current = parent
        for seen in chain:
            self._by_directory[seen] = settings
        return settings

    def below(self, real: str, names: Container[str], parent: Settings) -> Settings:
        """The settings of a directory a walk entered from one with `parent`: its own
        configuration if it has one, else the parent's. `names`: its entries."""
        if self._fixed is not None:
            return self._fixed
        settings = self._by_directory.get(real)
        if settings is None:
            config = self._own_config(real, names)
            settings = self._by_directory[real] = self.load(config) if config is not None else parent
        return settings

    def _own_config(self, real: str, names: Container[str] | None = None) -> Path | None:
        if real not in self._config_of:
            self._config_of[real] = config_in(Path(real), names, self.read)
        return self._config_of[real]
