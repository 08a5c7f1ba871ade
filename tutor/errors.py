"""Expected failures: each ends the CLI with one readable line and a documented exit code.

Exit codes: 0 ok, 1 the work failed (model unreachable, store broken), 2 bad usage or bad input.
"""


class TutorError(Exception):
    """An expected failure; `str(error)` is the one line the user reads."""

    exit_code = 1


class UsageError(TutorError):
    """Bad usage or bad input (exit 2)."""

    exit_code = 2


class WorkFailed(TutorError):
    """The work could not be done: a store is broken, a server or model is unreachable (exit 1)."""

    exit_code = 1
