"""Submissions for the allowlist check (handgrad/scan.py): hostile ones it must refuse, and
correct but unusual ones it must let through.

A submission is a set of files: "submission.py" alone is a one-file submission, anything
else is a package directory "pkg/" (its __init__.py among them). BASE, a correct relu_grad
and l2_grad, is prepended to every one-file hostile submission, so an attack is only the
code it adds. The line an attack must be refused on is marked with `# <-`; the test finds
it there, so the expected file:line is written once, in the source itself.
"""

from __future__ import annotations

import base64
import os
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

BASE = """\
import jax
import jax.numpy as jnp
from jax import lax


def relu(x):
    return jnp.maximum(x, 0.0)


def relu_grad(x):
    return (x > 0).astype(x.dtype)


def l2_grad(a, y):
    return 2 * (a - y)
"""
MARK = "# <-"
BOTH = ("relu_grad", "l2_grad")


@dataclass(frozen=True)
class Submission:
    id: str
    about: str
    files: Mapping[str, str]
    """Path (relative to the submission) -> source; dedented, BASE prepended to a
    one-file hostile submission."""
    encodings: Mapping[str, str] = field(default_factory=dict)
    """Path -> the encoding its bytes are written in (default utf-8)."""
    raw: Mapping[str, bytes] = field(default_factory=dict)
    """Path -> bytes written as they are (compiled files, data)."""
    links: Mapping[str, str] = field(default_factory=dict)
    """Path -> symbolic link target."""
    package: str = "pkg"
    """The package directory's name, where the submission is a package."""
    line: int = 0
    """The line of the finding on a raw file (0: the file as a whole)."""

    @property
    def is_package(self) -> bool:
        return set(self.files) | set(self.raw) != {"submission.py"}

    def text(self, name: str) -> str:
        return textwrap.dedent(self.files[name]).lstrip("\n")

    def write(self, root: Path) -> Path:
        """Write it under `root`; the path to hand to the scan."""
        base = root / self.package if self.is_package else root
        for name in [*self.files, *self.raw, *self.links]:
            (base / name).parent.mkdir(parents=True, exist_ok=True)
        for name in self.files:
            (base / name).write_bytes(self.text(name).encode(self.encodings.get(name, "utf-8")))
        for name, data in self.raw.items():
            (base / name).write_bytes(data)
        for name, target in self.links.items():
            os.symlink(target, base / name)
        return base if self.is_package else base / "submission.py"

    def marked(self) -> tuple[str, int]:
        """(file, line) of the `# <-` mark; (file, 0) for a marked raw file or link."""
        for name in self.files:
            for number, line in enumerate(self.text(name).splitlines(), 1):
                if MARK in line:
                    return name, number
        return [*self.raw, *self.links][0], self.line


@dataclass(frozen=True)
class Hostile(Submission):
    kind: str = "autodiff"
    """The kind of the finding on the marked line."""
    rule: str = ""
    """Words the finding on the marked line must contain (what a student reads)."""
    refused: tuple[str, ...] = BOTH
    """The functions the scan must refuse; every other of BOTH must stay allowed."""


def utf7_hidden(text: str, secret: str) -> bytes:
    """`text` as UTF-7 with `secret` written in UTF-7's base64 form, so that a reader
    that decodes the file as UTF-8 sees "+AGoA...-" where Python sees the secret."""
    hidden = base64.b64encode(secret.encode("utf-16-be")).decode().rstrip("=")
    return text.replace(secret, f"+{hidden}-").encode("ascii")


def one_file(attack: str) -> dict[str, str]:
    return {"submission.py": BASE + "\n\n" + textwrap.dedent(attack).lstrip("\n")}


def h(id: str, about: str, attack: str, kind: str, rule: str, refused: tuple[str, ...] = BOTH, **kw: object) -> Hostile:
    return Hostile(id, about, one_file(attack), kind=kind, rule=rule, refused=refused, **kw)  # type: ignore[arg-type]


HOSTILE: tuple[Hostile, ...] = (
    # ---- dynamic resolution -----------------------------------------------------------------
    h(
        "getattr-name-from-a-table",
        "reaches jax.grad by getattr with a name held in a tuple",
        """
        _NAMES = ("grad", "vmap")

        def relu_grad(x):
            d = getattr(jax, _NAMES[0])  # <-
            return jax.vmap(d(relu))(x.reshape(-1)).reshape(x.shape)
        """,
        "dynamic",
        "`getattr` is allowed only with an attribute on the allowlist",
        ("relu_grad",),
    ),
    h(
        "pkgutil-resolve-name",
        "resolves jax.experimental.jet by name at import",
        """
        import pkgutil  # <-

        _jet = pkgutil.resolve_name("jax.experimental.jet:jet")
        """,
        "dynamic",
        "`pkgutil` reaches code dynamically",
    ),
    h(
        "dunder-import-in-call",
        "imports importlib through __import__ inside a formula",
        """
        def relu_grad(x):
            api = __import__("importlib").import_module("jax")  # <-
            return api.vmap(api.grad(relu))(x)
        """,
        "dynamic",
        "`__import__` is a Python internal",
        ("relu_grad",),
    ),
    h(
        "operator-attrgetter",
        "fetches jax.grad with operator.attrgetter",
        """
        from operator import attrgetter  # <-

        def relu_grad(x):
            return jax.vmap(attrgetter("grad")(jax)(relu))(x)
        """,
        "system",
        "`operator.attrgetter` is not on the allowlist",
        ("relu_grad",),
    ),
    h(
        "builtins-mapping",
        "calls eval through the module's __builtins__",
        """
        def relu_grad(x):
            ev = __builtins__["eval"]  # <-
            return ev("jax.vmap(jax.grad(relu))")(x)
        """,
        "dynamic",
        "`__builtins__` is a Python internal",
        ("relu_grad",),
    ),
    h(
        "subclasses-walk",
        "walks object's subclasses to find an importer",
        """
        def relu_grad(x):
            loaders = [c for c in ().__class__.__base__.__subclasses__() if "Loader" in str(c)]  # <-
            return (x > 0).astype(x.dtype) + 0 * len(loaders)
        """,
        "dynamic",
        "`.__class__` is a Python internal",
        ("relu_grad",),
    ),
    h(
        "type-builds-a-class",
        "builds a class with type(name, bases, namespace)",
        """
        def relu_grad(x):
            t = type("T", (), {"f": staticmethod(jax.grad)})  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "the builtin `type` is allowed only as `type(x)`",
        ("relu_grad",),
    ),
    h(
        "shadowed-builtin-deleted",
        "binds getattr at module level, deletes it, and calls the builtin with a computed name",
        """
        getattr = None
        del getattr

        def relu_grad(x):
            d = getattr(jax, "gr" + "ad")  # <-
            return jax.vmap(d(relu))(x)
        """,
        "dynamic",
        "`getattr` is allowed only with an attribute on the allowlist",
        ("relu_grad",),
    ),
    h(
        "module-as-value",
        "passes the jax module around and takes grad from the parameter",
        """
        def _take(m, x):
            return m.vmap(m.grad(relu))(x)

        def relu_grad(x):
            return _take(jax, x)  # <-
        """,
        "dynamic",
        "the module `jax` is used as a value",
        ("relu_grad",),
    ),
    h(
        "global-import-in-a-helper",
        "a helper declares `global J` and imports jax as J; the formula then uses J.grad",
        """
        def _setup():
            global J
            import jax as J

        def relu_grad(x):
            _setup()
            return J.vmap(J.grad(relu))(x)  # <-
        """,
        "autodiff",
        "`J.grad` (that is `jax.grad`)",
        ("relu_grad",),
    ),
    h(
        "nonlocal-import",
        "an inner function imports jax into its enclosing function's name",
        """
        def relu_grad(x):
            j = None

            def load():
                nonlocal j
                import jax as j

            load()
            return j.vmap(j.grad(relu))(x)  # <-
        """,
        "autodiff",
        "`j.grad` (that is `jax.grad`)",
        ("relu_grad",),
    ),
    h(
        "import-in-a-class-body",
        "imports jax inside a class body and reaches it as a class attribute",
        """
        class _K:
            import jax  # <-

        def relu_grad(x):
            return _K.jax.vmap(_K.jax.grad(relu))(x)
        """,
        "dynamic",
        "an import inside a class body",
    ),
    h(
        "module-getattr-hook",
        "answers for missing names through a module-level __getattr__",
        """
        def __getattr__(name):  # <-
            return jax.vmap(jax.grad(relu))
        """,
        "dynamic",
        "defining `__getattr__` at module level",
    ),
    h(
        "generator-frame-builtins",
        "takes eval from a generator frame's builtins",
        """
        def _gen():
            yield

        def relu_grad(x):
            ev = _gen().gi_frame.f_builtins["eval"]  # <-
            return ev("jax.vmap(jax.grad(relu))")(x)
        """,
        "dynamic",
        "reaches the interpreter's frames",
        ("relu_grad",),
    ),
    # ---- string tricks ----------------------------------------------------------------------
    h(
        "base64-exec",
        "decodes base64 text and runs it",
        """
        import base64  # <-

        exec(base64.b64decode(b"aW1wb3J0IGpheA=="))
        """,
        "dynamic",
        "`base64` reaches code dynamically",
    ),
    h(
        "rot13-name",
        "decodes a rot13 name with codecs",
        """
        import codecs  # <-

        _name = codecs.decode("tenq", "rot13")
        """,
        "dynamic",
        "`codecs`",
    ),
    h(
        "chr-joined-name",
        "builds 'grad' from character codes",
        """
        def relu_grad(x):
            name = "".join(chr(c) for c in (103, 114, 97, 100))  # <-
            return jax.vmap(jax.numpy.vectorize(relu))(x) if name == "" else (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "the builtin `chr`",
        ("relu_grad",),
    ),
    h(
        "dunder-string-concatenation",
        "assembles '__import__' from two halves",
        """
        def relu_grad(x):
            key = "__" + "import__"  # <-
            return (x > 0).astype(x.dtype) if key else x
        """,
        "dynamic",
        "names a Python internal",
        ("relu_grad",),
    ),
    h(
        "eval-of-a-string",
        "evaluates a string that names jax.grad",
        """
        def relu_grad(x):
            return eval("jax.vmap(jax.grad(relu))")(x)  # <-
        """,
        "dynamic",
        "the builtin `eval`",
        ("relu_grad",),
    ),
    # ---- encodings ----------------------------------------------------------------------------
    Hostile(
        "utf-7-source",
        "hides jax.grad in a file declared as utf-7 (line 12)",
        {},
        raw={
            "submission.py": utf7_hidden(
                "# coding: utf-7\n" + BASE.replace("(x > 0).astype(x.dtype)", "jax.vmap(jax.grad(relu))(x)"), "jax.grad"
            )
        },
        line=12,
        kind="autodiff",
        rule="`jax.grad` is automatic differentiation",
        refused=("relu_grad",),
    ),
    Hostile(
        "unicode-escape-cookie",
        "a file declared as unicode_escape, so that `jax.\\x67rad` reads as jax.grad (line 12)",
        {},
        raw={
            "submission.py": (
                "# coding: unicode_escape\n"
                + BASE.replace("(x > 0).astype(x.dtype)", "jax.vmap(jax.\\x67rad(relu))(x)")
            ).encode("ascii")
        },
        line=12,
        kind="autodiff",
        rule="`jax.grad` is automatic differentiation",
        refused=("relu_grad",),
    ),
    Hostile(
        "latin-1-cookie",
        "a latin-1 file whose non-ASCII bytes are not UTF-8",
        {
            "submission.py": "# -*- coding: latin-1 -*-\n"
            + BASE
            + '\n\ndef l2_grad(a, y):\n    """Dérivée."""\n'
            + "    return jax.grad(lambda a: ((a - y) ** 2).sum())(a)  # <-\n"
        },
        encodings={"submission.py": "latin-1"},
        kind="autodiff",
        rule="`jax.grad`",
        refused=("l2_grad",),
    ),
    Hostile(
        "utf-16-with-bom",
        "a UTF-16 file (Python cannot read it; the scan must not call it clean)",
        {},
        raw={"submission.py": BASE.encode("utf-16")},
        kind="unreadable",
        rule="cannot be read as Python",
    ),
    Hostile(
        "undecodable-bytes",
        "bytes that are not UTF-8 and no cookie",
        {"__init__.py": BASE},
        raw={"extra.py": b"x = '\xff\xfe'\n"},
        line=1,
        kind="unreadable",
        rule="cannot be read as Python",
    ),
    # ---- bytecode ---------------------------------------------------------------------------
    Hostile(
        "pyc-beside-package",
        "a package whose __init__.py imports a compiled impl.pyc",
        {"__init__.py": "from .impl import relu_grad, l2_grad\n"},
        raw={"impl.pyc": b"\x6f\x0d\x0d\x0a" + bytes(12) + b"compiled"},
        kind="system",
        rule="compiled Python",
    ),
    Hostile(
        "pycache-shadow",
        "a clean impl.py with a __pycache__ entry Python would load instead",
        {"__init__.py": "from .impl import relu_grad, l2_grad\n", "impl.py": BASE},
        raw={"__pycache__/impl.cpython-311.pyc": b"\x6f\x0d\x0d\x0a" + bytes(12)},
        kind="system",
        rule="compiled Python",
    ),
    h(
        "marshal-code",
        "loads a code object with marshal",
        """
        import marshal  # <-

        _code = marshal.loads(b"")
        """,
        "dynamic",
        "`marshal`",
    ),
    # ---- autodiff by other names ------------------------------------------------------------
    h(
        "experimental-jet",
        "imports jax.experimental.jet",
        """
        from jax.experimental import jet  # <-
        """,
        "autodiff",
        "`jax.experimental` is JAX's internals",
    ),
    h(
        "make-jaxpr-at-import",
        "captures jax.grad's program at import and replays it in the call",
        """
        _J = jax.make_jaxpr(jax.grad(relu))(1.0)  # <-

        def relu_grad(x):
            return jax.core.eval_jaxpr(_J.jaxpr, _J.consts, x)[0]
        """,
        "autodiff",
        "`jax.make_jaxpr` is automatic differentiation",
    ),
    h(
        "linear-transpose",
        "transposes the linear map to get the vjp",
        """
        def l2_grad(a, y):
            t = jax.linear_transpose(lambda v: v, a)  # <-
            return 2 * t(a - y)[0]
        """,
        "autodiff",
        "`jax.linear_transpose`",
        ("l2_grad",),
    ),
    h(
        "jacobian",
        "takes the diagonal of jax.jacobian",
        """
        from jax import jacobian  # <-

        def relu_grad(x):
            return jnp.diagonal(jacobian(relu)(x))
        """,
        "autodiff",
        "`jax.jacobian`",
        ("relu_grad",),
    ),
    h(
        "custom-jvp-decorator",
        "defines relu as a custom_jvp at import",
        """
        @jax.custom_jvp  # <-
        def _r(x):
            return relu(x)
        """,
        "autodiff",
        "`jax.custom_jvp`",
    ),
    h(
        "library-jvp-rule",
        "calls the jvp rule JAX attaches to jax.nn.relu",
        """
        def relu_grad(x):
            return jax.nn.relu.jvp((x,), (jnp.ones_like(x),))[1]  # <-
        """,
        "autodiff",
        "JAX's own differentiation rule",
        ("relu_grad",),
    ),
    h(
        "match-class-pattern",
        "reads jax.nn.relu's jvp rule through a class pattern's keyword",
        """
        def relu_grad(x):
            match jax.nn.relu:
                case object(jvp=rule):  # <-
                    return rule((x,), (jnp.ones_like(x),))[1]
        """,
        "dynamic",
        "a class pattern reading `jvp`",
        ("relu_grad",),
    ),
    h(
        "traced-program",
        "reads the traced program of a jitted function",
        """
        def relu_grad(x):
            eqns = jax.jit(jax.nn.relu).trace(x).jaxpr.eqns  # <-
            return (x > 0).astype(x.dtype) + 0 * len(eqns)
        """,
        "dynamic",
        "reaches JAX's traced program",
        ("relu_grad",),
    ),
    h(
        "sympy",
        "differentiates symbolically",
        """
        import sympy  # <-
        """,
        "autodiff",
        "`sympy` is automatic differentiation",
    ),
    # ---- complex-step -----------------------------------------------------------------------
    h(
        "complex-literal",
        "complex-step derivative Im f(x + ih) / h",
        """
        def relu_grad(x):
            h = 1e-20
            return jnp.imag(relu(x + 1j * h)) / h  # <-
        """,
        "autodiff",
        "the complex number `1j`",
        ("relu_grad",),
    ),
    h(
        "complex-dtype-name",
        "complex-step through jnp.complex128",
        """
        def l2_grad(a, y):
            z = a.astype(jnp.complex128)  # <-
            return (z - y).real * 2
        """,
        "autodiff",
        "`jnp.complex128` (that is `jax.numpy.complex128`) is complex arithmetic",
        ("l2_grad",),
    ),
    h(
        "complex-dtype-string",
        "complex-step through astype('complex64')",
        """
        def l2_grad(a, y):
            return 2 * (a - y).astype("complex64")  # <-
        """,
        "autodiff",
        "the complex dtype 'complex64'",
        ("l2_grad",),
    ),
    h(
        "complex-dtype-sliced-out",
        "slices a complex dtype's name out of a longer string",
        """
        def l2_grad(a, y):
            return 2 * (a - y).astype("xcomplex128"[1:])  # <-
        """,
        "autodiff",
        "names a complex dtype",
        ("l2_grad",),
    ),
    h(
        "complex-dtype-chosen-by-index",
        "picks NumPy's code 'D' out of a string at run time",
        """
        def l2_grad(a, y):
            return 2 * (a - y).astype("FD"[1])  # <-
        """,
        "dynamic",
        "a dtype given by a computed string",
        ("l2_grad",),
    ),
    h(
        "complex-type-code",
        "complex-step through NumPy's one-letter code 'D'",
        """
        def l2_grad(a, y):
            return 2 * jnp.asarray(a - y, "D")  # <-
        """,
        "autodiff",
        "the complex dtype 'D'",
        ("l2_grad",),
    ),
    h(
        "lax-complex",
        "builds x + ih with lax.complex",
        """
        def relu_grad(x):
            z = lax.complex(x, 1e-20 * jnp.ones_like(x))  # <-
            return relu(z)
        """,
        "autodiff",
        "`lax.complex` (that is `jax.lax.complex`) is complex arithmetic",
        ("relu_grad",),
    ),
    h(
        "complex-builtin",
        "builds complex numbers with the builtin",
        """
        def relu_grad(x):
            return relu(x + complex(0, 1e-20))  # <-
        """,
        "autodiff",
        "`complex` is not allowed",
        ("relu_grad",),
    ),
    # ---- the worker's process and the project -----------------------------------------------
    h(
        "sys-modules-surgery",
        "pops the blocked reference package out of sys.modules",
        """
        import sys  # <-

        sys.modules.pop("reference", None)
        """,
        "system",
        "`sys` is not on the allowlist",
    ),
    h(
        "import-main",
        "imports the worker's __main__ to reset its autodiff flag",
        """
        import __main__  # <-
        """,
        "dynamic",
        "`__main__`",
    ),
    h(
        "import-reference",
        "imports the project's autodiff references",
        """
        import reference.activations  # <-
        """,
        "project",
        "part of the grader",
    ),
    h(
        "from-handwritten",
        "imports the shipped solutions from inside a function",
        """
        def relu_grad(x):
            from handwritten.activations import relu_grad as r  # <-
            return r(x)
        """,
        "project",
        "part of the grader",
        ("relu_grad",),
    ),
    h(
        "patch-a-library",
        "replaces jnp.allclose for everyone in the process",
        """
        jnp.allclose = lambda *a, **k: True  # <-
        """,
        "dynamic",
        "assigning to `jnp.allclose` changes a library",
    ),
    h(
        "star-import-from-jax",
        "imports every name of jax, grad among them",
        """
        from jax import *  # <-
        """,
        "system",
        "import *",
    ),
    # ---- code that runs at import -----------------------------------------------------------
    h(
        "lambda-default-argument",
        "computes jax.grad in a lambda's default argument at import",
        """
        relu_grad = lambda x, d=jax.vmap(jax.grad(relu)): d(x)  # <-
        """,
        "autodiff",
        "`jax.grad`",
    ),
    h(
        "class-body",
        "computes jax.grad in a class body at import",
        """
        class _Cache:
            d = jax.vmap(jax.grad(relu))  # <-

        def relu_grad(x):
            return _Cache.d(x)
        """,
        "autodiff",
        "`jax.grad`",
    ),
    h(
        "capturing-decorator",
        "a decorator that runs jax.grad on the function it decorates, at import",
        """
        _stash = []

        def _capture(f):
            _stash.append(jax.vmap(jax.grad(f)))  # <-
            return f

        @_capture
        def _r(x):
            return relu(x)

        def relu_grad(x):
            return _stash[0](x)
        """,
        "autodiff",
        "`jax.grad`",
    ),
    # ---- what a package may hold ------------------------------------------------------------
    Hostile(
        "symlink-in-package",
        "a package with notes.txt linked to /etc/shadow",
        {"__init__.py": BASE},
        links={"notes.txt": "/etc/shadow"},
        kind="system",
        rule="a symbolic link",
    ),
    Hostile(
        "data-file-in-package",
        "a package carrying a data file it could load",
        {"__init__.py": BASE},
        raw={"answers.npy": b"\x93NUMPY"},
        kind="system",
        rule="not a .py file",
    ),
    Hostile(
        "relative-import-beyond-package",
        "climbs out of its package with a relative import",
        {"__init__.py": BASE + "\nfrom .. import reference  # <-\n"},
        kind="system",
        rule="reaches outside your package",
    ),
    Hostile(
        "helper-module-with-autodiff",
        "hides jax.grad in a helper module of its package",
        {
            "__init__.py": "from .impl import relu_grad, l2_grad\n",
            "impl.py": BASE.replace("def relu_grad(x):", "def relu_grad(x):\n    return _helpers.d(x)\n")
            + "\nfrom . import _helpers\n",
            "_helpers.py": "import jax\nfrom .impl import relu\n\n\ndef d(x):\n"
            "    return jax.vmap(jax.grad(relu))(x)  # <-\n",
        },
        kind="autodiff",
        rule="`jax.grad`",
        refused=("relu_grad",),
    ),
    Hostile(
        "reexported-library-module",
        "takes jax back out of its own package (`from . import jax` gets the module __init__ imported)",
        {
            "__init__.py": "import jax\nfrom .impl import relu_grad, l2_grad\n",
            "impl.py": BASE.replace("import jax\n", "from . import jax\n").replace(
                "(x > 0).astype(x.dtype)", "jax.vmap(jax.grad(relu))(x)  # <-"
            ),
        },
        kind="autodiff",
        rule="`jax.grad`",
        refused=("relu_grad",),
    ),
    Hostile(
        "star-reexport",
        "a star import of its own module that imported jax, then jax.grad by that name",
        {
            "__init__.py": "from .impl import *\n\n\ndef relu_grad(x):\n    return jax.vmap(jax.grad(relu))(x)  # <-\n",
            "impl.py": BASE,
        },
        kind="autodiff",
        rule="`jax.grad`",
        refused=("relu_grad",),
    ),
    Hostile(
        "library-through-own-module",
        "reaches jax through an attribute of its own helper module (`helpers.jax.grad`)",
        {
            "__init__.py": BASE.replace("(x > 0).astype(x.dtype)", "helpers.jax.vmap(helpers.jax.grad(relu))(x)  # <-")
            + "\nfrom . import helpers\n",
            "helpers.py": "import jax\n",
        },
        kind="autodiff",
        rule="`helpers.jax.grad` (that is `jax.grad`)",
        refused=("relu_grad",),
    ),
    Hostile(
        "own-module-as-value",
        "passes its own helper module around and takes the jax it imported with getattr",
        {
            "__init__.py": BASE.replace("(x > 0).astype(x.dtype)", "_take(helpers, x)  # <-")
            + "\nfrom . import helpers\n\n\ndef _take(m, x):\n    return getattr(m, 'jax').grad(relu)(x)\n",
            "helpers.py": "import jax\n",
        },
        kind="dynamic",
        rule="the module `helpers` is used as a value",
        refused=("relu_grad",),
    ),
    Hostile(
        "package-named-jax",
        "a package named jax, hoping `import jax` counts as its own code",
        {"__init__.py": BASE.replace("(x > 0).astype(x.dtype)", "jax.vmap(jax.grad(relu))(x)  # <-")},
        package="jax",
        kind="autodiff",
        rule="`jax.grad`",
        refused=("relu_grad",),
    ),
)


# ---- correct, if unusual: the scan must let every one through ----------------------------------

CLEAN: tuple[Submission, ...] = (
    Submission(
        "class-with-backward",
        "a layer class with forward and backward methods",
        {
            "submission.py": """
            import jax.numpy as jnp


            class Sigmoid:
                def forward(self, x):
                    return 1 / (1 + jnp.exp(-x))

                def backward(self, x, g):
                    s = self.forward(x)
                    return g * s * (1 - s)


            _layer = Sigmoid()


            def sigmoid_grad(x):
                return _layer.backward(x, 1.0)
            """
        },
    ),
    Submission(
        "layer-with-fwd-and-bwd",
        "a layer class with fwd and bwd methods, the names custom_vjp rules have",
        {
            "submission.py": """
            import jax.numpy as jnp


            class Tanh:
                def fwd(self, x):
                    return jnp.tanh(x)

                def bwd(self, x, g):
                    t = self.fwd(x)
                    return g * (1 - t * t)


            def tanh_grad(x):
                return Tanh().bwd(x, jnp.ones_like(x))
            """
        },
    ),
    Submission(
        "own-function-named-grad",
        "a student's own helper called grad",
        {
            "submission.py": """
            import jax.numpy as jnp


            def grad(x):
                return (x > 0).astype(x.dtype)


            def relu_grad(x):
                return grad(x)
            """
        },
    ),
    Submission(
        "package-with-helpers",
        "a package importing a helper module and re-exporting with a star import",
        {
            "__init__.py": "from . import helpers\nfrom .impl import *\n",
            "helpers.py": "import jax.numpy as jnp\n\n\ndef positive(x):\n    return (x > 0).astype(x.dtype)\n",
            "impl.py": "from . import helpers\nfrom .helpers import positive\n\n\ndef relu_grad(x):\n"
            "    return helpers.positive(x) * positive(x)\n",
        },
    ),
    Submission(
        "partial-and-jit-static",
        "functools.partial of jax.jit with static_argnames, and a partial helper",
        {
            "submission.py": """
            from functools import partial, reduce
            import operator

            import jax
            import jax.numpy as jnp


            @partial(jax.jit, static_argnames=("delta",))
            def huber_grad(a, y, delta=1.0):
                return jnp.clip(a - y, -delta, delta) / a.shape[-1]


            _twice = partial(operator.mul, 2)


            def l2_grad(a, y):
                return reduce(operator.add, [_twice(a - y), jnp.zeros_like(a)])
            """
        },
    ),
    Submission(
        "norm-logistic-softmax",
        "jnp.linalg.norm, lax.logistic, jax.nn.softmax and jax.scipy.special.logsumexp",
        {
            "submission.py": """
            import jax
            import jax.numpy as jnp
            from jax import lax
            from jax.scipy.special import logsumexp


            def cosine_similarity(a, y):
                na = jnp.linalg.norm(a, axis=-1)
                ny = jnp.linalg.norm(y, axis=-1)
                return jnp.sum(a * y, axis=-1) / (na * ny)


            def sigmoid(x):
                return lax.logistic(x)


            def softmax(x):
                return jax.nn.softmax(x, axis=-1)


            def cross_entropy(z, y):
                return logsumexp(z, axis=-1) * jnp.sum(y, axis=-1) - jnp.sum(y * z, axis=-1)


            def two_layer_forward(params, x):
                h = jax.nn.sigmoid(jnp.dot(x, params["W1"], precision=lax.Precision.HIGHEST) + params["b1"])
                return jax.nn.sigmoid(h @ params["W2"] + params["b2"])
            """
        },
    ),
    Submission(
        "constants-and-dtypes",
        "math.pi, NumPy constants and dtypes, finfo, numpy.random for test data at import",
        {
            "submission.py": """
            import math

            import jax.numpy as jnp
            import numpy as np


            _HALF_PI = math.pi / 2
            _EPS = np.finfo(np.float32).eps
            np.random.seed(0)
            _SAMPLE = np.random.default_rng(0).normal(size=3)


            def tanh_grad(x):
                t = jnp.tanh(x)
                return (1 - t * t).astype(x.dtype) + 0 * _HALF_PI * _EPS * np.float32(0) * np.pi
            """
        },
    ),
    Submission(
        "type-hints-and-namedtuples",
        "annotations, NamedTuple classes with defaults, and typing helpers",
        {
            "submission.py": """
            from __future__ import annotations

            from collections.abc import Mapping
            from typing import NamedTuple, Optional

            import jax
            import jax.numpy as jnp
            from jax.typing import ArrayLike


            class Shapes(NamedTuple):
                d_in: int
                d_out: int


            class Config(NamedTuple):
                delta: float = 1.0
                names: tuple[str, ...] = ()


            def huber_grad(a: ArrayLike, y: ArrayLike, delta: Optional[float] = None) -> jax.Array:
                d = Config().delta if delta is None else delta
                return jnp.clip(jnp.asarray(a) - y, -d, d) / jnp.shape(a)[-1]


            def two_layer_grads(params: Mapping[str, ArrayLike], x: ArrayLike, y: ArrayLike) -> dict[str, jax.Array]:
                return jax.tree_util.tree_map(jnp.zeros_like, dict(params))
            """
        },
    ),
    Submission(
        "main-block-checks-with-grad",
        "checks its own work with jax.grad under `if __name__ == '__main__':`, never run when graded",
        {
            "submission.py": """
            import jax
            import jax.numpy as jnp


            def relu_grad(x):
                return (x > 0).astype(x.dtype)


            if __name__ == "__main__":
                x = jnp.linspace(-2.0, 2.0, 5)
                print(relu_grad(x), jax.vmap(jax.grad(jax.nn.relu))(x))
            """
        },
    ),
    Submission(
        "getattr-constant-and-lax-control-flow",
        "getattr with a literal name, hasattr, type(x), lax.cond, fori_loop and a closure",
        {
            "submission.py": """
            import jax.numpy as jnp
            from jax import lax


            def softmax_vjp(x, g):
                if type(x) in (list, tuple):
                    raise TypeError(f"softmax_vjp: expected an array, got {type(x).__name__}")
                dtype = getattr(x, "dtype", jnp.float32)
                if not hasattr(g, "shape"):
                    g = jnp.asarray(g, dtype)
                e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
                s = e / jnp.sum(e, axis=-1, keepdims=True)

                def inner(_, acc):
                    return acc

                dot = lax.fori_loop(0, 1, inner, jnp.sum(g * s, axis=-1, keepdims=True))
                return lax.cond(True, lambda: s * (g - dot), lambda: s * (g - dot))
            """
        },
    ),
    Submission(
        "absolute-self-import",
        "a package importing its own modules by absolute name, as handwritten/ does",
        {
            "__init__.py": "from mysubmission_pkg.impl import relu_grad as relu_grad\n",
            "impl.py": "import jax.numpy as jnp\n\nfrom mysubmission_pkg import _util\n\n\ndef relu_grad(x):\n"
            "    return _util.positive(x)\n",
            "_util.py": "def positive(x):\n    return (x > 0).astype(x.dtype)\n",
        },
        package="mysubmission_pkg",
    ),
)
