"""Errors that stop a stage with a one-line message (the CLI prints it and exits non-zero)."""

from genlab.config import ConfigError

#: environment variable naming a folder where a process started by torchrun writes its error line (the agent,
#: :mod:`genlab.training.agent`, prints the first); without it the line goes to stderr
ERRORS_DIR = "GENLAB_ERRORS_DIR"


class DataError(RuntimeError):
    """A data source is missing, corrupt or does not match its checksum; the message names the file."""


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message names the model, the step and what to change."""


class ResourceError(RuntimeError):
    """The params ask for more than this machine has (memory, processes); the message gives the estimate, what is
    available and the param to lower."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped training after a checkpoint at the current step: the CLI prints the message (when
    there is one: data-parallel ranks other than 0 stay quiet) and exits with 128 + the signal's number."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


USER_ERRORS = (ConfigError, DataError, TrainingError, ResourceError)
