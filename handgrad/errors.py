"""The command line's one error type (handgrad and `python -m benchmarks` share it)."""


class UsageError(Exception):
    """Bad arguments: reported in one line, exit status 2, before any work starts."""
