"""User-facing errors: the CLI prints them as one line and exits non-zero, without a traceback."""


class MellaError(Exception):
    """A problem with the user's input or environment (bad flag, bad task file, missing model)."""


class TaskError(MellaError):
    """A task file that does not validate. The message names the file, the key and what was expected."""

    def __init__(self, path, key: str, problem: str):
        self.path, self.key, self.problem = path, key, problem
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{where}: {problem}")


class DataError(MellaError):
    """A dataset that cannot be used at all (missing file, missing mapped column)."""
