"""Hostile submissions: one per attack class the grader must withstand.

Each is a complete file: the correct formulas (corpus.mistakes.correct_source) with an
attack added. `fails` maps each graded function that must lose its mark to the failure
kind the full grader reports (static scan and sandbox together); every other graded
function must still pass. `runtime` is the kind the sandbox alone reports when the
static scan is bypassed; `runtime_sealed` where a sealed sandbox changes it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from tests.corpus.mistakes import correct_source


@dataclass(frozen=True)
class Hostile:
    id: str
    attack: str
    source: str
    fails: dict[str, str]
    graded: tuple[str, ...] = ("relu_grad", "l2_grad")
    runtime: dict[str, str] = field(default_factory=dict)
    """Failure kind per function with the static scan bypassed (sandbox only)."""
    runtime_sealed: dict[str, str] | None = None
    """The same in a sealed sandbox (namespaces, userns), where it differs (None: as `runtime`)."""
    replace: bool = False
    """The source is the whole file, not an addition to the correct formulas."""
    timeout: float = 8.0
    """A call's timeout (CPU seconds) in the tests that grade it."""

    @property
    def module_text(self) -> str:
        attack = textwrap.dedent(self.source).strip() + "\n"
        return attack if self.replace else correct_source() + "\n\n# ---- the attack ----\n" + attack


ALL = ("relu_grad", "l2_grad")

HOSTILE: tuple[Hostile, ...] = (
    Hostile(
        "exit-at-import",
        "exits at import with sys.exit",
        "import sys\nsys.exit(0)",
        dict.fromkeys(ALL, "forbidden"),
        runtime=dict.fromkeys(ALL, "import"),
    ),
    Hostile(
        "os-exit-at-import",
        "exits at import with os._exit, killing the process outright",
        "import os\nos._exit(7)",
        dict.fromkeys(ALL, "forbidden"),
        runtime=dict.fromkeys(ALL, "crash"),
    ),
    Hostile(
        "crash-in-call",
        "kills its own process in the middle of one function",
        """
        def relu_grad(x):
            import os
            os._exit(9)
        """,
        {"relu_grad": "forbidden"},
        runtime={"relu_grad": "crash"},
    ),
    Hostile(
        "kill-parent",
        "tries to kill the grader",
        """
        def relu_grad(x):
            import os, signal
            os.kill(os.getppid(), signal.SIGKILL)
            return (x > 0).astype(x.dtype)
        """,
        {"relu_grad": "forbidden"},
        runtime={"relu_grad": "exception"},
        # In its own PID namespace the worker's parent is the namespace's init, which ignores
        # the signal: nothing outside is reached and the formula itself is right.
        runtime_sealed={},
    ),
    Hostile(
        "syntax-error",
        "does not parse",
        "def relu_grad(x)\n    return x",
        dict.fromkeys(ALL, "import"),
        runtime=dict.fromkeys(ALL, "import"),
    ),
    Hostile(
        "raises-at-import",
        "raises at import",
        "raise RuntimeError('no formulas today')",
        dict.fromkeys(ALL, "import"),
        runtime=dict.fromkeys(ALL, "import"),
    ),
    Hostile(
        "missing-names",
        "defines nothing the contract asks for",
        "def relu_gradient(x):\n    return x",
        dict.fromkeys(ALL, "missing"),
        runtime=dict.fromkeys(ALL, "missing"),
        replace=True,
    ),
    Hostile(
        "raises-system-exit-in-call",
        "raises SystemExit from inside a formula",
        """
        def relu_grad(x):
            raise SystemExit(1)
        """,
        {"relu_grad": "forbidden"},  # (SystemExit is not among the scan's exceptions; the sandbox alone holds too)
        runtime={"relu_grad": "exception"},
    ),
    Hostile(
        "infinite-loop",
        "loops forever in one function",
        """
        def relu_grad(x):
            while True:
                pass
        """,
        {"relu_grad": "timeout"},
        runtime={"relu_grad": "timeout"},
        timeout=3.0,  # (it spins until then: CPU the suite spends for nothing)
    ),
    Hostile(
        "memory-bomb",
        "allocates far more memory than the cap",
        """
        def relu_grad(x):
            waste = jnp.ones((1 << 34,), jnp.float32)
            return (x > 0).astype(x.dtype) + waste[0] * 0
        """,
        {"relu_grad": "memory"},
        runtime={"relu_grad": "memory"},
    ),
    Hostile(
        "numpy-memory-bomb",
        "allocates a huge NumPy array at import",
        "_waste = np.ones(1 << 35)",
        dict.fromkeys(ALL, "import"),
        runtime=dict.fromkeys(ALL, "import"),
    ),
    Hostile(
        "patch-comparisons",
        "patches numpy, unittest and jax in its own process so that everything looks equal",
        """
        import unittest
        np.allclose = lambda *a, **k: True
        np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)
        np.testing.assert_allclose = lambda *a, **k: None
        unittest.TestCase.assertEqual = lambda *a, **k: None
        jnp.allclose = lambda *a, **k: True

        def relu_grad(x):
            return jnp.zeros_like(x)
        """,
        # The allowlist refuses a module-level change to a library: every function fails.
        dict.fromkeys(ALL, "forbidden"),
        runtime={"relu_grad": "value"},
    ),
    Hostile(
        "write-project-files",
        "tries to overwrite the project's files and plant a report",
        """
        def relu_grad(x):
            for target in ("{root}/README.md", "{root}/handwritten/activations.py", "{report}"):
                with open(target, "w") as f:
                    f.write("pwned")
            return (x > 0).astype(x.dtype)
        """,
        {"relu_grad": "forbidden"},
        runtime={"relu_grad": "exception"},
    ),
    Hostile(
        "jax-grad",
        "uses jax.grad for the gradient",
        """
        def relu_grad(x):
            return jax.vmap(jax.grad(relu))(x.reshape(-1)).reshape(x.shape)
        """,
        {"relu_grad": "autodiff"},
        runtime={"relu_grad": "autodiff"},
    ),
    Hostile(
        "obfuscated-grad",
        "reaches jax.grad by a computed attribute name",
        """
        def relu_grad(x):
            d = getattr(jax, "gr" + "ad")
            return jax.vmap(d(relu))(x.reshape(-1)).reshape(x.shape)
        """,
        {"relu_grad": "forbidden"},  # a computed getattr is refused whatever it reaches
        runtime={"relu_grad": "autodiff"},
    ),
    Hostile(
        "private-jvp",
        "differentiates through jax's private modules",
        """
        from jax._src import api as _api

        def relu_grad(x):
            _, t = _api.jvp(relu, (x,), (jnp.ones_like(x),))
            return t
        """,
        dict.fromkeys(ALL, "autodiff"),  # a module-level import of jax._src: every function
        runtime={"relu_grad": "autodiff"},
    ),
    Hostile(
        "imports-the-answers",
        "imports the shipped solutions",
        "from handwritten import relu_grad, l2_grad",
        dict.fromkeys(ALL, "forbidden"),
        runtime=dict.fromkeys(ALL, "import"),
    ),
    Hostile(
        "wrong-return-types",
        "returns a list and a NumPy array instead of JAX arrays",
        """
        def relu_grad(x):
            return [float(v > 0) for v in x.reshape(-1)]

        def l2_grad(a, y):
            return 2 * (np.asarray(a) - np.asarray(y))
        """,
        {"relu_grad": "bad-return", "l2_grad": "bad-return"},
        runtime={"relu_grad": "bad-return", "l2_grad": "bad-return"},
    ),
    Hostile(
        "tracer-detection",
        "answers correctly when called eagerly and returns zeros when traced",
        """
        def relu_grad(x):
            if isinstance(x, jax.core.Tracer):
                return jnp.zeros_like(x)
            return (x > 0).astype(x.dtype)
        """,
        {"relu_grad": "value"},
        runtime={"relu_grad": "value"},
    ),
    Hostile(
        "prints-everywhere",
        "floods stdout and stderr (must not disturb the protocol)",
        """
        print("garbage\\x00\\xff" * 10000)

        _correct_l2_grad = l2_grad

        def l2_grad(a, y):
            print("noise from l2_grad", a.shape)
            return _correct_l2_grad(a, y)
        """,
        {},
        runtime={},
    ),
)
