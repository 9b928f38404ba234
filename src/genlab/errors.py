"""Errors that stop a stage with a one-line message (the CLI prints it and exits non-zero)."""

from genlab.config import ConfigError


class DataError(RuntimeError):
    """A data source is missing, corrupt or does not match its checksum; the message names the file."""


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message names the model, the step and what to change."""


USER_ERRORS = (ConfigError, DataError, TrainingError)
