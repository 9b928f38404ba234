"""Errors that stop a stage with a one-line message (the CLI prints it and exits non-zero)."""

from genlab.config import ConfigError

#: environment variable naming a folder where a process started by torchrun writes its error line (the agent,
#: :mod:`genlab.training.agent`, prints the first); without it the line goes to stderr
ERRORS_DIR = "GENLAB_ERRORS_DIR"


class DataError(RuntimeError):
    """A data source is missing, corrupt or does not match its checksum; the message names the file."""


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message names the model, the step and what to change."""


USER_ERRORS = (ConfigError, DataError, TrainingError)
