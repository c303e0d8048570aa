"""A third corpus for the allowlist check (handgrad/scan.py), written against the first two
(tests/corpus/hostile_static.py, hostile_static_2.py) with attacks of classes they did not
hold: attributes read by a library under a name the student chose elsewhere, the internals
of compiled functions and of XLA's client, class bodies that look names up twice, formats
computed at run time, classes handed over by isinstance, and code shaped to make the check
slow. Each attack here worked against the check before it was fixed, and most of them at
run time too (see the report of the commit that added this file).

Same conventions as the first corpus: BASE (a correct relu_grad and l2_grad) is prepended
to each one-file attack, the line a finding must be on is marked `# <-`, and `refused`
names the functions that must lose their marks.
"""

from __future__ import annotations

from tests.corpus.hostile_static import BASE, Hostile, Submission, h
from tests.corpus.hostile_static import BOTH as BOTH


def _fan_out(modules: int, names: int) -> dict[str, str]:
    """A package whose modules all import each other by star, each using `names` names that
    no module defines: every name is searched for through every module, from every module."""
    stars = "".join(f"from .m{j} import *\n" for j in range(modules))
    used = "def helper():\n    return [" + ", ".join(f"u{i}" for i in range(names)) + "]\n"
    return {f"m{j}.py": stars + used for j in range(modules)}


def _defined_fan_out(modules: int) -> dict[str, str]:
    """Modules that import each other by star, each defining one name the package's
    __init__ uses: each name is followed from every module through every star import."""
    stars = "".join(f"from .m{j} import *\n" for j in range(modules))
    return {f"m{j}.py": stars + f"\n\ndef d{j}(x):\n    return x\n" for j in range(modules)}


def _stars_init(modules: int, body: str) -> bytes:
    """The package's __init__.py (where a package refused for its star imports is refused)."""
    return ("".join(f"from .m{j} import *\n" for j in range(modules)) + body).encode()


HOSTILE: tuple[Hostile, ...] = (
    # ---- attributes a library reads by a name the student wrote elsewhere ----------------------
    h(
        "dataclass-field-read-by-astuple",
        "functools.wraps copies jax.nn.relu's attributes (its jvp rule among them) into a dataclass"
        " whose field is named jvp; dataclasses.astuple reads it back without `.jvp` in sight",
        """
        import functools
        from dataclasses import astuple, dataclass

        @dataclass
        class _Holder:
            jvp: object = None  # <-

        def relu_grad(x):
            held = _Holder()
            functools.wraps(jax.nn.relu)(held)
            return astuple(held)[0]((x,), (jnp.ones_like(x),))[1]
        """,
        "autodiff",
        "a class attribute named `jvp`",
    ),
    h(
        "dataclass-field-read-by-asdict",
        "the same copy read back by dataclasses.asdict from a field declared inside the formula",
        """
        import functools
        from dataclasses import asdict, dataclass  # <-

        def relu_grad(x):
            @dataclass
            class Holder:
                fun: object = None
                jvp: object = None

            held = Holder()
            functools.wraps(jax.nn.relu)(held)
            rule = [v for k, v in asdict(held).items() if k != "fun"][0]
            return rule((x,), (jnp.ones_like(x),))[1]
        """,
        "system",
        "`dataclasses` is not on the allowlist of modules",
    ),
    h(
        "pytree-data-field-by-string",
        "register_dataclass with data_fields=['jvp']: flattening the pytree reads the copied rule",
        """
        import functools

        class _Holder:
            pass

        jax.tree_util.register_dataclass(_Holder, data_fields=["jvp"], meta_fields=[])  # <-

        def relu_grad(x):
            held = _Holder()
            functools.wraps(jax.nn.relu)(held)
            rule = jax.tree_util.tree_leaves(held)[0]
            return rule((x,), (jnp.ones_like(x),))[1]
        """,
        "autodiff",
        "the string 'jvp' names an attribute",
    ),
    h(
        "wraps-assigned-into-setattr",
        "functools.wraps(..., assigned=('jvp',)) reads relu.jvp by the string and hands it to a __setattr__",
        """
        import functools

        _GOT = []

        class _Catch:
            def __setattr__(self, name, value):
                _GOT.append(value)

        def relu_grad(x):
            functools.wraps(jax.nn.relu, assigned=("jvp",), updated=())(_Catch())  # <-
            return _GOT[0]((x,), (jnp.ones_like(x),))[1]
        """,
        "autodiff",
        "the string 'jvp' names an attribute",
        ("relu_grad",),
    ),
    h(
        "pytree-data-field-computed",
        "the same pytree with its field's name computed, so no string in the source is 'jvp'",
        """
        import functools

        class _Holder:
            pass

        def relu_grad(x):
            jax.tree_util.register_dataclass(_Holder, data_fields=["j" + "vp"], meta_fields=[])  # <-
            held = _Holder()
            functools.wraps(jax.nn.relu)(held)
            return jax.tree_util.tree_leaves(held)[0]((x,), (jnp.ones_like(x),))[1]
        """,
        "system",
        "`jax.tree_util.register_dataclass` is not on the allowlist",
        ("relu_grad",),
    ),
    h(
        "wraps-assigned-computed-positionally",
        "wraps(wrapped, assigned, updated) given positionally, the name built at run time",
        """
        from functools import wraps  # <-

        _GOT = []

        class _Catch:
            def __setattr__(self, name, value):
                _GOT.append(value)

        def relu_grad(x):
            wraps(jax.nn.relu, tuple(["j" + "vp"]), ())(_Catch())
            return _GOT[0]((x,), (jnp.ones_like(x),))[1]
        """,
        "system",
        "`functools.wraps` is not on the allowlist",
        ("relu_grad",),
    ),
    h(
        "wraps-through-partial",
        "functools.partial(functools.wraps, relu, names): the names reach wraps where no call of it is seen",
        """
        import functools

        _GOT = []

        class _Catch:
            def __setattr__(self, name, value):
                _GOT.append(value)

        def relu_grad(x):
            copy = functools.partial(functools.wraps, jax.nn.relu, ("j" + "vp",), ())  # <-
            copy(_Catch())
            return _GOT[0]((x,), (jnp.ones_like(x),))[1]
        """,
        "system",
        "`functools.wraps` is not on the allowlist",
        ("relu_grad",),
    ),
    h(
        "register-dataclass-under-another-name",
        "register_dataclass bound to a module name and called through it with a computed field name",
        """
        import functools

        _register = jax.tree_util.register_dataclass  # <-

        class _Holder:
            pass

        def relu_grad(x):
            _register(_Holder, ["j" + "vp"], [])
            held = _Holder()
            functools.wraps(jax.nn.relu)(held)
            return jax.tree_util.tree_leaves(held)[0]((x,), (jnp.ones_like(x),))[1]
        """,
        "system",
        "`jax.tree_util.register_dataclass` is not on the allowlist",
    ),
    h(
        "positional-pattern-with-subclasshook",
        "a dataclass field jvp, isinstance made to say yes, and `case _P(rule)`: __match_args__ reads relu.jvp",
        """
        from abc import ABC
        from dataclasses import dataclass

        @dataclass
        class _P(ABC):
            jvp: object = None

            @classmethod
            def __subclasshook__(cls, C):
                return True

        def relu_grad(x):
            match jax.nn.relu:
                case _P(rule):  # <-
                    return rule((x,), (jnp.ones_like(x),))[1]
        """,
        "dynamic",
        "a class pattern with positional sub-patterns reads attributes named elsewhere",
    ),
    h(
        "positional-pattern-through-abc-register",
        "a namedtuple spec 'shape ctypes', numpy's ndarray registered as a virtual subclass:"
        " `case _P(_, c)` reads x.ctypes (raw memory, the ctypes module) with no name in sight",
        """
        from abc import ABC
        from collections import namedtuple
        import numpy as np

        class _P(namedtuple("_N", "shape ctypes"), ABC):
            pass

        def relu_grad(x):
            _P.register(np.ndarray)
            match np.zeros(1):
                case _P(_, raw):  # <-
                    pass
            return (x > 0).astype(x.dtype) + 0 * raw.data
        """,
        "dynamic",
        "a class pattern with positional sub-patterns reads attributes named elsewhere",
        ("relu_grad",),
    ),
    # ---- isinstance that answers what the student says ------------------------------------------
    h(
        "subclasshook-hands-over-a-class",
        "isinstance(jax.nn.relu, _Catch) hands custom_jvp's class to the hook, to be patched for the process",
        """
        from abc import ABC

        _SEEN = []

        class _Catch(ABC):
            @classmethod
            def __subclasshook__(cls, C):  # <-
                _SEEN.append(C)
                return False

        def relu_grad(x):
            isinstance(jax.nn.relu, _Catch)
            _SEEN[0].relu_cache = _SEEN
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "`__subclasshook__` makes isinstance answer as you say",
    ),
    h(
        "issubclass-of-type-hands-over-a-class",
        "issubclass(type(x), _Catch): type(x) may be looked at, but the hook receives the array class itself",
        """
        from abc import ABC

        def l2_grad(a, y):
            seen = []

            class Catch(ABC):
                @classmethod
                def __subclasshook__(cls, C):  # <-
                    seen.append(C)
                    return False

            issubclass(type(a), Catch)
            seen[0].sum = lambda self, *args, **kw: self
            return 2 * (a - y)
        """,
        "dynamic",
        "`__subclasshook__` makes isinstance answer as you say",
        ("l2_grad",),
    ),
    h(
        "type-compared-with-an-instance",
        "type(a) == _Catch(): the comparison hands the array's class to _Catch.__eq__, then patched",
        """
        _SEEN = []

        class _Catch:
            def __eq__(self, other):
                _SEEN.append(other)
                return False

        def l2_grad(a, y):
            if type(a) == _Catch():  # <-
                pass
            _SEEN[0].sum = lambda self, *args, **kw: self
            return 2 * (a - y)
        """,
        "dynamic",
        "the builtin `type` is allowed only as `type(x)`",
        ("l2_grad",),
    ),
    h(
        "type-in-a-tuple-of-instances",
        "type(x) in (float, _Catch()): `in` compares with each element, the instance's __eq__ among them",
        """
        class _Catch:
            def __eq__(self, other):
                _Catch.seen = other
                return False

        def relu_grad(x):
            if type(x) in (float, _Catch()):  # <-
                return x
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "the builtin `type` is allowed only as `type(x)`",
        ("relu_grad",),
    ),
    # ---- complex numbers from real arithmetic --------------------------------------------------
    h(
        "poly-of-a-rotation-matrix",
        "jnp.poly of a 2x2 rotation goes through its eigenvalues (+-i): sqrt(-c[2]) is 1j, complex-step follows",
        """
        _C = jnp.poly(jnp.array([[0.0, -1.0], [1.0, 0.0]]))  # <-

        def l2_grad(a, y):
            i = jnp.sqrt(-_C[2])
            w = ((a + 1e-30 * i) - y) ** 2
            return ((w - w.astype(a.dtype)) / i).astype(a.dtype) / 1e-30
        """,
        "autodiff",
        "`jnp.poly` (that is `jax.numpy.poly`) is complex arithmetic",
    ),
    # ---- the internals of compiled functions ---------------------------------------------------
    h(
        "cython-func-globals-to-builtins",
        "NumPy's Cython functions expose func_globals: numpy, operator and builtins, so os and __import__",
        """
        import numpy as np

        def relu_grad(x):
            g = np.random.RandomState(0).normal.func_globals  # <-
            take = g["operator"].attrgetter("_" * 2 + "builtins" + "_" * 2)
            os = take(g["np"])["_" * 2 + "import" + "_" * 2]("os")
            return (x > 0).astype(x.dtype) + 0 * os.getpid()
        """,
        "dynamic",
        "reaches a function's globals, code or closure",
        ("relu_grad",),
    ),
    h(
        "cython-func-globals-through-a-name",
        "np.random.seed held in a module name, its func_globals['np'].emath.sqrt(-1.0) is 1j: complex-step",
        """
        import numpy as np

        _SEED = np.random.seed

        def l2_grad(a, y):
            i = _SEED.func_globals["np"].emath.sqrt(-1.0)  # <-
            w = ((a + 1e-30 * i) - y) ** 2
            return ((w - w.astype(a.dtype)) / i).astype(a.dtype) / 1e-30
        """,
        "dynamic",
        "reaches a function's globals, code or closure",
        ("l2_grad",),
    ),
    h(
        "cython-func-code-by-getattr",
        "getattr with the literal name 'func_code' (a name refused on values stays refused as a string)",
        """
        import numpy as np

        def relu_grad(x):
            code = getattr(np.random.seed, "func_code")  # <-
            return (x > 0).astype(x.dtype) if code else x
        """,
        "dynamic",
        "the string 'func_code' names an attribute",
        ("relu_grad",),
    ),
    h(
        "cython-func-globals-by-keyword-pattern",
        "`case object(func_globals=g)` reads the same attribute through a class pattern",
        """
        import numpy as np

        def relu_grad(x):
            match np.random.seed:
                case object(func_globals=g):  # <-
                    return g["np"].ones_like(x) * (x > 0)
        """,
        "dynamic",
        "a class pattern reading `func_globals`",
        ("relu_grad",),
    ),
    # ---- XLA's runtime client -----------------------------------------------------------------
    h(
        "device-client-compiles-text",
        "x.device.client compiles any StableHLO text: one jax.grad produced offline, pasted in as a string",
        """
        _PROGRAM = "module @grad { }"

        def relu_grad(x):
            client = x.device.client  # <-
            exe = client.compile_and_load(_PROGRAM, [x.device])
            return exe.execute([x])[0]
        """,
        "dynamic",
        "reaches XLA's runtime client",
        ("relu_grad",),
    ),
    h(
        "lowered-compile-args-backend",
        "the same client taken from a lowered program's private compile arguments",
        """
        def relu_grad(x):
            backend = jax.jit(relu).lower(x)._lowering.compile_args["backend"]  # <-
            return backend.compile_and_load("module @grad { }", [x.device]).execute([x])[0]
        """,
        "dynamic",
        "reaches XLA's runtime client",
        ("relu_grad",),
    ),
    # ---- class bodies look a name up in the class, then in the module ---------------------------
    h(
        "class-body-name-falls-back-to-module",
        "in a class body that binds `jax` later, `g = jax` reads the module's jax: K.g.grad is jax.grad",
        """
        class _K:
            g = jax  # <-
            jax = None

        def relu_grad(x):
            return _K.g.vmap(_K.g.grad(relu))(x)
        """,
        "dynamic",
        "the module `jax` is used as a value",
    ),
    h(
        "class-body-fallback-reaches-a-helper",
        "a module-level helper reached only through a class-body name the class rebinds afterwards",
        """
        def _cheat(x):
            return jax.vmap(jax.grad(relu))(x)  # <-

        class _K:
            d = staticmethod(_cheat)
            _cheat = None

        def relu_grad(x):
            return _K.d(x)
        """,
        "autodiff",
        "`jax.grad`",
    ),
    h(
        "class-in-a-function-falls-back-to-module",
        "the same inside a formula: a class body skips the function's names and reads the module's",
        """
        def relu_grad(x):
            class K:
                j = jax  # <-
                jax = None

            return K.j.vmap(K.j.grad(relu))(x)
        """,
        "dynamic",
        "the module `jax` is used as a value",
        ("relu_grad",),
    ),
    # ---- a package's attribute and its submodule of the same name -----------------------------
    Hostile(
        "package-attribute-shadows-submodule",
        "__init__.py binds `helpers` to jax; `from . import helpers` then takes that attribute, not helpers.py",
        {
            "__init__.py": "import jax as helpers\nfrom .impl import relu_grad as relu_grad\n",
            "impl.py": "import jax.numpy as jnp\nfrom . import helpers\n\n\ndef relu_grad(x):\n"
            "    return helpers.vmap(helpers.grad(lambda v: jnp.maximum(v, 0.0)))(x)  # <-\n",
            "helpers.py": "X = 1\n",
        },
        kind="autodiff",
        rule="`helpers.grad` (that is `jax.grad`)",
        refused=("relu_grad",),
    ),
    Hostile(
        "submodule-rebound-after-import",
        "__init__.py imports the clean submodule, then rebinds its name to jax; the formula imports it at call time",
        {
            "__init__.py": "from . import helpers\nfrom .impl import relu_grad as relu_grad\nimport jax as helpers\n",
            "impl.py": "import jax.numpy as jnp\n\n\ndef relu_grad(x):\n    from . import helpers\n\n"
            "    return helpers.vmap(helpers.grad(lambda v: jnp.maximum(v, 0.0)))(x)  # <-\n",
            "helpers.py": "X = 1\n",
        },
        kind="autodiff",
        rule="`helpers.grad` (that is `jax.grad`)",
        refused=("relu_grad",),
    ),
    Hostile(
        "subpackage-attribute-through-a-chain",
        "sub/__init__.py rebinds `tools` to jax after importing sub/tools.py: `sub.tools.grad` is jax.grad",
        {
            "__init__.py": "from .impl import relu_grad as relu_grad\n",
            "impl.py": "import jax.numpy as jnp\nfrom . import sub\n\n\ndef relu_grad(x):\n"
            "    return sub.tools.vmap(sub.tools.grad(lambda v: jnp.maximum(v, 0.0)))(x)  # <-\n",
            "sub/__init__.py": "from . import tools\nimport jax as tools\n",
            "sub/tools.py": "X = 1\n",
        },
        kind="autodiff",
        rule="`sub.tools.grad` (that is `jax.grad`)",
        refused=("relu_grad",),
    ),
    # ---- formats computed at run time --------------------------------------------------------
    h(
        "format-string-assembled-at-run-time",
        "a format field built from two halves, so no string in the source names __class__",
        """
        def relu_grad(x):
            text = ("{0._" + "_class__.__mro__}").format(x)  # <-
            return (x > 0).astype(x.dtype) if text else x
        """,
        "dynamic",
        "a format computed at run time",
        ("relu_grad",),
    ),
    h(
        "debug-print-format-from-a-name",
        "jax.debug.print's format held in a module constant assembled with %",
        """
        _FMT = "{f.%s}" % ("_" * 2 + "globals" + "_" * 2)

        def relu_grad(x):
            jax.debug.print(_FMT, f=relu)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "a format computed at run time",
        ("relu_grad",),
    ),
    h(
        "unbound-str-format",
        "str.format(fmt, x) with the format as an argument instead of the receiver",
        """
        def relu_grad(x):
            fmt = "{0.%s}" % ("_" * 2 + "class" + "_" * 2)
            text = str.format(fmt, x)  # <-
            return (x > 0).astype(x.dtype) if text else x
        """,
        "dynamic",
        "a format computed at run time",
        ("relu_grad",),
    ),
    h(
        "format-field-walks-frames",
        "a literal format field with no double underscores that walks a generator's frame to its caller's globals",
        """
        def _gen():
            yield

        def relu_grad(x):
            text = "{0.gi_frame.f_back.f_globals}".format(_gen())  # <-
            return (x > 0).astype(x.dtype) if text else x
        """,
        "dynamic",
        "or an attribute not on the allowlist of attributes",
        ("relu_grad",),
    ),
    # ---- code shaped to make the check slow ---------------------------------------------------
    h(
        "lambdas-nested-past-the-limit",
        "lambdas nested 60 deep around a name: each name is looked up through every scope around it",
        "_F = " + "lambda: " * 60 + "(relu, relu_grad, l2_grad)  # <-\n",
        "unreadable",
        "too complex to check",
    ),
    h(
        "a-file-of-refusals",
        "600 refused names, one a line: each finding is held and sorted for every function (660,000 held 800 MiB)",
        "_E = (\n" + "    eval,\n" * 500 + "    eval,  # <-\n" + "    eval,\n" * 99 + ")\n",
        "unreadable",
        "too complex to check: more than 500 refused constructs in one file",
    ),
    h(
        "a-file-of-refused-imports",
        "the same with refused names imported at module level (each costs only where it is used)",
        "".join(f"from jax import grad as g{i}\n" for i in range(500))
        + "from jax import grad as g500  # <-\n"
        + "".join(f"from jax import grad as g{i}\n" for i in range(501, 600)),
        "unreadable",
        "more than 500 refused constructs",
    ),
    Hostile(
        "star-imports-that-fan-out",
        "30 modules importing each other by star, each using names none defines: searched from every module",
        _fan_out(30, 20),
        raw={"__init__.py": _stars_init(30, BASE)},
        kind="unreadable",
        rule="too complex to check",
    ),
    Hostile(
        "star-imports-to-defined-names",
        "60 modules importing each other by star, each defining one name that __init__ uses",
        _defined_fan_out(60),
        raw={
            "__init__.py": _stars_init(
                60,
                BASE.replace(
                    "return 2 * (a - y)", "return 2 * (a - y) + 0 * (" + " + ".join(f"d{j}(a)" for j in range(60)) + ")"
                ),
            )
        },
        kind="unreadable",
        rule="too complex to check",
    ),
)


CLEAN: tuple[Submission, ...] = (
    Submission(
        "match-and-format-as-usual",
        "match with builtin class patterns, sequences and keyword patterns; formats written in the call",
        {
            "submission.py": """
            from typing import NamedTuple

            import jax
            import jax.numpy as jnp


            class Shape(NamedTuple):
                rows: int
                cols: int


            def l2_grad(a, y):
                match a.shape:
                    case (n,):
                        size = n
                    case (rows, cols):
                        size = rows * cols
                    case _:
                        size = a.size
                match Shape(1, size):
                    case Shape(rows=1, cols=c) if c >= 0:
                        pass
                if type(a) is not type(y) and type(a) in (float, int) or type(a).__name__ == "list":
                    raise TypeError(f"l2_grad: expected arrays, got {type(a).__name__}")
                match float(size):
                    case float(v) if v < 0:
                        raise ValueError("l2_grad: {0} is negative ({obj})".format(v, obj=a.shape))
                jax.debug.print("l2_grad: {n} values, first {x}", n=size, x=a.reshape(-1)[:1])
                return 2 * jnp.asarray(a - y)
            """
        },
    ),
    Submission(
        "classes-with-private-state",
        "classes whose body reads module names it does not rebind, with private attributes and a cache",
        {
            "submission.py": """
            import functools

            import jax.numpy as jnp

            _EPS = 1e-12


            @functools.lru_cache
            def _scale_of(beta):
                return float(beta)


            class Softplus:
                eps = _EPS
                _scale = 1.0

                def __init__(self, beta=1.0):
                    self._beta = beta

                def beta(self):  # (a property until 2026-12-07: library C code reads attributes too)
                    return self._beta * self._scale * _scale_of(1.0)

                def grad(self, x):
                    return 1 / (1 + jnp.exp(-self.beta() * x))


            def softplus_grad(x):
                return Softplus().grad(x).astype(x.dtype)


            def tanh_grad(x):
                f = lambda: lambda: lambda: lambda: 1 - jnp.tanh(x) ** 2  # nesting well inside the limit
                return f()()()().astype(x.dtype)
            """
        },
    ),
)
