"""Automatic differentiation reached past the worker's hooks.

The scan is the wall against autodiff; the worker's hooks on jax.grad and on JAX's
differentiating traces only watch, in the submission's own process. Code that got past the
scan (red teams reached the interpreter through memory bugs in C code that calls back
into Python) undid the hooks and ran jax.grad unseen. Each file here does what such code
would do, with the scan bypassed (tests/test_autodiff_off.py): the worker has no
differentiation left (worker.switch_off_differentiation), so none of them gets a value,
and each attempt is told as autodiff.

`fails` is the kind the full grader reports (the scan sees every one of these first);
`runtime` the kind with the scan bypassed, `runtime_sealed` the same in a sealed worker where
it differs: jet imported again from its file is stopped only by the seal, which shows that
file empty (policy.DIFFERENTIATION_SOURCES). Before these, every function here kept its marks.
"""

from __future__ import annotations

from tests.corpus.hostile import Hostile

UNDO_HOOKS = """
from jax._src.interpreters import ad as _ad


def _undo_hooks():
    # The hooks keep what they wrap as a keyword default: put every original back.
    public = ("grad", "vjp", "jvp", "jacfwd", "jacrev", "linearize", "linear_transpose")
    for owner, name in [(_ad.JVPTrace, "__init__"), (_ad.LinearizeTrace, "__init__"), *[(jax, n) for n in public]]:
        hooked = getattr(owner, name)
        original = (getattr(hooked, "__kwdefaults__", None) or {}).get("__original")
        if original is not None:
            setattr(owner, name, original)


_undo_hooks()
"""

BOTH = {"relu_grad": "autodiff", "l2_grad": "autodiff"}

HOSTILE_AUTODIFF: tuple[Hostile, ...] = (
    Hostile(
        "grad-with-the-hooks-undone",
        "puts jax.grad and the traces' constructors back as they were before the hooks, then uses jax.grad",
        UNDO_HOOKS
        + """
def relu_grad(x):
    return jax.vmap(jax.grad(relu))(x.reshape(-1)).reshape(x.shape)


def l2_grad(a, y):
    return jax.grad(lambda v: jnp.sum(l2(v, y)))(a)
""",
        {"relu_grad": "forbidden", "l2_grad": "forbidden"},
        runtime=BOTH,
    ),
    Hostile(
        "forward-mode-through-a-library-rule",
        "with the hooks undone, jax.jvp through jax.nn.relu's own custom_jvp rule, and jacfwd",
        UNDO_HOOKS
        + """
def relu_grad(x):
    return jax.jvp(jax.nn.relu, (x,), (jnp.ones_like(x),))[1]


def l2_grad(a, y):
    return jax.jacfwd(lambda v: jnp.sum(l2(v, y)))(a)
""",
        {"relu_grad": "forbidden", "l2_grad": "forbidden"},
        runtime=BOTH,
    ),
    Hostile(
        "internal-entry-points",
        "with the hooks undone, JAX's own vjp and linearize under jax._src, not the public wrappers",
        UNDO_HOOKS
        + """
from jax._src import api as _api


def relu_grad(x):
    _, back = _api.vjp(lambda v: jnp.sum(relu(v)), x)
    return back(jnp.ones((), x.dtype))[0]


def l2_grad(a, y):
    _, tangent = _api.linearize(lambda v: jnp.sum(l2(v, y)), a)
    eye = jnp.eye(a.size, dtype=a.dtype).reshape(a.size, *a.shape)
    return jax.vmap(tangent)(eye).reshape(a.shape)
""",
        {"relu_grad": "forbidden", "l2_grad": "forbidden"},
        runtime=BOTH,
    ),
    Hostile(
        "taylor-mode",
        "jax.experimental.jet: Taylor-mode differentiation, which no hook watched",
        """
def relu_grad(x):
    from jax.experimental.jet import jet

    return jet(relu, (x,), ((jnp.ones_like(x),),))[1][0]


def l2_grad(a, y):
    from jax.experimental import jet as taylor

    basis = jnp.eye(a.size, dtype=a.dtype).reshape(a.size, *a.shape)
    first = [taylor.jet(lambda v: jnp.sum(l2(v, y)), (a,), ((e,),))[1][0] for e in basis]
    return jnp.stack(first).reshape(a.shape)
""",
        {"relu_grad": "forbidden", "l2_grad": "forbidden"},
        runtime=BOTH,
    ),
    Hostile(
        "taylor-mode-imported-anew",
        "drops the switched-off jet from sys.modules and imports it again from its file",
        """
def relu_grad(x):
    import sys

    sys.modules.pop("jax.experimental.jet", None)
    from jax.experimental.jet import jet

    return jet(relu, (x,), ((jnp.ones_like(x),),))[1][0]
""",
        {"relu_grad": "forbidden"},
        graded=("relu_grad",),
        runtime={},  # (unsealed, jet's file is there: only a sealed worker is shown it empty)
        runtime_sealed={"relu_grad": "exception"},
    ),
    Hostile(
        "taylor-mode-from-its-compiled-copy",
        "loads jet from its compiled copy in __pycache__, or runs its source text, under another name",
        """
def relu_grad(x):
    import importlib.machinery, importlib.util, os, sys
    import jax.experimental as experimental

    folder = os.path.dirname(experimental.__file__)
    compiled = os.path.join(folder, "__pycache__", f"jet.{sys.implementation.cache_tag}.pyc")
    loader = importlib.machinery.SourcelessFileLoader("jet_again", compiled)
    again = importlib.util.module_from_spec(importlib.util.spec_from_loader("jet_again", loader))
    loader.exec_module(again)
    return again.jet(relu, (x,), ((jnp.ones_like(x),),))[1][0]


def l2_grad(a, y):
    import os
    import jax.experimental as experimental

    namespace = {"__name__": "jet_text"}
    with open(os.path.join(os.path.dirname(experimental.__file__), "jet.py")) as source:
        exec(source.read(), namespace)
    basis = jnp.eye(a.size, dtype=a.dtype).reshape(a.size, *a.shape)
    first = [namespace["jet"](lambda v: jnp.sum(l2(v, y)), (a,), ((e,),))[1][0] for e in basis]
    return jnp.stack(first).reshape(a.shape)
""",
        {"relu_grad": "forbidden", "l2_grad": "forbidden"},
        runtime={},
        runtime_sealed={"relu_grad": "exception", "l2_grad": "exception"},
    ),
    Hostile(
        "transpose-of-a-linear-map",
        "with the hooks undone, jax.linear_transpose of the forward's linear part: reverse mode's second half",
        UNDO_HOOKS
        + """
def relu_grad(x):
    mask = lambda v: jnp.where(x > 0, v, jnp.zeros_like(v))
    return jax.linear_transpose(mask, x)(jnp.ones_like(x))[0]
""",
        {"relu_grad": "forbidden"},
        graded=("relu_grad",),
        runtime={"relu_grad": "autodiff"},
    ),
)
