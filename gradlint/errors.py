"""Errors that stop gradlint from checking something; the CLI turns them into exit code 2."""


class GradlintError(Exception):
    """Base class: a message fit to show a user as it is."""


class ConfigError(GradlintError):
    """A setting in pyproject.toml or on the command line is wrong."""


class UsageError(GradlintError):
    """The command line asks for something gradlint cannot do."""
