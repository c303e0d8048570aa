"""A second corpus for the allowlist check (handgrad/scan.py), written by a reader who had
not seen the first (tests/corpus/hostile_static.py): hostile submissions of classes that
corpus did not cover, and correct but unusual submissions near them that must still pass.

Same conventions as the first corpus: BASE (a correct relu_grad and l2_grad) is prepended
to each one-file attack, the line a finding must be on is marked `# <-`, and `refused`
names the functions that must lose their marks.
"""

from __future__ import annotations

from tests.corpus.hostile_static import BASE, Hostile, Submission, h
from tests.corpus.hostile_static import BOTH as BOTH

CHEAT = "jax.vmap(jax.grad(relu))(x)"
"""What a cheating relu_grad returns."""


def _pkg_init(body: str) -> str:
    """A package's __init__.py: BASE with relu_grad's body replaced by `body`."""
    return BASE.replace("return (x > 0).astype(x.dtype)", "return " + body)


def _forking_chain(depth: int) -> str:
    """`import jax` under two names, then `depth` levels of names each imported (from the
    package itself) from both names of the level below: 2**depth paths to jax."""
    lines = [f"import jax as {n}{depth}" for n in "ab"]
    for i in reversed(range(depth)):
        lines += [f"from . import {m}{i + 1} as {n}{i}" for n in "ab" for m in "ab"]
    return "\n".join(lines) + "\n"


HOSTILE: tuple[Hostile, ...] = (
    # ---- rebinding what Python itself reads ---------------------------------------------------
    h(
        "import-alias-rebinds-module-name",
        "binds __name__ by an import alias (a value equal to '__main__' would run the unchecked main block)",
        """
        from typing import Literal as __name__  # <-

        if __name__ == "__main__":
            _D = jax.vmap(jax.grad(relu))
        """,
        "dynamic",
        "binding `__name__`",
    ),
    h(
        "except-as-rebinds-module-name",
        "binds __name__ to an exception that equals everything, so the main block runs at import",
        """
        class _E(Exception):
            def __eq__(self, other):
                return True

        try:
            raise _E()
        except _E as __name__:  # <-
            pass

        if __name__ == "__main__":
            _D = jax.vmap(jax.grad(relu))

        def relu_grad(x):
            return _D(x)
        """,
        "dynamic",
        "binding `__name__`",
    ),
    h(
        "match-capture-rebinds-module-name",
        "a capture pattern binds __name__ = '__main__'; the main block (with jax.grad) then runs",
        """
        match "__main__":
            case __name__:  # <-
                pass

        if __name__ == "__main__":
            _D = jax.vmap(jax.grad(relu))

        def relu_grad(x):
            return _D(x)
        """,
        "dynamic",
        "binding `__name__`",
    ),
    h(
        "main-block-checked-once-name-is-rebound",
        "the main block's own jax.grad is reported once __name__ is rebound (refused on that line too)",
        """
        match "__main__":
            case __name__:
                pass

        if __name__ == "__main__":
            _D = jax.vmap(jax.grad(relu))  # <-
        """,
        "autodiff",
        "`jax.grad`",
    ),
    Hostile(
        "module-getattr-by-import-alias",
        "installs a module __getattr__ from a helper, so the grader's lookup of relu_grad lands in it",
        {
            "__init__.py": BASE.replace("def relu_grad(x):\n    return (x > 0).astype(x.dtype)\n", "")
            + "\nfrom .hooks import answer as __getattr__  # <-\n",
            "hooks.py": "import jax\nimport jax.numpy as jnp\n\n\ndef answer(name):\n"
            "    return jax.vmap(jax.grad(lambda x: jnp.maximum(x, 0.0)))\n",
        },
        kind="dynamic",
        rule="binding `__getattr__`",
    ),
    h(
        "global-declares-a-dunder",
        "a helper declares `global __path__` and rebinds the module's search path",
        """
        def _redirect():
            global __path__  # <-
            from typing import Any as __path__

        _redirect()
        """,
        "dynamic",
        "binding `__path__`",
    ),
    # ---- modules reached through attributes of values ----------------------------------------
    h(
        "numpy-ctypes-module",
        "takes the ctypes module from a numpy array (`x.ctypes._ctypes`) and calls into libc",
        """
        import numpy as np

        def relu_grad(x):
            libc = np.zeros(1).ctypes._ctypes.CDLL(None)  # <-
            libc.system(b"true")
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "reaches raw memory and the ctypes module",
        ("relu_grad",),
    ),
    h(
        "jax-array-value-ctypes",
        "the same through a jax array's host copy (`x._value.ctypes`), at import",
        """
        _C = jnp.ones(1)._value.ctypes  # <-
        """,
        "dynamic",
        "reaches raw memory and the ctypes module",
    ),
    # ---- the check's own cost --------------------------------------------------------------------
    Hostile(
        "import-chain-that-forks",
        "jax re-imported through 48 levels of forking aliases: the check must follow it in time linear in its size",
        {
            "__init__.py": _forking_chain(48)
            + _pkg_init("a0.vmap(a0.grad(relu))(x)  # <-").replace("import jax\n", "", 1)
        },
        kind="autodiff",
        rule="`a0.grad` (that is `jax.grad`)",
        refused=("relu_grad",),
    ),
    # ---- modules the check and Python's import would not agree on ---------------------------------
    Hostile(
        "module-and-folder-same-name",
        "a clean impl.py beside a package impl/ holding jax.grad: Python imports the folder",
        {
            "__init__.py": _pkg_init("impl.d(x)") + "\nfrom . import impl\n",
            "impl/__init__.py": "import jax\nimport jax.numpy as jnp\n\n\ndef d(x):\n"
            "    return jax.vmap(jax.grad(lambda x: jnp.maximum(x, 0.0)))(x)  # <-\n",
        },
        raw={"impl.py": b"def d(x):\n    return (x > 0).astype(x.dtype)\n"},
        kind="autodiff",
        rule="`jax.grad`",
        refused=BOTH,  # the layout itself costs every function (impl.py: the same module)
    ),
    Hostile(
        "dotted-file-name",
        "a clean `util.b.py` that the check took for the module util.b, beside util/b.py with jax.grad",
        {
            "__init__.py": _pkg_init("b.d(x)") + "\nfrom .util import b\n",
            "util/__init__.py": "",
            "util/b.py": "def d(x):\n    return (x > 0).astype(x.dtype)\n",
        },
        raw={"util.b.py": b"def d(x):\n    return (x > 0).astype(x.dtype)\n"},
        kind="system",
        rule="`util.b` is not a name Python can import",
    ),
    Hostile(
        "namespace-subpackage",
        "jax.grad in sub/x.py, a folder without __init__.py (a namespace package), reached as sub.x.d",
        {
            "__init__.py": _pkg_init("sub.x.d(x)") + "\nfrom .sub import x as _x\nfrom . import sub\n",
            "sub/x.py": "import jax\nimport jax.numpy as jnp\n\n\ndef d(x):\n"
            "    return jax.vmap(jax.grad(lambda x: jnp.maximum(x, 0.0)))(x)  # <-\n",
        },
        kind="autodiff",
        rule="`jax.grad`",
        refused=("relu_grad",),
    ),
    # ---- complex numbers without a complex literal -----------------------------------------------
    h(
        "negative-base-fractional-power",
        "i = (-1.0) ** 0.5 is 1j in Python: complex-step with no complex literal or name",
        """
        _I = (-1.0) ** 0.5  # <-

        def relu_grad(x):
            z = relu(x + 1e-20 * _I)
            return ((z - z.astype(x.dtype)) / _I).astype(x.dtype) / 1e-20
        """,
        "autodiff",
        "a negative number to a fractional power is complex",
    ),
    h(
        "pow-builtin-cube-root",
        "pow(-8, 1 / 3) is complex too, inside the formula",
        """
        def l2_grad(a, y):
            w = pow(-8, 1 / 3)  # <-
            return 2 * (a - y) + 0 * w
        """,
        "autodiff",
        "a negative number to a fractional power is complex",
        ("l2_grad",),
    ),
    h(
        "dtype-code-upper-cased",
        "float64's code 'd' upper-cased is 'D', complex128",
        """
        def l2_grad(a, y):
            return 2 * (a - y).astype(a.dtype.char.upper())  # <-
        """,
        "dynamic",
        "a dtype given by a computed string or type",
        ("l2_grad",),
    ),
    h(
        "dtype-from-a-type",
        "the dtype's place given type(...) of a value, positionally",
        """
        def l2_grad(a, y):
            return jnp.asarray(2 * (a - y), type(a.sum().item()))  # <-
        """,
        "dynamic",
        "a dtype given by a computed string or type",
        ("l2_grad",),
    ),
    # ---- files ------------------------------------------------------------------------------------
    h(
        "jnp-savez-writes-a-file",
        "jax.numpy re-exports NumPy's savez, which writes a file",
        """
        def l2_grad(a, y):
            jnp.savez("/tmp/out", a=a)  # <-
            return 2 * (a - y)
        """,
        "system",
        "`jnp.savez` (that is `jax.numpy.savez`) is not on the allowlist",
        ("l2_grad",),
    ),
    # ---- attributes read by name inside strings ----------------------------------------------------
    h(
        "format-field-reads-a-dunder",
        "str.format reads attributes by name: '{0.__class__.__mro__}' walks the class tree",
        """
        def relu_grad(x):
            tree = "{0.__class__.__mro__}".format(x)  # <-
            return (x > 0).astype(x.dtype) if tree else x
        """,
        "dynamic",
        "the format field '{0.__class__.__mro__}' reads a Python internal",
        ("relu_grad",),
    ),
    h(
        "debug-print-format-field",
        "jax.debug.print formats the same way, at import",
        """
        jax.debug.print("{f.__globals__}", f=relu)  # <-
        """,
        "dynamic",
        "reads a Python internal",
    ),
    # ---- JAX's configuration ------------------------------------------------------------------------
    h(
        "config-compilation-cache",
        "points JAX's compilation cache (files it writes and loads executables from) at a directory",
        """
        jax.config.update("jax_compilation_cache_dir", "/tmp/shared-cache")  # <-
        """,
        "system",
        "`jax.config.update` of 'jax_compilation_cache_dir' is not allowed",
    ),
    h(
        "config-update-as-a-value",
        "takes jax.config.update as a value so that the option's name is not next to it",
        """
        _set = jax.config.update  # <-

        def l2_grad(a, y):
            _set("jax_" + "dump_ir_to", "/tmp")
            return 2 * (a - y)
        """,
        "system",
        "`jax.config.update` may only be called directly",
    ),
    # ---- objects handed over by exceptions ---------------------------------------------------------
    h(
        "attribute-error-hands-over-the-module",
        "an AttributeError's .obj is the module that lacked the name: jax.numpy as a value, fft and all",
        """
        def _module():
            try:
                return jnp.ones.no_such_name
            except AttributeError as e:
                return e.obj  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * _module()(1)
        """,
        "dynamic",
        "`.obj` is the object an AttributeError was raised on",
        ("relu_grad",),
    ),
    h(
        "name-jax-numpy-lacks",
        "a name jax.numpy does not have (every public name of it is allowed): it raises, handing the module over",
        """
        def l2_grad(a, y):
            try:
                jnp.linalg.no_such_name  # <-
            except AttributeError:
                pass
            return 2 * (a - y)
        """,
        "system",
        "`jnp.linalg.no_such_name` (that is `jax.numpy.linalg.no_such_name`) is not on the allowlist",
        ("l2_grad",),
    ),
    h(
        "operator-pow-complex",
        "operator.pow(-1, 0.5) is 1j like (-1) ** 0.5",
        """
        import operator

        def relu_grad(x):
            i = operator.pow(-1, 0.5)  # <-
            z = relu(x + 1e-20 * i)
            return ((z - z.astype(x.dtype)) / i).astype(x.dtype) / 1e-20
        """,
        "autodiff",
        "a negative number to a fractional power is complex",
        ("relu_grad",),
    ),
    h(
        "function-named-like-a-complex-dtype",
        "a function named complex128: its __name__ is the dtype's name as a string",
        """
        def complex128():  # <-
            pass

        def l2_grad(a, y):
            return 2 * (a - y).astype(complex128.__name__)
        """,
        "autodiff",
        "the name `complex128` is a complex dtype's",
    ),
    h(
        "keyword-named-like-a-complex-dtype",
        "a keyword argument's name read back as a string: list(dict(cdouble=0))[0]",
        """
        def l2_grad(a, y):
            code = list(dict(cdouble=0))[0]  # <-
            return 2 * jnp.asarray(a - y, code)
        """,
        "autodiff",
        "the name `cdouble` is a complex dtype's",
        ("l2_grad",),
    ),
    Hostile(
        "docstring-read-back",
        "a module docstring (not checked for dtype names) sliced for 'complex128'",
        {
            "submission.py": '"""Formulas; a float64 run would use complex128 nowhere."""\n\n'
            + BASE.replace("return 2 * (a - y)", "return 2 * (a - y).astype(__doc__[34:44])  # <-")
        },
        kind="dynamic",
        rule="`__doc__` is a Python internal",
        refused=("l2_grad",),
    ),
    # ---- the compiler ------------------------------------------------------------------------------
    h(
        "jit-compiler-options",
        "jax.jit's compiler_options: XLA dumps every compiled module into a directory of the student's choosing",
        """
        _fast = jax.jit(relu, compiler_options={"xla_dump_to": "/tmp/dump"})  # <-
        """,
        "system",
        "`compiler_options` is not allowed",
    ),
    h(
        "lowered-compile-with-options",
        "the same through a lowered function's compile(options)",
        """
        def l2_grad(a, y):
            jax.jit(relu).lower(a).compile({"xla_dump_to": "/tmp/dump"})  # <-
            return 2 * (a - y)
        """,
        "system",
        "compiles with XLA options of your choosing",
        ("l2_grad",),
    ),
    # ---- code that runs at import through class machinery ----------------------------------------
    h(
        "metaclass-from-type-of",
        "a metaclass made from type(int) (type itself) runs jax.grad when a class is created at import",
        """
        class _Meta(type(int)):
            def __new__(mcs, name, bases, ns):
                ns["d"] = jax.vmap(jax.grad(relu))  # <-
                return super().__new__(mcs, name, bases, ns)

        class _K(metaclass=_Meta):
            pass

        def relu_grad(x):
            return _K.d(x)
        """,
        "autodiff",
        "`jax.grad`",
    ),
    h(
        "init-subclass-hook",
        "__init_subclass__ of a base class stores jax.grad when a subclass is defined at import",
        """
        class _Base:
            def __init_subclass__(cls):
                _Base.d = jax.vmap(jax.grad(relu))  # <-

        class _Child(_Base):
            pass

        def relu_grad(x):
            return _Base.d(x)
        """,
        "autodiff",
        "`jax.grad`",
    ),
    h(
        "set-name-descriptor",
        "a descriptor's __set_name__ runs when the owning class body ends, at import",
        """
        class _Slot:
            def __set_name__(self, owner, name):
                owner.d = jax.vmap(jax.grad(relu))  # <-

        class _Holder:
            s = _Slot()

        def relu_grad(x):
            return _Holder.d(x)
        """,
        "autodiff",
        "`jax.grad`",
    ),
    # ---- names and source text as Python reads them -----------------------------------------------
    h(
        "fullwidth-identifier",
        "jax.grad in fullwidth letters (U+FF47 ...): Python normalises identifiers (NFKC) to jax.grad",
        """
        def relu_grad(x):
            return jax.vmap(jax.\uff47\uff52\uff41\uff44(relu))(x)  # <-
        """,
        "autodiff",
        "`jax.grad` is automatic differentiation",
        ("relu_grad",),
    ),
    Hostile(
        "null-byte-in-source",
        "a NUL byte after the code (some readers stop there; Python refuses the file)",
        {},
        raw={"submission.py": BASE.encode() + b"\n# \x00\nimport os\n"},
        kind="unreadable",
        rule="cannot be read as Python",
    ),
    h(
        "nesting-deeper-than-the-checker",
        "(- - ... -1) ** 0.5, 2001 signs: Python parses it, the check cannot follow it: refused, not crashed",
        "_X = (" + "-" * 2001 + "1) ** 0.5  # <-\n",
        "unreadable",
        "too deeply nested to check",
    ),
    Hostile(
        "init-py-is-a-directory",
        "a folder named __init__.py holding the real code",
        {},
        raw={"__init__.py/impl.py": BASE.replace("(x > 0).astype(x.dtype)", CHEAT).encode()},
        kind="system",
        rule="`__init__.py` is not a name Python can import",
    ),
    Hostile(
        "stdlib-named-helper",
        "a helper module named numpy.py inside the package, imported relatively, holding jax.grad",
        {
            "__init__.py": _pkg_init("np.d(x)") + "\nfrom . import numpy as np\n",
            "numpy.py": "import jax\nimport jax.numpy as jnp\n\n\ndef d(x):\n"
            "    return jax.vmap(jax.grad(lambda x: jnp.maximum(x, 0.0)))(x)  # <-\n",
        },
        kind="autodiff",
        rule="`jax.grad`",
        refused=("relu_grad",),
    ),
    h(
        "traceback-frame-globals",
        "an exception's traceback frame and its globals",
        """
        def relu_grad(x):
            try:
                raise ValueError
            except ValueError as e:
                g = e.__traceback__.tb_frame.f_globals  # <-
            return (x > 0).astype(x.dtype) + 0 * len(g)
        """,
        "dynamic",
        "`.__traceback__` is a Python internal",
        ("relu_grad",),
    ),
    # ---- complex dtypes where a dtype-like argument hides them -----------------------------------
    h(
        "result-type-of-a-code",
        "jnp.result_type('D') is complex128, handed to astype as a call's result",
        """
        def l2_grad(a, y):
            return 2 * (a - y).astype(jnp.result_type("D"))  # <-
        """,
        "autodiff",
        "the complex dtype 'D'",
        ("l2_grad",),
    ),
    h(
        "dtype-in-an-unpacked-dict",
        "the dtype keyword given through **{'dtype': 'D'}",
        """
        def l2_grad(a, y):
            return 2 * (a - y) + jnp.zeros(a.shape, **{"dtype": "D"})  # <-
        """,
        "autodiff",
        "the complex dtype 'D'",
        ("l2_grad",),
    ),
    h(
        "bytes-type-code-in-a-spec",
        "b'D' (NumPy reads bytes as a type code) inside a subarray spec (b'D', 1)",
        """
        import numpy as np

        def l2_grad(a, y):
            return 2 * (a - y).astype(np.dtype((b"D", 1)))  # <-
        """,
        "autodiff",
        "the complex dtype 'D'",
        ("l2_grad",),
    ),
    h(
        "power-of-a-huge-integer",
        "a 400-digit negative integer to the power 0.5 (complex; beyond a float, which the check must not trip on)",
        "_I = (-" + "9" * 400 + ") ** 0.5  # <-\n",
        "autodiff",
        "a negative number to a fractional power is complex",
    ),
    Hostile(
        "another-module-renames-this-one",
        "a helper sets impl.__name__ = '__main__' while impl is being imported: impl's main block then runs",
        {
            "__init__.py": _pkg_init("impl.D(x)") + "\nfrom . import impl\n",
            "impl.py": "from . import other\nimport jax\nimport jax.numpy as jnp\n\n"
            'if __name__ == "__main__":\n    D = jax.vmap(jax.grad(lambda x: jnp.maximum(x, 0.0)))\n',
            "other.py": 'from . import impl\n\nimpl.__name__ = "__main__"  # <-\n',
        },
        kind="dynamic",
        rule="`.__name__` is a Python internal",
    ),
    h(
        "patch-a-library-class-through-type",
        "type(x) of an array is jax's Array class: assigning to its attributes changes JAX for the whole process",
        """
        def l2_grad(a, y):
            type(a).sum = lambda self, *k, **kw: self  # <-
            return 2 * (a - y)
        """,
        "dynamic",
        "the builtin `type` is allowed only as `type(x)`, to look at a type",
        ("l2_grad",),
    ),
    Hostile(
        "fullwidth-file-name",
        "a module file named in fullwidth letters: `from . import` of that name reads another file",
        {"__init__.py": BASE},
        raw={"\uff48elpers.py": b"X = 1\n"},
        kind="system",
        rule="is not a name Python can import",
    ),
    Hostile(
        "module-named-like-a-complex-dtype",
        "a helper module complex64.py: its __name__ ends in the dtype's name",
        {
            "__init__.py": BASE.replace("return 2 * (a - y)", "return 2 * (a - y).astype(_m.__name__[-9:])")
            + "\nfrom . import complex64 as _m  # <-\n",
        },
        raw={"complex64.py": b"X = 1\n"},
        kind="autodiff",
        rule="the name `complex64` is a complex dtype's",
    ),
    h(
        "structured-dtype-with-a-complex-field",
        "a structured dtype spec (a dict) whose one field is 'D', viewed back as that field",
        """
        import numpy as np

        def l2_grad(a, y):
            spec = np.dtype({"names": ["z"], "formats": ["D"]})  # <-
            return 2 * (a - y) + 0 * len(spec.names)
        """,
        "autodiff",
        "the complex dtype 'D'",
        ("l2_grad",),
    ),
    h(
        "dataclass-field-named-c16",
        "a dataclass field named c16: dataclasses.fields(...)[0].name is the string 'c16', complex128",
        """
        from dataclasses import dataclass, fields

        @dataclass
        class _Spec:
            c16: int = 0  # <-

        def l2_grad(a, y):
            return 2 * (a - y).astype(fields(_Spec)[0].name)
        """,
        "autodiff",
        "the name `c16` is a complex dtype's",
    ),
    # ---- derivatives computed inside a library routine --------------------------------------------
    h(
        "lax-custom-root",
        "lax.custom_root differentiates implicitly through the solver it is given",
        """
        def l2_grad(a, y):
            solve = lambda f, x0: x0
            r = lax.custom_root(lambda x: x - a, a, solve, solve)  # <-
            return 2 * (r - y)
        """,
        "autodiff",
        "`lax.custom_root` (that is `jax.lax.custom_root`) is automatic differentiation",
        ("l2_grad",),
    ),
    h(
        "scipy-optimize-minimize",
        "jax.scipy.optimize.minimize runs jax.grad inside (BFGS): the minimiser of a loss is found for you",
        """
        def l2_grad(a, y):
            best = jax.scipy.optimize.minimize(lambda v: ((v - y) ** 2).sum(), a, method="BFGS")  # <-
            return 2 * (a - best.x)
        """,
        "system",
        "`jax.scipy.optimize` is not on the allowlist",
        ("l2_grad",),
    ),
)


CLEAN: tuple[Submission, ...] = (
    Submission(
        "dunder-methods-and-main-block",
        "a class with __init__/__call__ and a main block using jax.grad: both allowed (__eq__ and "
        "__repr__ were here until 2026-12-07: C loops of NumPy and CPython call an element's "
        "comparisons, hash and str while not owning it)",
        {
            "submission.py": """
            import jax
            import jax.numpy as jnp


            class Relu:
                def __init__(self, slope=0.0):
                    self.slope = slope

                def __call__(self, x):
                    return jnp.where(x > 0, 1.0, self.slope).astype(x.dtype)



            def relu_grad(x):
                return Relu()(x)


            if __name__ == "__main__":
                print(relu_grad(jnp.ones(3)), jax.vmap(jax.grad(jax.nn.relu))(jnp.ones(3)))
            """
        },
    ),
    Submission(
        "namespace-subpackage-helper",
        "a helper in a folder without __init__.py, imported relatively",
        {
            "__init__.py": "from .parts.impl import relu_grad as relu_grad\n",
            "parts/impl.py": "from ..parts import maths\n\n\ndef relu_grad(x):\n    return maths.step(x)\n",
            "parts/maths.py": "def step(x):\n    return (x > 0).astype(x.dtype)\n",
        },
    ),
    Submission(
        "powers-and-dtypes-that-are-real",
        "powers of variables and of positive or integer-exponent numbers; dtypes taken from values",
        {
            "submission.py": """
            import math

            import jax.numpy as jnp

            _SQRT_HALF = 2.0 ** -0.5
            _ORDER = jnp.arange(6.0).reshape((2, 3), order="F")
            _SIGN = (-1) ** 2


            def gelu_grad(x):
                c = math.sqrt(2 / math.pi)
                u = c * (x + 0.044715 * x**3)
                t = jnp.tanh(u)
                du = c * (1 + 3 * 0.044715 * x ** (3 - 1))
                return (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * du).astype(x.dtype) * _SIGN


            def erf_like(x):
                c2, c8, c16 = 0.5, 0.25, 0.125  # coefficients, not dtypes
                return c2 * x + c8 * x**3 + c16 * x**5


            def l2_grad(a, y):
                if a.shape != jnp.shape(y):
                    raise ValueError(f"l2_grad: shapes {a.shape} and {jnp.shape(y)} differ")
                return jnp.asarray(2 * (a - y), a.dtype) * _SQRT_HALF / _SQRT_HALF
            """
        },
    ),
    Submission(
        "config-and-debug-printing",
        "float64 switched on, jax.debug.print and str.format with plain fields",
        {
            "submission.py": """
            import jax
            import jax.numpy as jnp

            jax.config.update("jax_enable_x64", True)
            jax.config.update("jax_platform_name", "cpu")


            def l2_grad(a, y):
                d = a - y
                jax.debug.print("l2_grad: residual {r}", r=jnp.max(jnp.abs(d)))
                if d.ndim > 2:
                    raise ValueError("l2_grad: expected at most 2 axes, got {0.ndim} ({0.shape})".format(d))
                return 2 * d
            """
        },
    ),
    Submission(
        "type-to-look-at-a-type",
        "type(x) compared, in isinstance, named in messages and f-strings",
        {
            "submission.py": """
            import jax.numpy as jnp


            def relu_grad(x):
                if type(x) in (list, tuple) or type(x) is float:
                    raise TypeError(f"relu_grad: expected an array, got {type(x)}")
                if not isinstance(x, type(jnp.zeros(1))) and type(x).__name__ != "ndarray":
                    print("relu_grad: converting", type(x).__name__, str(type(x)))
                return (jnp.asarray(x) > 0).astype(jnp.asarray(x).dtype)
            """
        },
    ),
)


RUNTIME_ONLY: tuple[Submission, ...] = (
    Submission(
        "complex-step-dtype-through-a-variable",
        "NumPy's code 'D' (complex128) read back from a keyword's name, passed by variable",
        {
            "submission.py": """
            import jax.numpy as jnp

            _CODE = list(dict(D=0))[0]


            def l2_grad(a, y):
                i = jnp.sqrt(jnp.asarray(-1.0, _CODE))
                w = ((a + 1e-30 * i) - y) ** 2
                return ((w - w.astype(a.dtype)) / i).astype(a.dtype) / 1e-30
            """
        },
    ),
    Submission(
        "complex-step-power-of-a-variable",
        "a negative number held in a variable, to the power 0.5: Python's complex 1j",
        {
            "submission.py": """
            import jax.numpy as jnp

            _MINUS_ONE = -1.0
            _I = _MINUS_ONE**0.5


            def l2_grad(a, y):
                w = ((a + 1e-30 * _I) - y) ** 2
                return ((w - jnp.asarray(w, a.dtype)) / _I).astype(a.dtype) / 1e-30
            """
        },
    ),
)
"""Cheats the static check cannot see: complex numbers whose dtype or value only exists at
run time. Each passes the allowlist and computes l2_grad to float64 precision by
complex-step differentiation; the guard against them has to run (tests/test_scan_redteam.py
shows both facts, so a run-time guard can be tested against these very files)."""
