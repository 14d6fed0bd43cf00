"""User-facing errors and the exit codes of every command.

The CLI prints a MellaError as one line and exits 2, without a traceback; anything else that
escapes a command is a bug: one line naming it, exit 3 (README "Exit codes").
"""

import signal

EXIT_OK = 0  # done; compare: nothing regressed
EXIT_FAILED = 1  # finished, but a score, a gate or a failure limit failed; compare: a regression
EXIT_BAD_INPUT = 2  # bad input or environment (flag, file, folder, full disk); compare: not comparable
EXIT_INTERNAL = 3  # an unexpected error inside mella-eval (a bug: please report it)
# Interrupted by a signal: 128 + its number, as shells report it (130 Ctrl-C, 143 SIGTERM).


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


class OutputError(MellaError):
    """Results could not be written (full disk, read-only folder); the message says what was
    saved where, and how to get the rest."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM (a scheduler's stop, `kill`), raised where Ctrl-C's KeyboardInterrupt would be, so
    the same clean-up runs. A KeyboardInterrupt subclass: code that stops on Ctrl-C stops on it."""

    def __init__(self, signum: int = signal.SIGTERM):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def exception_line(exc: BaseException) -> str:
    """'Type: first line of the message' (or just the type): an error kept in a record or a row."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
