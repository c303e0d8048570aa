"""A sixth corpus for the allowlist check, of the classes a red team found on 2026-12-07 in the
rules that day loosened (a name the check takes for a builtin container or an own object, code
that never runs) and two older ones. Each gets past the check by a binding it did not count:

- a second `def` or `class` of the same name (in an `if` never taken, or after the first), so
  the one the check read is not the one called;
- a call spelled `namedtuple` that is not the library's;
- a package's submodule, whose import binds its name in the package (`TYPE_CHECKING`,
  `typing`, or a library alias such as `jnp`);
- `from .tools import *` rebinding a builtin or a class of the importing module;
- `import pkg.helpers as os` beside `import os`, and an attribute stored on an own module;
- `s += obj`, where str and set fall back on obj.__radd__ / __ror__;
- (a second red team) `global` or `nonlocal` in a class body, the implicit classmethods
  `__class_getitem__` and `__init_subclass__`, nonlocal stores written before the binding they
  rebind or made by a capture pattern, a helper's class rebound by `except ... as`, and `**`
  into a def under a decorator that may return anything; (a third) a star import whose name a
  def never run also binds, and a plain method named like a builtin value's (`keys`, `items`);
  (a fourth) `__new__` bound inside a compound statement of the class body; (a fifth)
  `super(Sub, Sub)` and `super()` after `self = Sub`, which hand out plain methods unbound, class
  patterns and `register` on own classes built on `Protocol` or `ABC` (whose isinstance is the
  library's), and a package attribute over the submodule of the same name (`helpers = jax.jit(f)`
  in __init__.py: `from . import helpers` gives the value); (a sixth) a class body's name bound
  later in the body (until then the module's), and two classes of one name in two modules;
  (a seventh) double-underscore methods library code looks up and trusts (NumPy's
  `__array_interface__`, which maps any memory of the process); (a ninth) NumPy's array class
  called with a buffer, which makes object references of integers; (a tenth) own comparison and
  sequence methods, which NumPy's object-array loops call on elements they do not own; (an
  eleventh) arithmetic operators and number conversions, the same way; (a twelfth) `__hash__`,
  which CPython's C OrderedDict calls on a key it does not hold; (a thirteenth) `is_leaf` and
  registered pytree nodes, whose callbacks jaxlib's C++ flattening calls the same way; (a
  fourteenth) `__str__`, `__repr__` and `__format__`, which NumPy calls to size a string dtype;
  (a fifteenth) `__next__` and the itertools that hold an iterator they no longer own; (a
  sixteenth) properties; (a seventeenth) a generator's `finally` around its `yield`.

Every attack reached jax.grad or a jitted function's `lower` in the red team's files, and
passed the check before the commit that added this file. Same conventions as the first corpus:
BASE is prepended to each one-file attack, the line a finding must be on is marked `# <-`.
"""

from __future__ import annotations

from tests.corpus.hostile_static import BASE, Hostile, Submission, h

ONLY_RELU = ("relu_grad",)
UNKNOWN = "on a value of unknown type is not on the allowlist of attributes"
CACHE = """
        from typing import NamedTuple

        class Cache(NamedTuple):
            lower: object
"""
"""An own NamedTuple whose field name is a jitted function's `lower`."""


def _without_relu_grad(text: str) -> str:
    return text.replace("def relu_grad(x):\n    return (x > 0).astype(x.dtype)\n", "")


HOSTILE: tuple[Hostile, ...] = (
    # ---- a name bound twice: the check read one binding, the other runs ------------------------
    h(
        "second-def-in-an-if",
        "a helper returning an own NamedTuple, defined again in an if never taken as one that "
        "returns its argument: the helper's result was taken for an own object",
        CACHE
        + """
        def _make(v):
            return v

        if len([]) > 0:
            def _make(v):
                return Cache(v)

        def relu_grad(x):
            made = _make(jax.jit(relu))
            made.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "second-def-after-the-first",
        "the own-object helper first, then rebound by a second def that returns its argument",
        CACHE
        + """
        def _make(v):
            return Cache(v)

        def _make(v):  # noqa: F811
            return v

        def relu_grad(x):
            made = _make(jax.jit(relu))
            made.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "def-in-try-and-except",
        "the two bindings in the two arms of a try statement",
        CACHE
        + """
        try:
            def _make(v):
                return v
        except ValueError:
            def _make(v):
                return Cache(v)

        def relu_grad(x):
            made = _make(jax.jit(relu))
            made.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "decorated-class-then-a-plain-one",
        "a class under an identity-making decorator, and a plain class of the same name never made",
        """
        def _as_is(cls):
            return lambda v: v

        @_as_is
        class Box:
            pass

        if len([]) > 0:
            class Box:
                def lower(self, x):
                    return x

        def relu_grad(x):
            b = Box(jax.jit(relu))
            b.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "class-then-a-function-of-its-name",
        "a class statement, then a def of the same name that hands back its argument",
        """
        class Box:
            def lower(self, x):
                return x

        def Box(v):  # noqa: F811
            return v

        def relu_grad(x):
            b = Box(jax.jit(relu))
            b.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    # ---- a call spelled like namedtuple ----------------------------------------------------------
    h(
        "namedtuple-of-an-own-object",
        "Factory.namedtuple returns its argument: the field string named the attribute to read",
        """
        class _Factory:
            @staticmethod
            def namedtuple(name, fields):
                return lambda v: v

        Factory = _Factory()
        Box = Factory.namedtuple("Box", "lower")

        def relu_grad(x):
            b = Box(jax.jit(relu))
            b.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "own-function-named-namedtuple",
        "a function of the file called namedtuple",
        """
        def namedtuple(name, fields):
            return lambda v: v

        Box = namedtuple("Box", "lower")

        def relu_grad(x):
            b = Box(jax.jit(relu))
            b.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "NamedTuple-from-elsewhere",
        "NamedTuple imported from a module where it is not typing's (functools.partial of an identity)",
        """
        from functools import partial as NamedTuple

        Box = NamedTuple(lambda v: v)

        def relu_grad(x):
            b = Box(jax.jit(relu))
            b.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    # ---- augmented assignment that falls back on the other operand ------------------------------
    h(
        "str-plus-equals-an-object",
        "s = '' then s += obj: str has no __iadd__, so obj.__radd__ decides what s is",
        """
        class _Swap:
            def __radd__(self, other):
                return jax.jit(relu)

        def relu_grad(x):
            s = ""
            s += _Swap()
            s.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "set-or-equals-an-object",
        "s = set() then s |= obj: set.__ior__ declines a non-set, so obj.__ror__ decides",
        """
        class _Swap:
            def __ror__(self, other):
                return {"k": jax.jit(relu)}

        def relu_grad(x):
            s = set()
            s |= _Swap()
            s.update(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    # ---- packages: what a submodule's import, a star import or a store binds ----------------------
    Hostile(
        "submodule-named-TYPE_CHECKING",
        "importing the package's own TYPE_CHECKING.py binds that (truthy) module over typing's "
        "constant, so the block the check skipped runs",
        {
            "__init__.py": _without_relu_grad(BASE)
            + "\nfrom typing import TYPE_CHECKING\n\nfrom .TYPE_CHECKING import NOTE\n\n"
            "if TYPE_CHECKING:  # <-\n    from jax import grad\n\n"
            "def relu_grad(x):\n    return jax.vmap(grad(relu))(x.reshape(-1)).reshape(x.shape)\n",
            "TYPE_CHECKING.py": "NOTE = 1\n",
        },
        kind="system",
        rule="the module `TYPE_CHECKING` is used as a value",
    ),
    Hostile(
        "submodule-named-typing",
        "the package's own typing.py, imported, binds `typing` over the library in the package",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nimport typing\n\nfrom .typing import NOTE\n\n"
            "if typing.TYPE_CHECKING:\n    from jax import grad  # <-\n\n"
            "def relu_grad(x):\n    return jax.vmap(grad(relu))(x.reshape(-1)).reshape(x.shape)\n",
            "typing.py": "TYPE_CHECKING = True\nNOTE = 1\n",
        },
        kind="autodiff",
        rule="automatic differentiation",
        refused=ONLY_RELU,
    ),
    Hostile(
        "subpackage-over-a-library-alias",
        "`from .np.linalg import NOTE` binds the package's folder np over `import numpy as np`; its "
        "linalg module exports jax.grad as norm",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nimport numpy as np\n\nfrom .np.linalg import NOTE\n\n"
            "def relu_grad(x):\n    return jax.vmap(np.linalg.norm(relu))(x.reshape(-1)).reshape(x.shape)\n",
            "np/__init__.py": "",
            "np/linalg.py": "from jax import grad as norm  # <-\n\nNOTE = 1\n",
        },
        kind="autodiff",
        rule="automatic differentiation",
        refused=ONLY_RELU,
    ),
    Hostile(
        "star-import-rebinds-str",
        "a module of the package defines str, star-imported over the builtin",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom .impl import relu_grad\n",
            "tools.py": "def str(v):\n    return v\n",
            "impl.py": "import jax\n\nfrom .tools import *\n\n\ndef relu_grad(x):\n"
            "    str(jax.jit(jax.nn.relu)).lower(x)  # <-\n    return (x > 0).astype(x.dtype)\n",
        },
        kind="system",
        rule=UNKNOWN,
        refused=ONLY_RELU,
    ),
    Hostile(
        "star-import-rebinds-an-own-class",
        "the importing module's own class Box, rebound by a star import to an identity function",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom .impl import relu_grad\n",
            "tools.py": "def Box(v):\n    return v\n",
            "impl.py": "import jax\n\n\nclass Box:\n    def lower(self, x):\n        return x\n\n\n"
            "from .tools import *\n\n\ndef relu_grad(x):\n"
            "    Box(jax.jit(jax.nn.relu)).lower(x)  # <-\n    return (x > 0).astype(x.dtype)\n",
        },
        kind="system",
        rule=UNKNOWN,
        refused=ONLY_RELU,
    ),
    Hostile(
        "star-import-of-a-star-import",
        "the rebinding comes two star imports away",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom .impl import relu_grad\n",
            "deep.py": "def dict(v):\n    return v\n",
            "tools.py": "from .deep import *\n",
            "impl.py": "import jax\n\nfrom .tools import *\n\n\ndef relu_grad(x):\n"
            "    dict(jax.jit(jax.nn.relu)).update(x)  # <-\n    return (x > 0).astype(x.dtype)\n",
        },
        kind="system",
        rule=UNKNOWN,
        refused=ONLY_RELU,
    ),
    Hostile(
        "own-module-aliased-as-a-refused-one",
        "`import pkg.helpers as os` beside `import os`: the name was taken for the own module alone",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nimport pkg.helpers as os\nimport os  # <-\n\n\n"
            "def relu_grad(x):\n    os.getcwd()\n    return (x > 0).astype(x.dtype)\n",
            "helpers.py": "NOTE = 1\n",
        },
        kind="system",
        rule="`os` is not on the allowlist of modules",
        refused=ONLY_RELU,
    ),
    Hostile(
        "store-on-an-own-module",
        "a sibling module assigns impl.dict, rebinding impl's builtin name from outside",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom . import setup\nfrom .impl import relu_grad\n",
            "setup.py": "from . import impl\n\nimpl.dict = lambda v: v  # <-\n",
            "impl.py": "import jax\n\n\ndef relu_grad(x):\n"
            "    dict(jax.jit(jax.nn.relu)).update(x)\n    return (x > 0).astype(x.dtype)\n",
        },
        kind="dynamic",
        rule="rebinds a name of your own module from outside it",
    ),
    Hostile(
        "store-of-TYPE_CHECKING-on-an-own-module",
        "a sibling module sets the package's TYPE_CHECKING to True",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom typing import TYPE_CHECKING\n\nfrom . import setter\n\n"
            "if TYPE_CHECKING:\n    from jax import grad\n\n"
            "def relu_grad(x):\n    return (x > 0).astype(x.dtype)\n",
            "setter.py": "import pkg\n\npkg.TYPE_CHECKING = True  # <-\n",
        },
        kind="dynamic",
        rule="rebinds a name of your own module from outside it",
    ),
    Hostile(
        "deleting-an-own-modules-name",
        "`del impl.relu` from a sibling: a store of another kind on an own module",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom . import impl, setup\nfrom .impl import relu_grad\n",
            "setup.py": "from . import impl\n\ndel impl.relu  # <-\n",
            "impl.py": "import jax\n\n\ndef relu(x):\n    return x\n\n\ndef relu_grad(x):\n"
            "    return (x > 0).astype(x.dtype)\n",
        },
        kind="dynamic",
        rule="rebinds a name of your own module from outside it",
    ),
    # ---- a second red team the same day: scopes the binding analysis read in order ------------
    h(
        "global-def-in-a-class-body",
        "`global helper` in a class body: the def under it is a module function, whose body the "
        "check charged to the class, which nothing references",
        """
        class _Tools:
            global helper  # <-

            def helper(x):
                return jax.vmap(jax.grad(relu))(x)

        def relu_grad(x):
            return helper(x)
        """,
        "dynamic",
        "in a class body binds its names outside the class",
    ),
    h(
        "nonlocal-in-a-class-body",
        "`nonlocal` in a class body nested in a function rebinds the function's name",
        """
        def relu_grad(x):
            s = ""

            class _Swap:
                nonlocal s  # <-
                s = jax.jit(relu)

            s.lower(x)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "in a class body binds its names outside the class",
        ONLY_RELU,
    ),
    h(
        "class-getitem-cls-is-the-class",
        "__class_getitem__ is a classmethod without a decorator: its cls reading a plain method "
        "runs that method with any object as its self",
        """
        class Peek:
            def lower_of(self, x):
                return self.lower(x)

            def __class_getitem__(cls, item):
                return cls.lower_of(item[0], item[1])  # <-

        def relu_grad(x):
            Peek[jax.jit(relu), x]
            return (x > 0).astype(x.dtype)
        """,
        "system",
        "on your class: read it on an instance",
        ONLY_RELU,
    ),
    h(
        "init-subclass-cls-is-the-class",
        "__init_subclass__ likewise",
        """
        class Base:
            def lower_of(self, x):
                return self.lower(x)

            def __init_subclass__(cls, f=None, x=None):
                cls.lower_of(f, x)  # <-

        def relu_grad(x):
            class Sub(Base, f=jax.jit(relu), x=x):
                pass
            return (x > 0).astype(x.dtype)
        """,
        "system",
        "on your class: read it on an instance",
        ONLY_RELU,
    ),
    h(
        "nonlocal-written-before-the-binding",
        "an inner function's nonlocal store, written before the outer `s = ''` it rebinds",
        """
        def relu_grad(x):
            def swap():
                nonlocal s
                s = jax.jit(relu)

            s = ""
            swap()
            s.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "match-capture-under-nonlocal",
        "a capture pattern rebinding a nonlocal name",
        """
        def relu_grad(x):
            s = ""

            def swap(f):
                nonlocal s
                match f:
                    case s:
                        pass

            swap(jax.jit(relu))
            s.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "helper-rebinds-its-class-by-except-as",
        "a helper whose `return Cache(v)` names the exception it caught, not the class",
        CACHE
        + """
        class _Hand(Exception):
            def __call__(self, v):
                return v

        def _make(v):
            try:
                raise _Hand()
            except _Hand as Cache:
                return Cache(v)

        def relu_grad(x):
            made = _make(jax.jit(relu))
            made.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "decorated-def-takes-computed-options",
        "`**options` into an own def whose decorator hands back jax.jit: compiler_options reach XLA",
        """
        def _as_jit(f):
            return jax.jit

        @_as_jit
        def compile_with(f, **options):
            return f

        def relu_grad(x):
            opts = {}
            opts["compiler_options"] = {"xla_cpu_enable_fast_math": True}
            compile_with(relu, **opts)(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "`**` of a computed mapping",
        ONLY_RELU,
    ),
    # ---- a third red team: a star import hidden by a def, a method named like a value's ---------
    Hostile(
        "star-import-hidden-by-a-def-never-run",
        "tools.py imports os (refused where its names are used); impl.py star-imports tools and "
        "defines os in an if never taken: the def's clean unit answered for the name, not the star's",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom .impl import relu_grad\n",
            "tools.py": "import os  # <-\n\nNOTE = 1\n",
            "impl.py": "from .tools import *\n\nif len([]) > 0:\n\n    def os():\n        return len\n\n\n"
            "def relu_grad(x):\n    os.getcwd()\n    return (x > 0).astype(x.dtype)\n",
        },
        kind="system",
        rule="`os` is not on the allowlist of modules",
        refused=ONLY_RELU,
    ),
    h(
        "method-named-like-a-value-method",
        "a plain method named items, read on its class, runs with a jitted function as its self, on "
        "which the own name lower is then read",
        """
        class Box:
            def items(self, x):  # <-
                return self.lower(x)

            def lower(self, x):
                return x

        def relu_grad(x):
            Alias = Box
            Alias.items(jax.jit(relu), x)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "like a method of builtin values, runs with any object as its `self`",
    ),
    # ---- a fourth red team ------------------------------------------------------------------------
    h(
        "new-inside-an-if-of-the-class-body",
        "__new__ defined under `if True:` in the class body: Box(v) is v, yet Box passed for an own "
        "class (only statements directly in the body were looked at)",
        """
        class Box:
            if True:
                def __new__(cls, v):
                    return v

            def lower(self, x):
                return x

        def relu_grad(x):
            b = Box(jax.jit(relu))
            b.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "new-inside-a-try-of-the-class-body",
        "__new__ defined in a try statement of the class body",
        """
        class Box:
            try:
                def __new__(cls, v):
                    return v
            except ValueError:
                pass

            def lower(self, x):
                return x

        def relu_grad(x):
            b = Box(jax.jit(relu))
            b.lower(x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    # ---- a fifth red team -------------------------------------------------------------------------
    h(
        "two-argument-super-of-the-class",
        "super(Sub, Sub).peek is Base.peek unbound: called with a jitted function as its self, "
        "whose own name `lower` it reads",
        CACHE
        + """
        class Base:
            def peek(self, x):
                return self.lower(x)

        class Sub(Base):
            def run(self, f, x):
                return super(Sub, Sub).peek(f, x)  # <-

        def relu_grad(x):
            Sub().run(jax.jit(relu), x)
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "self-rebound-before-super",
        "super() reads the method's first variable when called: `self = Sub` first makes it "
        "super(Sub, Sub), the same unbound method",
        CACHE
        + """
        class Base:
            def peek(self, x):
                return self.lower(x)

        class Sub(Base):
            def run(self, f, x):
                self = Sub
                return super().peek(f, x)  # <-

        def relu_grad(x):
            Sub().run(jax.jit(relu), x)
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "super-with-another-second-argument",
        "super(Sub, f): the second argument a jitted function, not the method's self",
        CACHE
        + """
        class Base:
            def peek(self, x):
                return self.lower(x)

        class Sub(Base):
            def run(self, f, x):
                return super(Sub, f).peek(x)  # <-

        def relu_grad(x):
            Sub().run(jax.jit(relu), x)
            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "runtime-protocol-in-a-class-pattern",
        "an own Protocol made runtime-checkable by its class attribute matches any object with "
        "`lower`; the class pattern then reads it on a jitted function",
        """
        from typing import Protocol

        class Lowerable(Protocol):
            _is_runtime_protocol = True
            lower: object

        def relu_grad(x):
            match jax.jit(relu):
                case Lowerable(lower=lower):  # <-
                    lower(x)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "a class pattern reading `lower` is not allowed",
        ONLY_RELU,
    ),
    h(
        "abc-register-then-a-class-pattern",
        "ABCMeta.register, read on an own ABC (another own class has a staticmethod of that "
        "name), makes every array its instance",
        """
        from abc import ABC

        class Tools:
            @staticmethod
            def register(v):
                return v

        class OnDevice(ABC):
            device: object

        def relu_grad(x):
            OnDevice.register(jax.Array)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        "`.register` on your class",
        ONLY_RELU,
    ),
    h(
        "abc-subclass-in-a-class-pattern",
        "an own class built on an own ABC: its isinstance is still ABCMeta's",
        """
        from abc import ABC

        class Base(ABC):
            device: object

        class OnDevice(Base):
            pass

        def relu_grad(x):
            match x:
                case OnDevice(device=dev):  # <-
                    print(dev)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "a class pattern reading `device` is not allowed",
        ONLY_RELU,
    ),
    Hostile(
        "value-over-a-submodule-from-dot-import",
        "__init__.py binds `helpers` to a jitted function; helpers.py is never imported, so "
        "`from . import helpers` gives the value, not the module the check read",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nhelpers = jax.jit(relu)\n\n\n"
            "def relu_grad(x):\n    from . import helpers\n\n    helpers.lower(x)  # <-\n"
            "    return (x > 0).astype(x.dtype)\n",
            "helpers.py": "def lower(x):\n    return x\n",
        },
        kind="system",
        rule=UNKNOWN,
        refused=ONLY_RELU,
    ),
    Hostile(
        "value-over-a-submodule-import-as",
        "helpers.py imported once, then its name rebound in __init__.py: `import pkg.helpers as h` "
        "takes the package's attribute",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom . import helpers as _first\n\n"
            "helpers = jax.jit(relu)\n\n\ndef relu_grad(x):\n    import pkg.helpers as h  # <-\n\n"
            "    h.lower(x)\n    return (x > 0).astype(x.dtype)\n",
            "helpers.py": "def lower(x):\n    return x\n",
        },
        kind="dynamic",
        rule="the module is a value its package binds",
        refused=ONLY_RELU,
    ),
    Hostile(
        "value-over-a-submodule-through-the-package",
        "`import pkg` then `pkg.helpers.lower`: the package's value, where the check walked into helpers.py",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom . import helpers as _first\n\n"
            "helpers = jax.jit(relu)\n\n\ndef relu_grad(x):\n    import pkg\n\n    pkg.helpers.lower(x)  # <-\n"
            "    return (x > 0).astype(x.dtype)\n",
            "helpers.py": "def lower(x):\n    return x\n",
        },
        kind="system",
        rule=UNKNOWN,
        refused=ONLY_RELU,
    ),
    Hostile(
        "jitted-function-over-its-own-module",
        "`from .step import step` of a jitted def in __init__.py (as handwritten/ does): `from . import "
        "step` elsewhere gives the jitted function",
        {
            "__init__.py": "from .step import step\nfrom .impl import relu_grad\n",
            "step.py": "import jax\n\n\n@jax.jit\ndef step(x):\n    return (x > 0).astype(x.dtype)\n\n\n"
            "def lower(x):\n    return x\n",
            "impl.py": "from . import step\n\n\ndef relu_grad(x):\n    step.lower(x)  # <-\n    return step.step(x)\n",
        },
        kind="system",
        rule=UNKNOWN,
        refused=ONLY_RELU,
    ),
    Hostile(
        "value-over-a-submodule-by-a-star-import",
        "`from .tools import *` in __init__.py binds tools.py's `helpers`, a jitted function, over "
        "the submodule helpers.py",
        {
            "__init__.py": "from .tools import *\nfrom .impl import relu_grad\n",
            "tools.py": "import jax\n\nhelpers = jax.jit(jax.nn.relu)\n",
            "helpers.py": "def lower(x):\n    return x\n",
            "impl.py": "from . import helpers\n\n\ndef relu_grad(x):\n    helpers.lower(x)  # <-\n"
            "    return (x > 0).astype(x.dtype)\n",
        },
        kind="system",
        rule=UNKNOWN,
        refused=ONLY_RELU,
    ),
    # ---- a sixth red team -------------------------------------------------------------------------
    h(
        "class-body-name-bound-later-in-the-body",
        "`Scaled(...)` in a class body that binds its own class Scaled later: until then the name "
        "is the module's Scaled, a function returning its argument",
        """
        def Scaled(v):
            return v

        def relu_grad(x):
            class K:
                low = Scaled(jax.jit(relu)).lower(x)  # <-

                class Scaled:
                    lower = 0

            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    h(
        "class-body-instance-bound-later-in-the-body",
        "`m.lower` in a class body that binds m to an own instance later: until then m is the module's jitted function",
        """
        class Scaled:
            lower = 0

        m = jax.jit(relu)

        def relu_grad(x):
            class K:
                low = m.lower(x)  # <-
                m = Scaled()

            return (x > 0).astype(x.dtype)
        """,
        "system",
        UNKNOWN,
        ONLY_RELU,
    ),
    Hostile(
        "protocol-base-behind-a-class-of-the-same-name",
        "an own class Scaled built on b.py's Scaled(Protocol), imported as Base: the search for "
        "library bases stopped at the second Scaled, taking it for the first",
        {
            "__init__.py": "from .a import relu_grad\n",
            "b.py": "from typing import Protocol\n\n\nclass Scaled(Protocol):\n    lower = 0\n",
            "a.py": "import jax\n\nfrom .b import Scaled as Base\n\n\nclass Scaled(Base):\n"
            "    _is_protocol = True\n    _is_runtime_protocol = True\n\n\ndef relu_grad(x):\n"
            "    match jax.jit(jax.nn.relu):\n        case Scaled(lower=low):  # <-\n"
            "            low(x)\n    return (x > 0).astype(x.dtype)\n",
        },
        kind="dynamic",
        rule="a class pattern reading `lower` is not allowed",
        refused=ONLY_RELU,
    ),
    # ---- a seventh red team: what library code looks up on your objects ---------------------------
    h(
        "array-interface-reads-any-memory",
        "np.asarray builds an array over the pointer an own object's __array_interface__ names: "
        "with repr's address and a __slots__ slot, any object of the process (a function's "
        "globals, then jax.grad or exec)",
        """
        import numpy as np

        class Box:
            __slots__ = ("a",)

            def __init__(self, a):
                self.a = a

        class Mem:
            def __init__(self, addr):
                self.addr = addr

            @property
            def __array_interface__(self):  # <-
                return {"shape": (1,), "typestr": "<u8", "data": (self.addr, False), "version": 3}

        def relu_grad(x):
            box = Box(jax.device_put)
            where = int(repr(box).split(" at ")[-1].rstrip(">"), 16)
            slot = np.asarray(Mem(where + 16))
            slot[0] = int(np.asarray(Mem(int(slot[0]) + 16))[0])
            box.a["gr" + "ad"]
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
    ),
    h(
        "getattr-hook-answers-the-array-interface",
        "NumPy asks an own object for __array_interface__; a __getattr__ answers any name",
        """
        import numpy as np

        class Mem:
            def __init__(self, addr):
                self.addr = addr

            def __getattr__(self, name):  # <-
                return {"shape": (1,), "typestr": "<u8", "data": (self.addr, False), "version": 3}

        def relu_grad(x):
            np.asarray(Mem(id(x)))
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "array-protocol-methods",
        "__array__, __jax_array__ and __array_ufunc__ hand NumPy and JAX what they trust to be an array",
        """
        import numpy as np

        class Fake:
            def __array__(self, dtype=None, copy=None):  # <-
                return np.zeros(3)

        def relu_grad(x):
            np.asarray(Fake())
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "descriptor-get-on-a-class-attribute",
        "a descriptor's __get__ runs on every read of the attribute it guards, with the owner class",
        """
        class Guard:
            def __get__(self, obj, owner=None):  # <-
                return owner

        class Model:
            w = Guard()

        def relu_grad(x):
            Model().w
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
    ),
    # ---- a ninth red team: NumPy's array constructor over a buffer ---------------------------------
    h(
        "object-array-over-an-int-buffer",
        "np.ndarray((2,), object, buffer=ints): writing an object gives its address, writing an "
        "address gives the object there (a forged list reached the builtins, then exec)",
        """
        import numpy as np

        def relu_grad(x):
            b = np.zeros(2, np.int64)
            ob = np.ndarray((2,), object, buffer=b)  # <-
            ob[0] = list
            int(b[0])
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "may only be named as a type",
        ONLY_RELU,
    ),
    h(
        "object-field-of-a-structured-buffer",
        "the same with a structured dtype whose field is 'O', the array class imported under another name",
        """
        from numpy import ndarray as Buffer
        from numpy import zeros

        def relu_grad(x):
            b = zeros(2, "int64")
            Buffer((2,), dtype=[("a", "O")], buffer=b)["a"]  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "may only be named as a type",
        ONLY_RELU,
    ),
    h(
        "array-class-held-in-a-name",
        "np.ndarray bound to a name, then called with a stride past its buffer",
        """
        import numpy as np

        def relu_grad(x):
            make = np.ndarray  # <-
            make((5,), np.int64, buffer=np.zeros(2, np.int64), strides=(2**62,))
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "may only be named as a type",
        ONLY_RELU,
    ),
    h(
        "array-class-called-inside-isinstance",
        "np.ndarray(...) called inside isinstance's class argument",
        """
        import numpy as np

        def relu_grad(x):
            isinstance(x, (int, np.ndarray((2,), object, buffer=np.zeros(2, np.int64)).__len__))  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "may only be named as a type",
        ONLY_RELU,
    ),
    # ---- a tenth red team: own methods NumPy calls on elements it does not own ---------------------
    h(
        "less-than-frees-an-element-during-sort",
        "an object array's sort calls an own __lt__ that frees an element the insertion sort still "
        "points to; the freed block refilled with a list forges an object that reaches exec",
        """
        import numpy as np

        class K:
            def __init__(self):
                self.arr = None
                self.keep = None

            def __lt__(self, other):  # <-
                self.arr[1] = None
                self.keep = [0.5, list, 1.5, relu, 2.5, 3.5]
                return False

        def relu_grad(x):
            b, c = K(), K()
            a = np.array([int("1" * 30), b, c])
            b.arr = c.arr = a
            a.sort()
            a[2]
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "greater-than-frees-the-running-maximum",
        "argmax keeps its running maximum as a pointer it does not own; an own __gt__ frees it",
        """
        import numpy as np

        class K:
            def __init__(self):
                self.arr = None

            def __gt__(self, other):  # <-
                self.arr[0] = None
                return False

        def relu_grad(x):
            k = K()
            a = np.array([int("1" * 30), k, k], dtype=object)
            k.arr = a
            a.argmax()
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "equality-frees-a-dict-being-compared",
        "np.equal over object arrays of dicts: the dicts' comparison calls an own __eq__ on their "
        "values, which frees the dict NumPy is still comparing",
        """
        import numpy as np

        class K:
            def __init__(self):
                self.arr = None

            def __eq__(self, other):  # <-
                self.arr[1] = None
                return True

        def relu_grad(x):
            k = K()
            a = np.array([{0: k}, {0: k}])
            k.arr = a
            np.equal(a, a[::-1])
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "sequence-protocol-read-while-building-an-array",
        "np.asarray reads an own sequence through __len__ and __getitem__ while it discovers the shape",
        """
        import numpy as np

        class Rows:
            def __len__(self):  # <-
                return 2

            def __getitem__(self, i):
                return [1.0, 2.0]

        def relu_grad(x):
            np.asarray(Rows())
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    # ---- an eleventh red team: arithmetic and conversions on elements NumPy does not own ----------
    h(
        "add-frees-the-other-operand-in-a-sum",
        "np.sum over [A(), B()]: A.__add__ drops the array's and its own reference to B, refills the "
        "block and returns NotImplemented, so Python calls __radd__ on the freed object",
        """
        import numpy as np

        class B:
            pass

        class A:
            def __init__(self):
                self.arr = None

            def __add__(self, other):  # <-
                self.arr[1] = None
                other = None
                return NotImplemented

        def relu_grad(x):
            a = A()
            a.arr = np.array([a, B()])
            np.sum(a.arr)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "reflected-multiply-in-a-dot",
        "np.dot of object arrays calls __rmul__ on elements it does not own",
        """
        import numpy as np

        class K:
            def __rmul__(self, other):  # <-
                return other

        def relu_grad(x):
            np.dot(np.array([2.0, 3.0], dtype=object), np.array([K(), K()]))
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "float-conversion-frees-itself-during-astype",
        "astype(float) calls __float__ with a pointer it does not own; the method drops the array's "
        "reference and its own (self = None), and NumPy reads the freed object's type",
        """
        import numpy as np

        class Box:
            def __init__(self):
                self.arr = None

        BOX = Box()

        class F:
            def __float__(self):  # <-
                BOX.arr[0] = None
                self = None
                return 1

        def relu_grad(x):
            BOX.arr = np.array([F()])
            BOX.arr.astype(float)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "truth-and-index-of-elements",
        "np.where and np.take ask an element for __bool__ and __index__",
        """
        import numpy as np

        class T:
            def __bool__(self):  # <-
                return True

            def __index__(self):
                return 0

        def relu_grad(x):
            np.where(np.array([T(), T()]))
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    # ---- a twelfth red team: a hash CPython's C code asks of a key it does not hold ----------------
    h(
        "hash-clears-the-ordered-dict-being-copied",
        "OrderedDict.copy hashes a key it holds only through its node; an own __hash__ that clears "
        "the dict frees the key, and the KeyError hands the freed object back",
        """
        from collections import OrderedDict

        class K:
            def __init__(self, od):
                self.od = od
                self.calls = 0

            def __hash__(self):  # <-
                self.calls = self.calls + 1
                if self.calls == 2:
                    self.od.clear()
                return 7

        def relu_grad(x):
            od = {}
            od[K(od)] = 1
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "ordered-dict-is-not-listed",
        "the C OrderedDict itself: its copy and repr hash keys they do not hold",
        """
        from collections import OrderedDict  # <-

        def relu_grad(x):
            OrderedDict(a=1).copy()
            return (x > 0).astype(x.dtype)
        """,
        "system",
        "`collections.OrderedDict` is not on the allowlist",
        ONLY_RELU,
    ),
    # ---- a thirteenth red team: jaxlib's C++ flattening calls own code on items it does not own ----
    h(
        "is-leaf-clears-the-list-being-flattened",
        "tree_flatten's is_leaf, called on a list item jaxlib holds without a reference, clears the "
        "list: the item is freed and returned among the leaves (refilled: a forged object, exec)",
        """
        class Box:
            def __init__(self):
                self.tree = None

        G = Box()

        def _is_leaf(node):
            G.tree.clear()
            return True

        def relu_grad(x):
            G.tree = [Box()]
            jax.tree_util.tree_flatten(G.tree, is_leaf=_is_leaf)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "with an `is_leaf` callback is not allowed",
        ONLY_RELU,
    ),
    h(
        "is-leaf-passed-by-position",
        "the same callback as tree_leaves' second positional argument, through jax.tree",
        """
        def _is_leaf(node):
            return True

        def relu_grad(x):
            jax.tree.leaves([x], _is_leaf)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "with an `is_leaf` callback is not allowed",
        ONLY_RELU,
    ),
    h(
        "tree-function-taken-as-a-value",
        "tree_flatten bound through functools.partial with is_leaf, where the call is not seen",
        """
        from functools import partial

        def _is_leaf(node):
            return True

        def relu_grad(x):
            flatten = partial(jax.tree_util.tree_flatten, is_leaf=_is_leaf)  # <-
            flatten([x])
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "may only be called directly",
        ONLY_RELU,
    ),
    h(
        "registered-node-flatten-mutates-the-tree",
        "register_pytree_node's flatten runs inside jaxlib's walk of a list it reads past its end "
        "once the flatten function empties and refills it",
        """
        from jax.tree_util import register_pytree_node  # <-

        class C:
            pass

        def _flatten(c):
            return (), None

        def _unflatten(aux, children):
            return C()

        def relu_grad(x):
            register_pytree_node(C, _flatten, _unflatten)
            return (x > 0).astype(x.dtype)
        """,
        "system",
        "`jax.tree_util.register_pytree_node` is not on the allowlist",
        ONLY_RELU,
    ),
    # ---- a fourteenth red team: printing methods NumPy calls while it works out a string dtype ------
    h(
        "str-clears-the-list-numpy-is-sizing",
        "np.array(lst, dtype=str) calls str() on items of a list it holds without owning them; an "
        "own __str__ that clears the list gets a freed item back, refilled as a forged object",
        """
        import numpy as np

        class Box:
            def __init__(self):
                self.lst = None

        G = Box()

        class A:
            def __str__(self):  # <-
                G.lst.clear()
                return "a"

        def relu_grad(x):
            G.lst = [A(), Box()]
            np.array(G.lst, dtype=str)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "repr-and-format-are-printing-too",
        "__repr__ and __format__, which NumPy's printing and string discovery reach the same way",
        """
        class P:
            def __repr__(self):  # <-
                return "P"

            def __format__(self, spec):
                return "P"

        def relu_grad(x):
            repr(P())
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    # ---- a fifteenth red team: C iterators that call an own __next__ they no longer own ------------
    h(
        "next-reenters-the-islice-that-wraps-it",
        "itertools.islice holds its iterator without a reference while skipping; an own __next__ "
        "that calls the islice back and drops the last reference frees it mid-call",
        """
        import itertools

        class Box:
            def __init__(self):
                self.sl = None

        G = Box()

        class It:
            def __next__(self):  # <-
                next(G.sl)
                return 1

        def relu_grad(x):
            G.sl = itertools.islice(It(), 2, None)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "is looked up and trusted by library code",
        ONLY_RELU,
    ),
    h(
        "generator-reenters-zip-longest",
        "zip_longest drops an iterator's reference twice when a generator calls it back: the "
        "generator needs no class, so the function itself is refused",
        """
        from itertools import zip_longest  # <-

        def relu_grad(x):
            zip_longest([1], [2, 3])
            return (x > 0).astype(x.dtype)
        """,
        "system",
        "`itertools.zip_longest` is not on the allowlist",
        ONLY_RELU,
    ),
    # ---- a seventeenth red team: a generator's finally, run by C code that drops it ----------------
    h(
        "generator-finally-rewrites-a-fancy-index",
        "a generator paused inside try/finally, stored in an object array, runs its finally when "
        "NumPy's fancy-index assignment drops it: the block rewrites the checked index array, and "
        "the later writes land out of bounds",
        """
        import numpy as np

        class Box:
            def __init__(self):
                self.idx = None

        G = Box()

        def _gen():
            try:  # <-
                yield 1
            finally:
                G.idx[1] = 1 << 40

        def relu_grad(x):
            objs = np.full(2, None)
            g = _gen()
            next(g)
            objs[0] = g
            g = None
            G.idx = np.array([0, 1])
            objs[G.idx] = 0
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "a `yield` inside `try` with `finally`/`except`",
        ONLY_RELU,
    ),
    h(
        "generator-except-around-its-yield",
        "an except clause around the yield catches the GeneratorExit of the same drop",
        """
        def _gen(state):
            while True:
                try:  # <-
                    yield 1
                except BaseException:
                    state.clear()
                    return

        def relu_grad(x):
            _gen([])
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "a `yield` inside `try` with `finally`/`except`",
        ONLY_RELU,
    ),
    # ---- a twentieth red team: iter(callable, sentinel) frees its callable mid-call ------------------
    h(
        "lru-cache-freed-inside-a-callable-iterator",
        "iter(cached, sentinel) holds the lru_cache wrapper only through the iterator; the cached "
        "function calls the iterator again, the inner call returns the sentinel and the iterator "
        "frees the wrapper while the outer call still runs in it: its memory, refilled with a "
        "list's items, is read as the cache's fields (a forged object: exec, jax.grad)",
        """
        import functools

        def relu_grad(x):
            state, box, sentinel = [0], [], []

            def step():
                state[0] += 1
                if state[0] == 1:
                    try:
                        next(box[0])
                    except StopIteration:
                        pass
                    refill = [[None] * 22 for _ in range(64)]
                    return refill and 0
                return sentinel

            cached = functools.lru_cache(maxsize=8)(step)
            box.append(iter(cached, sentinel))  # <-
            cached = None
            try:
                next(box[0])
            except StopIteration:
                pass
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "`iter` is allowed only as `iter(x)`",
        ONLY_RELU,
    ),
    h(
        "callable-iterator-through-a-name",
        "iter bound to another name, then called with a callable and a sentinel",
        """
        import functools

        def relu_grad(x):
            make = iter  # <-
            it = make(functools.lru_cache(maxsize=2)(lambda: 0), 0)
            return (x > 0).astype(x.dtype) + 0 * len(list(it))
        """,
        "dynamic",
        "`iter` is allowed only as `iter(x)`",
        ONLY_RELU,
    ),
    h(
        "callable-iterator-made-by-map",
        "map calls iter with two arguments taken from two lists",
        """
        import functools

        def relu_grad(x):
            f = functools.cache(lambda: 0)
            its = list(map(iter, [f], [0]))  # <-
            return (x > 0).astype(x.dtype) + 0 * len(its)
        """,
        "dynamic",
        "`iter` is allowed only as `iter(x)`",
        ONLY_RELU,
    ),
    h(
        "callable-iterator-from-a-starred-pair",
        "iter called with one starred argument that holds the callable and the sentinel",
        """
        import functools

        def relu_grad(x):
            pair = (functools.lru_cache(maxsize=2)(lambda: 0), 0)
            it = iter(*pair)  # <-
            return (x > 0).astype(x.dtype) + 0 * len(list(it))
        """,
        "dynamic",
        "`iter` is allowed only as `iter(x)`",
        ONLY_RELU,
    ),
    h(
        "callable-iterator-from-a-partial",
        "functools.partial holds iter with its callable, and the sentinel comes at the call",
        """
        import functools

        def relu_grad(x):
            half = functools.partial(iter, functools.cache(lambda: 0))  # <-
            return (x > 0).astype(x.dtype) + 0 * len(list(half(0)))
        """,
        "dynamic",
        "`iter` is allowed only as `iter(x)`",
        ONLY_RELU,
    ),
    # ---- a twenty-first red team: np.errstate's callback, called from a cast's C loop --------------
    h(
        "errstate-callback-frees-the-element-being-cast",
        "NumPy calls errstate's `call=` function when casting 1e300 to float32 overflows, while "
        "the cast holds the object array's element without a reference: the callback drops it, "
        "the record's object field then gets the freed tuple's item (a forged object: exec, jax.grad)",
        """
        import numpy as np

        class Link:
            def __init__(self):
                self.a = None

        def relu_grad(x):
            cells = np.empty(1, dtype=object)
            cells[0] = (float("1e300"), Link())

            def on_overflow(kind, flag):
                cells[0] = None

            with np.errstate(all="call", call=on_overflow):  # <-
                rec = cells.astype(np.dtype([("f0", np.float32), ("o1", object)]))
            return (x > 0).astype(x.dtype) + 0 * len(rec)
        """,
        "dynamic",
        "`np.errstate` is allowed only with its modes written as strings",
        ONLY_RELU,
    ),
    h(
        "errstate-call-action-without-a-function",
        'the "log" and "call" actions call whatever function NumPy holds, set elsewhere',
        """
        import numpy as np

        def relu_grad(x):
            with np.errstate(over="log"):  # <-
                np.float32(1e30) * np.float32(1e30)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "`np.errstate` is allowed only with its modes written as strings",
        ONLY_RELU,
    ),
    h(
        "errstate-modes-unpacked",
        "the modes come from a dict unpacked into the call, where the check cannot read them",
        """
        import numpy as np

        MODES = {"all": "call", "call": print}

        def relu_grad(x):
            with np.errstate(**MODES):  # <-
                np.float32(1e30) * np.float32(1e30)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "`np.errstate` is allowed only with its modes written as strings",
        ONLY_RELU,
    ),
    h(
        "errstate-mode-computed",
        "the action is a name bound elsewhere, not a string in the call",
        """
        import numpy as np

        ACTION = "ca" + "ll"

        def relu_grad(x):
            with np.errstate(divide=ACTION):  # <-
                np.float32(1.0) / np.float32(0.0)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "`np.errstate` is allowed only with its modes written as strings",
        ONLY_RELU,
    ),
    h(
        "errstate-through-another-name",
        "errstate bound to another name, then called with a callback",
        """
        import numpy as np

        def relu_grad(x):
            guard = np.errstate  # <-
            with guard(all="call", call=lambda kind, flag: None):
                np.float32(1e30) * np.float32(1e30)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "`np.errstate` may only be called directly",
        ONLY_RELU,
    ),
    # ---- a twenty-third red team: a defaultdict's factory, called from NumPy's dtype builder --------
    h(
        "defaultdict-factory-frees-the-dtype-field-being-read",
        "np.dtype reads a field's optional keys from a defaultdict while holding the items of the "
        "list it was given; the factory clears the list, and the dtype keeps the freed title (a "
        "forged object: __import__, jax.grad, os.system)",
        """
        from collections import defaultdict

        import numpy as np

        def relu_grad(x):
            spec = []

            def metadata():
                spec.clear()
                return {}

            inner = defaultdict(metadata, names=["b"], formats=["f8"], offsets=[0], titles=[None], itemsize=8)  # <-
            spec.append((([1.0, 2.0], "a"), inner))
            dt = np.dtype(spec)
            return (x > 0).astype(x.dtype) + 0 * dt.itemsize
        """,
        "dynamic",
        "`defaultdict` is allowed only with a builtin type as its factory",
        ONLY_RELU,
    ),
    h(
        "defaultdict-factory-a-lambda-through-the-module",
        "collections.defaultdict reached through the module, with a lambda as its factory",
        """
        import collections

        def relu_grad(x):
            table = collections.defaultdict(lambda: 0)  # <-
            return (x > 0).astype(x.dtype) + 0 * table["k"]
        """,
        "dynamic",
        "`defaultdict` is allowed only with a builtin type as its factory",
        ONLY_RELU,
    ),
    h(
        "defaultdict-factory-a-shadowed-builtin-name",
        "the factory is named `list`, but that name is the submission's function here",
        """
        from collections import defaultdict

        def relu_grad(x):
            def list():
                return 0

            table = defaultdict(list)  # <-
            return (x > 0).astype(x.dtype) + 0 * table["k"]
        """,
        "dynamic",
        "`defaultdict` is allowed only with a builtin type as its factory",
        ONLY_RELU,
    ),
    h(
        "defaultdict-factory-from-a-starred-argument",
        "the factory comes out of a starred list, where the check cannot name it",
        """
        from collections import defaultdict

        def relu_grad(x):
            table = defaultdict(*[lambda: 0])  # <-
            return (x > 0).astype(x.dtype) + 0 * table["k"]
        """,
        "dynamic",
        "`defaultdict` is allowed only with a builtin type as its factory",
        ONLY_RELU,
    ),
    h(
        "defaultdict-factory-taken-from-another",
        "one defaultdict's factory handed to another (its attribute, not a builtin named in the call)",
        """
        from collections import defaultdict

        def relu_grad(x):
            first = defaultdict(list)
            second = defaultdict(first.default_factory)  # <-
            return (x > 0).astype(x.dtype) + 0 * len(second)
        """,
        "dynamic",
        "`defaultdict` is allowed only with a builtin type as its factory",
        ONLY_RELU,
    ),
    h(
        "defaultdict-through-a-partial",
        "functools.partial holds defaultdict with its factory",
        """
        import functools
        from collections import defaultdict

        def relu_grad(x):
            table = functools.partial(defaultdict, lambda: 0)()  # <-
            return (x > 0).astype(x.dtype) + 0 * table["k"]
        """,
        "dynamic",
        "`defaultdict` may only be called directly",
        ONLY_RELU,
    ),
    h(
        "defaultdict-bound-to-another-name",
        "defaultdict bound to a plain name, then called with a factory",
        """
        from collections import defaultdict

        def relu_grad(x):
            make = defaultdict  # <-
            table = make(lambda: 0)
            return (x > 0).astype(x.dtype) + 0 * table["k"]
        """,
        "dynamic",
        "`defaultdict` may only be called directly",
        ONLY_RELU,
    ),
    h(
        "map-in-a-dtype-dict-runs-while-numpy-holds-the-list-items",
        "the same place without a defaultdict: NumPy's dtype builder consumes a dict's names, a map "
        "whose function clears the list NumPy is reading",
        """
        import numpy as np

        def relu_grad(x):
            spec = []

            def name(v):
                spec.clear()
                return v

            inner = {"names": map(name, ["b"]), "formats": ["f8"], "offsets": [0], "itemsize": 8}  # <-
            spec.append((([1.0, 2.0], "a"), inner))
            dt = np.dtype(spec)
            return (x > 0).astype(x.dtype) + 0 * dt.itemsize
        """,
        "dynamic",
        "a generator, `map` or `filter` object may only be used where it is made",
        ONLY_RELU,
    ),
    h(
        "generator-kept-in-a-name-then-given-to-numpy",
        "a generator expression bound to a name, later handed to library code inside a dict",
        """
        import numpy as np

        def relu_grad(x):
            names = (n for n in ["b"])  # <-
            dt = np.dtype({"names": names, "formats": ["f8"]})
            return (x > 0).astype(x.dtype) + 0 * dt.itemsize
        """,
        "dynamic",
        "a generator, `map` or `filter` object may only be used where it is made",
        ONLY_RELU,
    ),
    h(
        "generator-function-makes-the-lazy-object",
        "a def with yield: its call is a generator the check cannot tell from a value",
        """
        import numpy as np

        def _names():
            yield "b"  # <-

        def relu_grad(x):
            dt = np.dtype({"names": _names(), "formats": ["f8"]})
            return (x > 0).astype(x.dtype) + 0 * dt.itemsize
        """,
        "dynamic",
        "a generator function (`yield`) is not allowed",
        ONLY_RELU,
    ),
    h(
        "zip-over-a-map-kept-in-a-list",
        "a zip is lazy where an argument is: a zip over a map, put in a list",
        """
        def relu_grad(x):
            pairs = [zip(map(abs, [1.0]), [2.0])]  # <-
            return (x > 0).astype(x.dtype) + 0 * len(pairs)
        """,
        "dynamic",
        "a generator, `map` or `filter` object may only be used where it is made",
        ONLY_RELU,
    ),
    h(
        "iterator-over-a-generator-kept",
        "iter of a generator expression, bound to a name (iterated later, wherever it goes)",
        """
        def relu_grad(x):
            steps = iter(v for v in (1.0, 2.0))  # <-
            return (x > 0).astype(x.dtype) * next(steps)
        """,
        "dynamic",
        "a generator, `map` or `filter` object may only be used where it is made",
        ONLY_RELU,
    ),
    h(
        "generator-returned-by-a-helper",
        "a helper returns a generator expression, which its caller can put anywhere",
        """
        import numpy as np

        def _names(parts):
            return (p for p in parts)  # <-

        def relu_grad(x):
            dt = np.dtype({"names": _names(["b"]), "formats": ["f8"]})
            return (x > 0).astype(x.dtype) + 0 * dt.itemsize
        """,
        "dynamic",
        "a generator, `map` or `filter` object may only be used where it is made",
        ONLY_RELU,
    ),
    h(
        "filter-object-as-a-library-argument",
        "a filter object handed straight to a NumPy function, which iterates it itself",
        """
        import numpy as np

        def relu_grad(x):
            kept = np.fromiter(filter(None, [1.0, 0.0, 2.0]), dtype=np.float64)  # <-
            return (x > 0).astype(x.dtype) + 0 * kept.size
        """,
        "dynamic",
        "a generator, `map` or `filter` object may only be used where it is made",
        ONLY_RELU,
    ),
    h(
        "map-through-another-name-in-a-dtype-dict",
        "map bound to another name, so its call is not seen as lazy, in the dtype dict's names "
        "(a red team's forged object reached jax.grad and os.system this way)",
        """
        import numpy as np

        def relu_grad(x):
            spec = []
            lazy = map  # <-

            def name(v):
                spec.clear()
                return v

            inner = {"names": lazy(name, ("b",)), "formats": ["f8"], "offsets": [0], "itemsize": 8}
            spec.append((([1.0, 2.0], "a"), inner))
            dt = np.dtype(spec)
            return (x > 0).astype(x.dtype) + 0 * dt.itemsize
        """,
        "dynamic",
        "`map` is allowed only called by its name",
        ONLY_RELU,
    ),
    h(
        "map-held-by-a-partial",
        "functools.partial holds map with its function; the call makes the map object",
        """
        import functools

        def relu_grad(x):
            each = functools.partial(map, abs)  # <-
            table = {"names": each(["b"])}
            return (x > 0).astype(x.dtype) + 0 * len(table)
        """,
        "dynamic",
        "`map` is allowed only called by its name",
        ONLY_RELU,
    ),
    h(
        "filter-as-a-default-argument",
        "filter bound as a parameter's default, called through the parameter",
        """
        def relu_grad(x):
            def names(keep=filter):  # <-
                return {"names": keep(None, ["b"])}

            return (x > 0).astype(x.dtype) + 0 * len(names())
        """,
        "dynamic",
        "`filter` is allowed only called by its name",
        ONLY_RELU,
    ),
    h(
        "map-taken-out-of-a-list",
        "map put in a list and called from it",
        """
        def relu_grad(x):
            makers = [map, filter]  # <-
            table = {"names": makers[0](str, ["b"])}
            return (x > 0).astype(x.dtype) + 0 * len(table)
        """,
        "dynamic",
        "`map` is allowed only called by its name",
        ONLY_RELU,
    ),
    # ---- a twenty-fifth red team: collections.abc mixins call plain methods from special ones ------
    h(
        "generator-mixin-list-consumed-by-the-dtype-builder",
        "a list that iterates through collections.abc.Generator's __next__, which calls the class's "
        "`send`: NumPy consumes the dict's names with it while holding the list items `send` frees",
        """
        from collections.abc import Generator

        import numpy as np

        SPEC = []

        class Names(Generator, list):  # <-
            def send(self, value):
                if SPEC:
                    SPEC.clear()
                    return "b"
                raise StopIteration

            def throw(self, *args):
                raise StopIteration

        def relu_grad(x):
            inner = {"names": Names(["b"]), "formats": ["f8"], "offsets": [0], "itemsize": 8}
            SPEC.append((([1.0, 2.0], "a"), inner))
            dt = np.dtype(SPEC)
            return (x > 0).astype(x.dtype) + 0 * dt.itemsize
        """,
        "dynamic",
        "a class built on `collections.abc.Generator` is not allowed",
        ONLY_RELU,
    ),
    h(
        "set-mixin-operator-in-an-object-array-loop",
        "collections.abc.Set's `-` calls the class's `_from_iterable` from NumPy's subtract loop, "
        "which holds the elements without references; it drops the right operand, whose __rsub__ "
        "then runs on freed memory",
        """
        from collections.abc import Set

        import numpy as np

        HOLD = []

        class Left(Set, Exception):  # <-
            def _from_iterable(self, it):
                HOLD[0][0] = None
                return NotImplemented

        def relu_grad(x):
            arr = np.array([None])
            brr = np.array([None])
            arr[0] = Left()
            brr[0] = Left()
            HOLD.append(brr)
            return (x > 0).astype(x.dtype) + 0 * len(arr - brr)
        """,
        "dynamic",
        "a class built on `collections.abc.Set` is not allowed",
        ONLY_RELU,
    ),
    h(
        "mixin-base-by-its-typing-alias",
        "typing.Iterator is collections.abc.Iterator: __iter__ and __next__ from the library",
        """
        import typing

        class Steps(typing.Iterator):  # <-
            def __init__(self):
                self.left = 1

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len([Steps])
        """,
        "dynamic",
        "a class built on `typing.Iterator` is not allowed",
        ONLY_RELU,
    ),
    h(
        "mixin-base-through-a-plain-name",
        "the library class bound to a plain name first, so the base is not a library name",
        """
        from collections.abc import Set

        Base = Set

        class Bag(Base):  # <-
            pass

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len([Bag])
        """,
        "dynamic",
        "a class built on `Base` is not allowed",
        ONLY_RELU,
    ),
    h(
        "mixin-base-by-a-module-path-bound-twice",
        "collections bound by two imports, so the base's library name cannot be told",
        """
        import collections
        import collections.abc

        class Bag(collections.abc.MutableSet):  # <-
            pass

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len([Bag])
        """,
        "dynamic",
        "a class built on `collections.abc.MutableSet` is not allowed",
        ONLY_RELU,
    ),
    h(
        "number-abc-base",
        "numbers.Real brings Python-level operators that call the class's methods",
        """
        import numbers

        class Amount(numbers.Real):  # <-
            pass

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len([Amount])
        """,
        "dynamic",
        "a class built on `numbers.Real` is not allowed",
        ONLY_RELU,
    ),
    # ---- a twenty-sixth red team: a value method's name on a dict subclass, called by NumPy -----------
    h(
        "staticmethod-items-on-a-dict-subclass",
        "NumPy's dtype builder turns a dict without names through _usefields, which calls the dict's "
        "`.items()` while its C caller holds the list items; a staticmethod `items` clears the list "
        "(a forged object reached jax.grad and os.system)",
        """
        import numpy as np

        SPEC = []

        class Fields(dict):
            @staticmethod
            def items():  # <-
                SPEC.clear()
                return []

        def relu_grad(x):
            SPEC.append((([1.0, 2.0], "a"), Fields()))
            dt = np.dtype(SPEC)
            return (x > 0).astype(x.dtype) + 0 * dt.itemsize
        """,
        "dynamic",
        "a class attribute named `items`",
        ONLY_RELU,
    ),
    h(
        "classmethod-keys-on-a-dict-subclass",
        "the same name as a classmethod",
        """
        class Fields(dict):
            @classmethod
            def keys(cls):  # <-
                return []

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "a class attribute named `keys`",
        ONLY_RELU,
    ),
    h(
        "value-method-name-bound-to-a-staticmethod-call",
        "staticmethod called in the class body instead of used as a decorator",
        """
        def _none(*args):
            return []

        class Fields(dict):
            items = staticmethod(_none)  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "a class attribute named `items`",
        ONLY_RELU,
    ),
    h(
        "value-method-name-bound-to-a-lambda-kept-in-a-module-name",
        "a module name holding a lambda, bound in the class body to a container method's name",
        """
        _NONE = lambda *args: []  # noqa: E731

        class Fields(dict):
            values = _NONE  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "a class attribute named `values`",
        ONLY_RELU,
    ),
    h(
        "value-method-name-stored-on-the-instance",
        "an instance attribute hides dict.items for library code that calls it on the object",
        """
        def _none(*args):
            return []

        class Fields(dict):
            def __init__(self):
                super().__init__()
                self.items = _none  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "`self.items = ...` would hide the method",
        ONLY_RELU,
    ),
    # ---- a twenty-seventh red team: the same names bound by other statements --------------------
    h(
        "value-method-name-bound-by-unpacking",
        "a tuple target binds items beside another name (a red team's use-after-free, as the staticmethod)",
        """
        def _none(*args):
            return []

        class Fields(dict):
            items, _unused = staticmethod(_none), 0  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "a class attribute named `items`",
        ONLY_RELU,
    ),
    h(
        "value-method-name-bound-by-a-list-target",
        "a one-item list target",
        """
        def _none(*args):
            return []

        class Fields(dict):
            [items] = [staticmethod(_none)]  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "a class attribute named `items`",
        ONLY_RELU,
    ),
    h(
        "value-method-name-bound-by-a-for-loop",
        "the for loop's target in the class body",
        """
        def _none(*args):
            return []

        class Fields(dict):
            for items in [staticmethod(_none)]:  # <-
                pass

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "a class attribute named `items`",
        ONLY_RELU,
    ),
    h(
        "value-method-name-bound-by-a-walrus",
        "a walrus inside an assignment's value",
        """
        def _none(*args):
            return []

        class Fields(dict):
            _unused = (items := staticmethod(_none))  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "a class attribute named `items`",
        ONLY_RELU,
    ),
    h(
        "value-method-name-bound-by-a-nested-class",
        "a nested class named items: calling it runs its __init__",
        """
        def _none(*args):
            return []

        class Fields(dict):
            class items(list):  # <-
                pass

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Fields())
        """,
        "dynamic",
        "a class attribute named `items`",
        ONLY_RELU,
    ),
    # ---- a twenty-ninth red team: print options, ctypes hooks ---------------------------------------
    h(
        "printoptions-formatter-clears-the-list-numpy-reads",
        "jnp.printoptions(formatter=) runs code of the submission whenever anything prints an array: "
        "str() of a list item NumPy was sizing a string dtype from cleared the list, and NumPy read the "
        "freed items",
        """
        import numpy as np

        SPEC = []

        def _fmt(v):
            SPEC.clear()
            return "0"

        def relu_grad(x):
            SPEC.append(ValueError(np.ones(2)))
            with jnp.printoptions(formatter={"float": _fmt}):  # <-
                np.asarray(SPEC, dtype=str)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "sets how the whole process prints arrays",
        ONLY_RELU,
    ),
    h(
        "set-printoptions-at-import",
        "jnp.set_printoptions(formatter=) at import: the formatter stays set for every later print",
        """
        def _fmt(v):
            return "0"

        jnp.set_printoptions(formatter={"all": _fmt})  # <-
        """,
        "dynamic",
        "sets how the whole process prints arrays",
    ),
    h(
        "set-printoptions-override-repr-by-an-imported-alias",
        "override_repr through `from jax.numpy import set_printoptions as options`",
        """
        from jax.numpy import set_printoptions as options  # <-

        def relu_grad(x):
            options(override_repr=lambda a: "0")
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "sets how the whole process prints arrays",
        ONLY_RELU,
    ),
    Hostile(
        "ctypes-type-code-in-a-module-named-ctypes",
        'a class with `_type_ = "D"` in a module whose name holds _ctypes: NumPy takes it for a ctypes '
        "type, and jnp.full(..., dtype=Half) is complex128 (complex-step differentiation)",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nfrom .my_ctypes import Half\n\n\n"
            "def relu_grad(x):\n    i = jnp.sqrt(jnp.full(x.shape, -1.0, dtype=Half))\n"
            "    return (x > 0).astype(x.dtype) + 0 * (i * i).astype(x.dtype)\n",
            "my_ctypes.py": 'class Half:\n    _type_ = "D"  # <-\n',
        },
        kind="dynamic",
        rule="a class attribute named `_type_`",
        refused=ONLY_RELU,
    ),
    h(
        "ctypes-type-code-bound-by-unpacking",
        '`_type_, _ = "D", 0` in a class body',
        """
        class Half:
            _type_, _unused = "D", 0  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * jnp.zeros(1, dtype=Half).sum().astype(x.dtype)
        """,
        "dynamic",
        "a class attribute named `_type_`",
        ONLY_RELU,
    ),
    h(
        "ctypes-length-as-a-method",
        "a method named _length_: ctypes arrays declare their length by it",
        """
        class Row:
            def _length_(self):  # <-
                return 3

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * Row()._length_()
        """,
        "dynamic",
        "a class attribute named `_length_`",
        ONLY_RELU,
    ),
    h(
        "ctypes-fields-stored-on-self",
        "`self._fields_ = ...`: the name ctypes structures declare their fields by",
        """
        class Layout:
            def __init__(self):
                self._fields_ = [("a", "d")]  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(Layout()._fields_)
        """,
        "dynamic",
        "`self._fields_ = ...`",
        ONLY_RELU,
    ),
    # ---- a thirtieth red team: an exception whose fields CPython's C code trusts ------------------
    h(
        "unicode-decode-error-with-a-negative-start",
        "UnicodeDecodeError made with start -2**44: str() of it reads outside its bytes object "
        "(CPython 3.11, gh-123378), a crash, or the process's memory a byte at a time",
        """
        def relu_grad(x):
            e = UnicodeDecodeError("utf-8", b"abcd", -(1 << 44), 1 - (1 << 44), "r")  # <-
            return (x > 0).astype(x.dtype) + 0 * len(str(e))
        """,
        "system",
        "the builtin `UnicodeDecodeError` is not allowed",
        ONLY_RELU,
    ),
    h(
        "unicode-error-family-through-a-module-alias",
        "the same class bound to a module name at import, then called in a formula",
        """
        Decoding = UnicodeDecodeError  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * len(str(Decoding("utf-8", b"ab", -8, -7, "r")))
        """,
        "system",
        "the builtin `UnicodeDecodeError` is not allowed",
    ),
    h(
        "syntax-error-with-offsets-past-its-text",
        "SyntaxError carries a text and offsets that traceback printing indexes: not a formula's",
        """
        def relu_grad(x):
            e = SyntaxError("m", ("f.py", 1, 10**9, "ab", 1, -(10**9)))  # <-
            return (x > 0).astype(x.dtype) + 0 * len(str(e))
        """,
        "system",
        "the builtin `SyntaxError` is not allowed",
        ONLY_RELU,
    ),
    h(
        "system-exit-caught-and-raised",
        "SystemExit raised in a formula: it stops a process, which a formula never needs to",
        """
        def relu_grad(x):
            if x.size < 0:
                raise SystemExit(0)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "system",
        "the builtin `SystemExit` is not allowed",
        ONLY_RELU,
    ),
    # ---- a thirty-first red team: dtypes NumPy trusts -----------------------------------------------
    h(
        "structured-dtype-whose-field-overflows-its-item-size",
        "a field of 2**31 - 8 bytes at offset 16 in a 16-byte item: NumPy adds them in a C int, the "
        "sum wraps, and np.zeros(2, dtype=spec) is a 32-byte array with a writable 2 GiB field",
        """
        import numpy as np

        def relu_grad(x):
            big = np.dtype((np.float64, (2**28 - 1,)))
            spec = np.dtype({"names": ["a"], "formats": [big], "offsets": [16], "itemsize": 16})
            buf = np.zeros(2, dtype=spec)  # <-
            return (x > 0).astype(x.dtype) + 0 * buf.size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "structured-dtype-through-view",
        "the same spec handed to an array's view",
        """
        import numpy as np

        def relu_grad(x):
            window = np.zeros(4).view({"a": ((np.float64, (2**27,)), 16)})  # <-
            return (x > 0).astype(x.dtype) + 0 * window.size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "string-dtype-view-across-arrays",
        'StringDType arrays ("T") viewed with another\'s dtype read outside their strings',
        """
        import numpy as np

        def relu_grad(x):
            a = np.asarray(["q" * 100] * 60, dtype="T")  # <-
            return (x > 0).astype(x.dtype) + 0 * a.size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "subarray-dtype-through-a-name",
        "the spec bound to a name first, then given to np.ones positionally",
        """
        import numpy as np

        def relu_grad(x):
            spec = (np.float64, (4,))
            return (x > 0).astype(x.dtype) + 0 * np.ones(2, spec).size  # <-
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "dtype-through-a-helper-parameter",
        "a helper makes the array of whatever dtype its caller passes",
        """
        import numpy as np

        def _make(n, kind):
            return np.zeros(n, kind)  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * _make(2, [("a", np.float64, (4,))]).size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "numpy-maker-taken-as-a-value",
        "np.full bound to another name, its dtype then unseen",
        """
        import numpy as np

        def relu_grad(x):
            make = np.full  # <-
            return (x > 0).astype(x.dtype) + 0 * make(2, 0.0, "T").size
        """,
        "dynamic",
        "may only be called directly",
        ONLY_RELU,
    ),
    h(
        "numpy-maker-with-starred-arguments",
        "np.asarray(*args): the dtype may be any of them",
        """
        import numpy as np

        def relu_grad(x):
            args = [["a"], "T"]
            return (x > 0).astype(x.dtype) + 0 * np.asarray(*args).size  # <-
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "shape-dtype-struct-keeps-any-dtype",
        "jax.ShapeDtypeStruct keeps a structured dtype, and its .dtype reads as a dtype's",
        """
        import numpy as np

        def relu_grad(x):
            s = jax.ShapeDtypeStruct((2,), (np.float64, (4,)))  # <-
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, s.dtype).size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "object-dtype-for-numpy",
        "dtype=object makes an array of references, whose loops call into what they hold",
        """
        import numpy as np

        def relu_grad(x):
            a = np.zeros(2, dtype=object)  # <-
            return (x > 0).astype(x.dtype) + 0 * a.size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "own-object-keeps-a-spec-as-its-dtype",
        "self.dtype = a parameter: obj.dtype then hands NumPy the caller's spec",
        """
        import numpy as np

        class Spec:
            def __init__(self, kind):
                self.dtype = kind  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, Spec((np.float64, (4,))).dtype).size
        """,
        "dynamic",
        "given something else",
        ONLY_RELU,
    ),
    h(
        "namedtuple-class-field-named-dtype",
        "a NamedTuple's dtype field holds whatever it was given",
        """
        from typing import NamedTuple

        import numpy as np

        class Spec(NamedTuple):
            dtype: object  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, Spec("T").dtype).size
        """,
        "dynamic",
        "given something else",
        ONLY_RELU,
    ),
    h(
        "namedtuple-call-field-named-dtype",
        "collections.namedtuple with a dtype field",
        """
        from collections import namedtuple

        import numpy as np

        Spec = namedtuple("Spec", "dtype shape")  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, Spec("T", 2).dtype).size
        """,
        "dynamic",
        "a namedtuple field named `dtype`",
    ),
    # ---- a thirty-second red team: the dtype rule's names, comprehension stores -------------------------
    h(
        "class-body-reads-the-module-dtype-before-its-own",
        "a class body calls np.zeros(2, dt) before it binds dt: the module's structured dt is read",
        """
        import numpy as np

        dt = np.dtype({"names": ["a"], "formats": [(np.float64, (2**28 - 1,))], "offsets": [16], "itemsize": 16})

        class Holder:
            buf = np.zeros(2, dt)  # <-
            dt = np.float64

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * Holder.buf.size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
    ),
    h(
        "builtin-left-unbound-by-a-branch-never-taken",
        "`object` bound only in an `if False:` at module level: np.zeros(2, object) is the builtin's object dtype",
        """
        import numpy as np

        if len([]) > 0:
            object = np.float64

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, object).size  # <-
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "comprehension-target-stores-on-self",
        "`[0 for self.dtype in [spec]]` rebinds self.dtype where an assignment would be checked",
        """
        import numpy as np

        class Kind:
            def __init__(self):
                self.dtype = np.float64
                [0 for self.dtype in [(np.float64, (4,))]]  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, Kind().dtype).size
        """,
        "dynamic",
        "a comprehension's `for` may bind only names",
        ONLY_RELU,
    ),
    h(
        "comprehension-target-stores-on-another-object",
        "a comprehension stores an attribute on an object that is not self, which no statement may",
        """
        class Box:
            def __init__(self):
                self.scale = 1.0

        def relu_grad(x):
            box = Box()
            [0 for box.scale in [2.0]]  # <-
            return (x > 0).astype(x.dtype) * box.scale
        """,
        "dynamic",
        "a comprehension's `for` may bind only names",
        ONLY_RELU,
    ),
    h(
        "comprehension-target-stores-into-a-dict",
        "a comprehension's target may be a subscript too",
        """
        def relu_grad(x):
            seen = {}
            [0 for seen["k"] in [1.0]]  # <-
            return (x > 0).astype(x.dtype) * seen["k"]
        """,
        "dynamic",
        "a comprehension's `for` may bind only names",
        ONLY_RELU,
    ),
    # ---- a thirty-third red team: more ways to carry a dtype --------------------------------------------
    h(
        "namedtuple-field-name-computed",
        'namedtuple("Holder", ["dty" + "pe"]): the field the check looked for was never written',
        """
        from collections import namedtuple

        import numpy as np

        Holder = namedtuple("Holder", ["dty" + "pe"])  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, Holder((np.float64, (4,))).dtype).size
        """,
        "dynamic",
        "a namedtuple's field names must be written out",
    ),
    h(
        "typing-namedtuple-functional-field-computed",
        'typing.NamedTuple("P", [(name, object)]) with the name held in a variable',
        """
        from typing import NamedTuple

        import numpy as np

        FIELD = "dtype"
        P = NamedTuple("P", [(FIELD, object)])  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, P("T").dtype).size
        """,
        "dynamic",
        "a namedtuple's field names must be written out",
    ),
    Hostile(
        "own-module-dtype-read-as-an-attribute",
        "m.py binds dtype to a spec; the package reads m.dtype, which counted as a value's dtype",
        {
            "__init__.py": _without_relu_grad(BASE) + "\nimport numpy as np\n\nfrom . import m\n\n\n"
            "def relu_grad(x):\n    return (x > 0).astype(x.dtype) + 0 * np.zeros(2, m.dtype).size\n",
            "m.py": "import numpy as np\n\ndtype = (np.float64, (4,))  # <-\n",
        },
        kind="dynamic",
        rule="`dtype` given something else",
        refused=("relu_grad", "l2_grad"),
    ),
    h(
        "module-dtype-bound-by-a-def",
        "a module-level def named dtype: helpers.dtype would be a function, any dtype it returns unseen",
        """
        import numpy as np

        def dtype():  # <-
            return np.float64
        """,
        "dynamic",
        "`dtype` given something else",
    ),
    h(
        "tree-partial-forwards-dtype-to-numpy",
        "jax.tree_util.Partial(np.concatenate, dtype=spec): JAX's Partial checks nothing, it forwards",
        """
        import numpy as np

        def relu_grad(x):
            join = jax.tree_util.Partial(np.concatenate, dtype=(np.float64, (4,)), casting="unsafe")  # <-
            return (x > 0).astype(x.dtype) + 0 * join([np.zeros(2)]).size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "array-method-dtype-in-its-second-place",
        'a.cumsum(0, "O") makes an object array, whose dtype then reads as a value\'s',
        """
        import numpy as np

        def relu_grad(x):
            o = np.zeros(3).cumsum(0, "O")  # <-
            return (x > 0).astype(x.dtype) + 0 * o.size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    # ---- a thirty-fourth red team: library objects that keep the dtype they are given --------------------
    h(
        "iinfo-keeps-an-int-dtype-with-fields",
        "np.iinfo((np.int64, spec)) checks only the kind and keeps the dtype: its .dtype is an int64 "
        "whose overflowing field np.zeros then lays over the heap",
        """
        import numpy as np

        def relu_grad(x):
            spec = np.dtype({"names": ["a"], "formats": [(np.float64, (2**28 - 1,))], "offsets": [8], "itemsize": 8})
            info = np.iinfo(np.dtype((np.int64, spec)))  # <-
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, info.dtype).size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "jnp-iinfo-given-the-spec-inline",
        "jnp.iinfo with the spec written in the call, no np.dtype at all",
        """
        import numpy as np

        def relu_grad(x):
            info = jnp.iinfo((np.int64, {"names": ["a"], "formats": [(np.float64, (4,))], "offsets": [8]}))  # <-
            return (x > 0).astype(x.dtype) + 0 * np.ones(2, info.dtype).size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "iinfo-given-the-spec-by-keyword",
        "np.iinfo(int_type=...): the dtype by its own keyword",
        """
        import numpy as np

        def relu_grad(x):
            info = np.iinfo(int_type=(np.int64, {"a": (np.float64, 8)}))  # <-
            return (x > 0).astype(x.dtype) + 0 * np.ones(2, info.dtype).size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "finfo-taken-as-a-value",
        "jnp.finfo bound to another name, its argument then unseen",
        """
        def relu_grad(x):
            info = jnp.finfo  # <-
            return (x > 0).astype(x.dtype) + 0 * info(x.dtype).eps
        """,
        "dynamic",
        "may only be called directly",
        ONLY_RELU,
    ),
    # ---- a thirty-fifth red team: reading memory as another dtype ----------------------------------------
    h(
        "view-ints-as-a-string-arrays-dtype",
        "int32s viewed with a string array's dtype: tolist() made Python strings of characters outside "
        "Unicode, which CPython assumes never exist",
        """
        import numpy as np

        def relu_grad(x):
            s = np.array(["ab"])
            t = np.full((2,), -1, np.int32).view(s.dtype).tolist()  # <-
            return (x > 0).astype(x.dtype) + 0 * len(t)
        """,
        "system",
        "`.view`",
        ONLY_RELU,
    ),
    h(
        "view-bytes-as-booleans",
        "uint8 twos viewed as bool: booleans that are neither 0 nor 1, which XLA's programs read "
        "one way here and another there",
        """
        import numpy as np

        def relu_grad(x):
            m = np.full((8,), 2, np.uint8).view(np.bool_)  # <-
            return (x > 0).astype(x.dtype) + 0 * jnp.sum(jnp.asarray(m))
        """,
        "system",
        "`.view`",
        ONLY_RELU,
    ),
    # ---- a thirty-sixth red team: a dtype made as a value, made into an array by its .type ---------------
    h(
        "dtype-made-as-a-value-then-its-type-called",
        "np.dtype(spec) held in a name; its .type is np.void, whose (data, dtype) made an empty array "
        "of the bad dtype, and that array's .dtype read as a value's",
        """
        import numpy as np

        SPEC = {"names": ["a"], "formats": [(np.float64, (2**28 - 1,))], "offsets": [16], "itemsize": 16}

        def relu_grad(x):
            d = np.dtype(SPEC)  # <-
            made = d.type([], d)
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, made.dtype).size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "numpy-promote-types-keeps-a-wrapped-spec",
        "np.promote_types of a spec wrapped in a one-element subarray field kept the overflowing field",
        """
        import numpy as np

        BAD = {"names": ["a"], "formats": [(np.float64, (2**28 - 1,))], "offsets": [16], "itemsize": 16}

        def relu_grad(x):
            d = np.promote_types([("x", BAD, (1,))], [("x", BAD, (1,))])  # <-
            return (x > 0).astype(x.dtype) + 0 * np.zeros(2, d.type([], d).dtype).size
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "jnp-dtype-is-numpys",
        "jnp.dtype is NumPy's dtype class: the same spec through it",
        """
        def relu_grad(x):
            d = jnp.dtype([("a", "f8", (4,))])  # <-
            return (x > 0).astype(x.dtype) + 0 * d.itemsize
        """,
        "dynamic",
        "a dtype NumPy may be given must be one the check can see",
        ONLY_RELU,
    ),
    h(
        "numpy-result-type-taken-as-a-value",
        "np.result_type bound to another name, its arguments then unseen",
        """
        import numpy as np

        def relu_grad(x):
            rt = np.result_type  # <-
            return (x > 0).astype(x.dtype) + 0 * rt(x.dtype).itemsize
        """,
        "dynamic",
        "may only be called directly",
        ONLY_RELU,
    ),
)

CLEAN: tuple[Submission, ...] = (
    Submission(
        "dtypes-as-formulas-write-them",
        "x.dtype, named dtypes, dtype strings, jnp.result_type and promote_types through names, a "
        "module constant, jnp functions given a parameter, a class's dtype constant, self.dtype = x.dtype",
        {
            "submission.py": """
            import jax
            import jax.numpy as jnp
            import numpy as np

            DT = np.float64


            class Cast:
                dtype = jnp.float32

                def __init__(self, x):
                    self.dtype = x.dtype

                def back(self, y):
                    return y.astype(self.dtype)


            def _zeros(shape, dtype):
                return jnp.zeros(shape, dtype=dtype)


            def relu_grad(x):
                w = jnp.promote_types(x.dtype, jnp.float32)
                dt = jnp.result_type(x)
                tiny = np.finfo(np.dtype("float32")).tiny
                host = np.asarray([0.0, 1.0], dtype=np.float64) + np.zeros(2, "float32") + np.full(2, 0.0, DT)
                one = np.ones(1, dtype=float)[0] + np.sum(host, dtype=np.float64) * 0
                s = jax.ShapeDtypeStruct(x.shape, x.dtype)
                d = (x.astype(w) > 0).astype(dt) * one + _zeros(s.shape, x.dtype) + 0 * tiny
                return Cast(x).back(d.astype(Cast.dtype).astype(x.dtype))
            """,
        },
    ),
    Submission(
        "the-exceptions-a-formula-raises-and-catches",
        "ValueError and TypeError raised, KeyError/IndexError/LookupError and ZeroDivisionError caught, "
        "a RuntimeWarning category, StopIteration from next(), an own ValueError subclass",
        {
            "submission.py": """
            import warnings

            import jax.numpy as jnp


            class ShapeError(ValueError):
                pass


            def _first(xs):
                try:
                    return next(iter(xs))
                except StopIteration:
                    return None


            def relu_grad(x):
                if not hasattr(x, "shape"):
                    raise TypeError("x must be an array")
                if x.ndim > 8:
                    raise ShapeError(f"too many axes: {x.ndim}")
                try:
                    scale = {"relu": 1.0}["relu"] / 1.0
                except (KeyError, IndexError, LookupError, ZeroDivisionError, ArithmeticError):
                    warnings.warn("no scale", RuntimeWarning)
                    scale = 1.0
                _first(())
                return (x > 0).astype(x.dtype) * scale
            """,
        },
    ),
    Submission(
        "underscored-names-that-are-not-hooks",
        "a leading underscore (`_eps`), a trailing one (`lambda_`, PEP 8's way around a keyword), a "
        "name-mangled `__scale` and `_` in a class body and on self: only `_name_` is a library's hook",
        {
            "submission.py": """
            import jax.numpy as jnp


            class Leaky:
                _eps = 1e-12
                lambda_ = 0.01
                __scale = 1.0

                def __init__(self, slope):
                    self._slope = slope
                    self.type_ = "leaky"
                    _ = self.__scale

                def grad(self, x):
                    return jnp.where(x > 0, 1.0, self._slope * self.lambda_ / 0.01 + self._eps * 0)


            def relu_grad(x):
                return Leaky(0.0).grad(x).astype(x.dtype)
            """,
        },
    ),
    Submission(
        "class-data-attributes-named-like-value-attributes",
        "class attributes named dtype, shape, eps and size holding data: an attribute, a tuple, "
        "a module constant and a number",
        {
            "submission.py": """
            import jax.numpy as jnp

            _EPS = 1e-12


            class Spec:
                dtype = jnp.float32
                shape = (2,)
                eps = _EPS
                size = 2

                def __init__(self, scale):
                    self.scale = scale
                    self.shape_seen = (1,)


            def relu_grad(x):
                spec = Spec(1.0)
                return (x > 0).astype(x.dtype) * spec.scale + 0 * spec.eps
            """,
        },
    ),
    Submission(
        "classes-on-safe-bases",
        "classes built on object, an exception, NamedTuple, TypedDict, Generic[T] and an own class, "
        "and a collections.abc class used only in isinstance and annotations",
        {
            "submission.py": """
            from collections.abc import Mapping
            from typing import Generic, NamedTuple, TypedDict, TypeVar

            import jax.numpy as jnp

            T = TypeVar("T")


            class ShapeError(ValueError):
                pass


            class Point(NamedTuple):
                x: float


            class Params(TypedDict):
                w: float


            class Box(Generic[T]):
                def __init__(self, value: T) -> None:
                    self.value = value


            class Scaled(Box[float]):
                pass


            def relu_grad(x):
                params: Params = {"w": 1.0}
                scale = Point(params["w"]).x
                if isinstance(params, Mapping) and not isinstance(Scaled(scale), Box):
                    raise ShapeError("too many axes")
                return (x > 0).astype(x.dtype) * scale
            """,
        },
    ),
    Submission(
        "lazy-iterables-used-where-made",
        "generators, map, filter, zip and enumerate iterated in loops and comprehensions, "
        "unpacked, starred, joined, and handed straight to list, sum, sorted, next and dict; "
        "zip and enumerate of plain values kept in names",
        {
            "submission.py": """
            import jax.numpy as jnp


            def _scale(v):
                return v * 1.0


            def relu_grad(x):
                total = sum(v for v in (1.0, 2.0))
                first = next(v for v in (3.0, 4.0) if v > 3.5)
                ordered = sorted(map(_scale, [2.0, 1.0]))
                a, b = (v * 2 for v in (1.0, 2.0))
                kept = list(filter(None, [1.0, 0.0]))
                starred = [*map(_scale, [5.0])]
                table = dict(zip(map(str, [1, 2]), [3.0, 4.0]))
                label = "".join(str(v) for v in (1, 2))
                pairs = zip(ordered, kept)
                numbered = enumerate(ordered)
                for i, v in enumerate(map(_scale, ordered)):
                    total += i * v
                squares = [v * v for v in map(_scale, kept)]
                extra = len(label) + len(table) + len(list(pairs)) + len(list(numbered)) + len(squares)
                scale = (total + first + a + b + starred[0] + extra) * 0.0 + 1.0
                return (x > 0).astype(x.dtype) * scale
            """,
        },
    ),
    Submission(
        "defaultdict-with-builtin-factories",
        "defaultdict with list, int, no factory and None, through its name and the module, filled and copied",
        {
            "submission.py": """
            import collections
            from collections import defaultdict

            import jax.numpy as jnp


            def relu_grad(x):
                groups = defaultdict(list)
                counts = collections.defaultdict(int, start=1)
                plain = defaultdict()
                none = defaultdict(None)
                groups["pos"].append(1.0)
                counts["seen"] += 1
                copied = groups.copy()
                scale = copied["pos"][0] * counts["start"] + len(plain) + len(none)
                return (x > 0).astype(x.dtype) * scale


            def l2_grad(a, y):
                seen = defaultdict(float)
                seen["two"] += 2.0
                return seen["two"] * (a - y)
            """,
        },
    ),
    Submission(
        "errstate-with-plain-modes",
        "np.errstate with its modes written as strings, imported by name too",
        {
            "submission.py": """
            import jax.numpy as jnp
            import numpy as np
            from numpy import errstate


            def relu_grad(x):
                with np.errstate(divide="ignore", invalid="ignore"):
                    scale = np.float64(1.0) / np.float64(1.0)
                return (x > 0).astype(x.dtype) * scale


            def l2_grad(a, y):
                with errstate(all="raise"), np.errstate(under="print"):
                    two = np.float32(2.0)
                return two * (a - y)
            """,
        },
    ),
    Submission(
        "iter-with-one-argument-and-a-cache",
        "iter over a list, a shape and a tuple, next with a default, and an lru_cache helper "
        "called directly (only iter's two-argument form is refused; an iterator over a generator, "
        "kept in a name, is refused as a lazy iterable since the twenty-third red team)",
        {
            "submission.py": """
            import functools

            import jax.numpy as jnp


            @functools.lru_cache(maxsize=None)
            def _half() -> float:
                return 0.5


            def relu_grad(x):
                dims = iter(x.shape)
                first = next(dims, 1)
                steps = iter((1.0, 2.0))
                scale = next(steps) * 2 * _half()
                return (x > 0).astype(x.dtype) * scale + 0 * first


            def l2_grad(a, y):
                terms = iter([a, y])
                return 2 * (next(terms) - next(terms))
            """,
        },
    ),
    Submission(
        "array-types-named-as-types",
        "np.ndarray and jax.core.Tracer in isinstance, annotations, a class pattern and `type(x) is`",
        {
            "submission.py": """
            from typing import Optional, Union

            import jax
            import jax.numpy as jnp
            import numpy as np
            from numpy import ndarray


            def relu_grad(x: Union[np.ndarray, jax.Array]) -> Optional[np.ndarray]:
                if isinstance(x, (np.ndarray, jax.core.Tracer)) or type(x) is np.ndarray:
                    x = jnp.asarray(x)
                return (x > 0).astype(x.dtype)


            def l2_grad(a: np.ndarray | None, y: ndarray) -> ndarray:
                match a:
                    case np.ndarray():
                        a = jnp.asarray(a)
                diff: ndarray = a - y
                return 2 * diff
            """,
        },
    ),
    Submission(
        "modules-named-like-their-jitted-functions",
        "a package whose __init__.py takes each jitted formula from the module of the same name "
        "(as handwritten/ does), a Python 2 style super(Net, self) and a class pattern on a plain class",
        {
            "__init__.py": "from .relu_grad import relu_grad\nfrom .l2_grad import l2_grad\n",
            "relu_grad.py": """
            import jax

            from .helpers import Scaled


            @jax.jit
            def relu_grad(x):
                return Scaled(2 * Scaled.HALF).scale((x > 0).astype(x.dtype)) * Scaled.unit()
            """,
            "l2_grad.py": """
            import jax
            import jax.numpy as jnp

            from .helpers import Pair


            @jax.jit
            def l2_grad(a, y):
                match Pair(a, y):
                    case Pair(first=p, second=q):
                        return 2 * (p - q)
                return jnp.zeros_like(a)
            """,
            "helpers.py": """
            class Base:
                def __init__(self, k):
                    self.k = k

                def scale(self, v):
                    return self.k * v


            class Scaled(Base):
                HALF = 0.5

                @staticmethod
                def unit():
                    return 1.0

                def __init__(self, k):
                    super(Scaled, self).__init__(k)

                def scale(self, v):
                    return super().scale(v)


            class Pair:
                def __init__(self, first, second):
                    self.first = first
                    self.second = second
            """,
        },
    ),
    Submission(
        "typed-pytree-and-cache-package",
        "a package with TYPE_CHECKING imports, a Generic params class (a registered pytree until "
        "2026-12-07), a NamedTuple cache made by a forward helper, class constants, a format spec "
        "in an error and dict.update",
        {
            "__init__.py": "from .net import relu_grad, l2_grad\n",
            "net.py": """
            from __future__ import annotations

            import time
            from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

            import jax.numpy as jnp

            if TYPE_CHECKING:
                from jaxtyping import Array, Float

            T = TypeVar("T")


            class Const:
                HALF = 0.5


            class Cache(NamedTuple):
                a: float
                z: float


            class Scale(Generic[T]):
                def __init__(self, k: T) -> None:
                    self.k = k

                @classmethod
                def unit(cls):
                    return cls(1.0)


            def _forward(x: Float[Array, "n"]) -> Cache:
                return Cache(a=jnp.maximum(x, 0.0), z=x)


            def relu_grad(x: Float[Array, "n"]) -> Float[Array, "n"]:
                cache = _forward(x)
                return (cache.z > 0).astype(x.dtype) * Scale(2 * Const.HALF).k


            def l2_grad(a, y):
                if a.shape != y.shape:
                    raise ValueError("shapes {} and {} differ by {:.1f}".format(a.shape, y.shape, 1.0))
                parts = {}
                parts.update(d=2 * (a - y))
                return parts["d"]


            if __name__ == "__main__":
                t = time.perf_counter()
                print(relu_grad(jnp.ones(3)), time.perf_counter() - t)
            """,
        },
    ),
)
