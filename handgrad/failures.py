"""Why a check produced no value to compare: every failure kind a report can name.

A check that ran and returned an array fails on the comparison instead (its `problem` is
then the comparison's: value, nonfinite, shape, dtype, structure, ...). These kinds are the
rest; `EvaluationError` takes only these, so a new one cannot appear undocumented
(docs/grading.md, "Failure kinds", lists them from DESCRIPTIONS, and a test holds the two
together).
"""

from __future__ import annotations

from enum import Enum


class Failure(str, Enum):
    EXCEPTION = "exception"
    BAD_RETURN = "bad-return"
    MISSING = "missing"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASH = "crash"
    AUTODIFF = "autodiff"
    FORBIDDEN = "forbidden"
    IMPORT = "import"
    PROTOCOL = "protocol"
    DEVICE = "device"
    STALE_STATE = "stale-state"
    INTERFACE = "interface"


DESCRIPTIONS: dict[Failure, str] = {
    Failure.EXCEPTION: "the formula raised (its own error and line are quoted)",
    Failure.BAD_RETURN: (
        "it returned something other than a JAX array (None, a NumPy array, a tuple, a number), "
        "or changed its dict argument in place"
    ),
    Failure.MISSING: "the submission does not define the function (a near name it does define is pointed out)",
    Failure.TIMEOUT: "a call did not finish within its time (CPU seconds), or the submission's budget is spent",
    Failure.MEMORY: "the worker ran out of its memory cap",
    Failure.CRASH: "the process running the submission died (a signal, an exit, a closed channel)",
    Failure.AUTODIFF: "it uses automatic differentiation (jax.grad, complex-step, ...), in its code or program",
    Failure.FORBIDDEN: "it uses what the allowlist or the runner's program policy does not allow",
    Failure.IMPORT: "the submission did not import (syntax error, an exception at import, unreadable)",
    Failure.PROTOCOL: (
        "the worker sent a message the grader refuses, or grading the function raised an error the grader did "
        "not foresee (which may be a bug in handgrad: the feedback says where it was raised); that submission "
        "alone loses the function"
    ),
    Failure.DEVICE: "the result lives on another device than its inputs",
    Failure.STALE_STATE: (
        "the same input gave another answer later, an earlier call's answer came back, or the first "
        "check on inputs drawn anew was wrong on concrete arrays and right traced"
    ),
    Failure.INTERFACE: (
        "its source takes the contract's keyword otherwise than the contract (huber's delta not its third "
        "parameter, taken only by position or only by name): a caller's huber(a, y, 0.5) or delta=0.5 would fail"
    ),
}

FATAL = frozenset({
    Failure.TIMEOUT, Failure.CRASH, Failure.MEMORY, Failure.AUTODIFF, Failure.FORBIDDEN,
    Failure.MISSING, Failure.IMPORT, Failure.PROTOCOL, Failure.INTERFACE,
})  # fmt: skip
"""Failures after which a function's other checks are not worth running."""
