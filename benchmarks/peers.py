"""Optional peers: the same gradient outside JAX, where one is written and installed.

numpy: the hand-written formula, line for line, in numpy (eager, one temporary per
operation, one thread). torch: torch.autograd on torch's own forward. Both run on the host
CPU only, on host copies of the benchmark inputs made before timing. A case without a peer
is reported as not available; nothing is stood in for it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

PEER_IMPLS: tuple[str, ...] = ("numpy", "torch")


def _np_sigmoid_grad(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # as handwritten: e^{-|x|} never overflows
    return e / np.square(1 + e)


def _np_tanh_grad(x: np.ndarray) -> np.ndarray:
    e = np.exp(-2 * np.abs(x))
    return 4 * e / np.square(1 + e)


def _np_relu_grad(x: np.ndarray) -> np.ndarray:
    return (x > 0).astype(x.dtype)


def _np_softmax_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    s = e / e.sum(axis=-1, keepdims=True)
    return s * (g - np.sum(g * s, axis=-1, keepdims=True))


NUMPY: dict[str, Callable[..., np.ndarray]] = {
    "sigmoid_grad": _np_sigmoid_grad,
    "tanh_grad": _np_tanh_grad,
    "relu_grad": _np_relu_grad,
    "softmax_vjp": _np_softmax_vjp,
}


def _torch_forward(case: str) -> Callable[..., Any] | None:
    import torch

    forwards: dict[str, Callable[..., Any]] = {
        "sigmoid_grad": torch.sigmoid,
        "tanh_grad": torch.tanh,
        "relu_grad": torch.relu,
    }
    return forwards.get(case)


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def _torch_program(case: str) -> Callable[..., Any] | None:
    """x -> d forward(x)/dx elementwise by torch.autograd, or None where no peer is written."""
    forward = _torch_forward(case)
    if forward is None:
        return None
    import torch

    def grad(x: Any) -> Any:
        leaf = x.detach().requires_grad_(True)
        y = forward(leaf)
        (dx,) = torch.autograd.grad(y, leaf, grad_outputs=torch.ones_like(y))
        return dx

    return grad


def peer(impl: str, case: str, args: tuple[np.ndarray, ...]) -> tuple[Callable[[], Any] | None, str]:
    """(a zero-argument call of the peer on host copies of `args`, "") where the peer exists,
    else (None, the reason it is not measured)."""
    if impl == "numpy":
        fn = NUMPY.get(case)
        if fn is None:
            return None, "no numpy version written"
        return (lambda: fn(*args)), ""
    if impl == "torch":
        if not torch_installed():
            return None, "torch is not installed"
        program = _torch_program(case)
        if program is None:
            return None, "no torch version written"
        import torch

        tensors = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in args)
        return (lambda: program(*tensors)), ""
    raise ValueError(f"unknown peer {impl!r}; known: {PEER_IMPLS}")
