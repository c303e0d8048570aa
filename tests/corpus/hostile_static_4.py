"""A fourth corpus for the allowlist check, of the class issue 17 named first: library objects
reached through attributes the student never had to name as refused, and library machinery
that reflects on the student's behalf. The check used to refuse listed-bad attribute names
on values; now a value's attributes must be on the list (handgrad/allowlist.py,
VALUE_ATTRIBUTES), a class's own names are read only on its own objects, and attributes are
stored only on `self`. Every attack here passed the check before that change (see the commit
that added this file).

Same conventions as the first corpus: BASE (a correct relu_grad and l2_grad) is prepended to
each one-file attack, the line a finding must be on is marked `# <-`, and `refused` names the
functions that must lose their marks.
"""

from __future__ import annotations

from tests.corpus.hostile_static import Hostile, Submission, h

ONLY_RELU = ("relu_grad",)

HOSTILE: tuple[Hostile, ...] = (
    # ---- numerical differentiation the library offers (red team, 2026-12-05) ---------------
    h(
        "numerical-gradient-of-the-forward",
        "jnp.gradient's central difference of relu on a three-point grid: a derivative not derived",
        """
        def relu_grad(x):
            step = 1e-3
            grid = jnp.stack([x - step, x, x + step])
            return jnp.gradient(jax.nn.relu(grid), step, axis=0)[1]  # <-
        """,
        "autodiff",
        "differentiates numerically",
        ONLY_RELU,
    ),
    h(
        "numerical-gradient-imported-by-name",
        "the same through `from jax.numpy import gradient as slope`",
        """
        from jax.numpy import gradient as slope  # <-

        def relu_grad(x):
            grid = jnp.stack([x - 1e-3, x, x + 1e-3])
            return slope(jax.nn.relu(grid), 1e-3, axis=0)[1]
        """,
        "autodiff",
        "differentiates numerically",
        ONLY_RELU,
    ),
    # ---- a library object reached through an attribute off the list ----------------------
    h(
        "jitted-function-lowered",
        "a jitted function held in a name, lowered: its program text and compiler are one call away",
        """
        def relu_grad(x):
            f = jax.jit(jax.nn.relu)
            text = f.lower(x)  # <-
            return (x > 0).astype(x.dtype) if text else x
        """,
        "system",
        "`.lower` on a value of unknown type is not on the allowlist of attributes",
        ONLY_RELU,
    ),
    h(
        "partial-func-of-a-rule",
        "functools.partial keeps the function it wraps in `.func`: a way back to jax.nn.relu's object",
        """
        import functools

        def relu_grad(x):
            p = functools.partial(jax.nn.relu)
            relu_object = p.func  # <-
            return (x > 0).astype(x.dtype) if relu_object else x
        """,
        "system",
        "`.func`",
        ONLY_RELU,
    ),
    h(
        "custom-jvp-primal-by-fun",
        "jax.nn.relu is a custom_jvp object: `.fun` is its primal, the first step to its rule",
        """
        def relu_grad(x):
            r = jax.nn.relu
            primal = r.fun  # <-
            return (x > 0).astype(x.dtype) if primal else x
        """,
        "system",
        "`.fun`",
        ONLY_RELU,
    ),
    h(
        "array-device-to-client",
        "an array's device, and from it the backend: `.device` is not the array API",
        """
        def relu_grad(x):
            where = x.device  # <-
            return (x > 0).astype(x.dtype) if where else x
        """,
        "system",
        "`.device`",
        ONLY_RELU,
    ),
    h(
        "tracer-forwards-to-its-aval",
        "under jit an array forwards unknown attributes to JAX's abstract value (`x.update`, `x.str_short`)",
        """
        def relu_grad(x):
            aval = x.update(shape=x.shape)  # <-
            return (x > 0).astype(x.dtype) if aval is not None else x
        """,
        "system",
        "`.update`",
        ONLY_RELU,
    ),
    h(
        "getattr-of-an-unlisted-name",
        "getattr with a literal name the list does not hold",
        """
        def relu_grad(x):
            f = getattr(jax.jit(jax.nn.relu), "lower")  # <-
            return (x > 0).astype(x.dtype) if f else x
        """,
        "dynamic",
        "`getattr` is allowed only with an attribute on the allowlist of attributes",
        ONLY_RELU,
    ),
    h(
        "format-field-off-the-list",
        "a literal format field naming an attribute the list does not hold",
        """
        def relu_grad(x):
            text = "{0.fun}".format(jax.nn.relu)  # <-
            return (x > 0).astype(x.dtype) if text else x
        """,
        "dynamic",
        "not on the allowlist of attributes",
        ONLY_RELU,
    ),
    h(
        "class-pattern-reads-fun",
        "`case object(fun=f)` reads `.fun` by keyword, as `x.fun` would",
        """
        def relu_grad(x):
            match jax.nn.relu:
                case object(fun=primal):  # <-
                    return (x > 0).astype(x.dtype) if primal else x
            return x
        """,
        "dynamic",
        "a class pattern reading `fun`",
        ONLY_RELU,
    ),
    # ---- the student's own names used on a library's object -------------------------------
    h(
        "own-name-on-a-library-object",
        "a class of the student's defines `fun`, so `fun` is an own name; read on jax.nn.relu it is the library's",
        """
        class _Mine:
            def fun(self):
                return 0

        def relu_grad(x):
            r = jax.nn.relu
            primal = r.fun  # <-
            return (x > 0).astype(x.dtype) if primal else x
        """,
        "system",
        "`.fun`",
        ONLY_RELU,
    ),
    h(
        "staticmethod-first-argument",
        "a staticmethod's first parameter is whatever it is handed, not the class's own object",
        """
        class _Mine:
            fun = None

            @staticmethod
            def peek(obj):
                return obj.fun  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if _Mine.peek(jax.nn.relu) else x
        """,
        "system",
        "`.fun`",
        ONLY_RELU,
    ),
    h(
        "self-rebound-in-a-method",
        "`self` assigned a library object inside the method: no longer the class's own object",
        """
        class _Mine:
            fun = None

            def peek(self):
                self = jax.nn.relu
                return self.fun  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if _Mine().peek() else x
        """,
        "system",
        "`.fun`",
        ONLY_RELU,
    ),
    h(
        "decorated-method-self",
        "a method under a decorator of the student's: its first argument may be anything the wrapper passes",
        """
        def _handing(f):
            return lambda self: f(jax.nn.relu)

        class _Mine:
            fun = None

            @_handing
            def peek(self):
                return self.fun  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if _Mine().peek() else x
        """,
        "system",
        "`.fun`",
        ONLY_RELU,
    ),
    h(
        "class-name-rebound",
        "a name bound to the student's class and, elsewhere, to a library object",
        """
        class Holder:
            fun = None

        def relu_grad(x):
            global Holder
            Holder = jax.nn.relu
            return (x > 0).astype(x.dtype) if Holder.fun else x  # <-
        """,
        "system",
        "`.fun`",
        ONLY_RELU,
    ),
    h(
        "instance-name-also-bound-to-a-library-object",
        "a name assigned an instance of the student's class and, in a branch, jax.nn.relu",
        """
        class Holder:
            fun = None

        def relu_grad(x):
            h = Holder()
            if x.ndim > 5:
                h = jax.nn.relu
            return (x > 0).astype(x.dtype) if h.fun else x  # <-
        """,
        "system",
        "`.fun`",
        ONLY_RELU,
    ),
    h(
        "own-attribute-read-past-the-first-step",
        "`self.held.fun`: the own name `fun` read on what `self.held` holds (a library object)",
        """
        class Holder:
            fun = None

            def __init__(self):
                self.held = jax.nn.relu

            def peek(self):
                return self.held.fun  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Holder().peek() else x
        """,
        "system",
        "`.fun`",
        ONLY_RELU,
    ),
    h(
        "plain-method-called-through-its-class",
        "a plain method read on its class is a plain function: called with jax.nn.relu as its `self`",
        """
        class Holder:
            fun = None

            def peek(self):
                return self.fun

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Holder.peek(jax.nn.relu) else x  # <-
        """,
        "system",
        "`.peek` on your class",
        ONLY_RELU,
    ),
    h(
        "init-called-on-a-library-object",
        "`Base.__init__(obj)` runs the student's __init__ with any object as `self`, storing on it",
        """
        class Base:
            def __init__(self):
                self.marker = 1

        def relu_grad(x):
            Base.__init__(jnp.sin)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "`.__init__` is called only on your own object",
        ONLY_RELU,
    ),
    h(
        "method-called-in-its-class-body",
        "inside the class body a method is a plain function: called there with a library object",
        """
        class Holder:
            fun = None

            def peek(self):
                return self.fun

            primal = peek(jax.nn.relu)  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Holder().primal else x
        """,
        "dynamic",
        "the method `peek` used in its own class body",
    ),
    h(
        "classmethod-calls-a-plain-method-unbound",
        "`cls.peek(obj)` in a classmethod: the plain method read on the class, handed a library object",
        """
        class Holder:
            fun = None

            def peek(self):
                return self.fun

            @classmethod
            def lend(cls):
                return cls.peek(jax.nn.relu)  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Holder.lend() else x
        """,
        "system",
        "`.peek` on your class",
        ONLY_RELU,
    ),
    h(
        "shadowed-property-decorator",
        "a function of the student's named `property` passes the method a library object as `self`",
        """
        def property(f):
            return lambda self: f(jax.nn.relu)

        class Holder:
            fun = None

            @property
            def peek(self):
                return self.fun  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Holder().peek() else x
        """,
        "system",
        "`.fun`",
    ),
    h(
        "metaclass-returns-a-library-object",
        "a metaclass (any callable) decides what the class name is bound to: here jax.nn.relu",
        """
        def _meta(name, bases, body):
            return jax.nn.relu

        class Lent(metaclass=_meta):
            fun = None

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Lent.fun else x  # <-
        """,
        "system",
        "`.fun` on a value of unknown type",
        ONLY_RELU,
    ),
    h(
        "class-decorator-returns-a-library-object",
        "a class decorator's return value is what the class name is bound to",
        """
        class Other:
            @staticmethod
            def fun():
                return 0

        def _swap(cls):
            return jax.nn.relu

        @_swap
        class Lent:
            pass

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Lent.fun else x  # <-
        """,
        "system",
        "`.fun` on a value of unknown type",
        ONLY_RELU,
    ),
    h(
        "new-returns-a-library-object",
        "`__new__` decides what a call of the class returns: a library object, read with own names",
        """
        class Lent:
            fun = None

            def __new__(cls):
                return jax.nn.relu

        def relu_grad(x):
            held = Lent()
            return (x > 0).astype(x.dtype) if held.fun else x  # <-
        """,
        "system",
        "`.fun` on a value of unknown type",
        ONLY_RELU,
    ),
    h(
        "library-base-class",
        "a class built on a library class: its instances carry the library's attributes under own names",
        """
        import functools

        class Other:
            func = None

        class Lent(functools.partial):
            def peek(self):
                return self.func  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Lent(jax.nn.relu).peek() else x
        """,
        "system",
        "`.func` on a value of unknown type",
        ONLY_RELU,
    ),
    h(
        "library-base-under-a-safe-name",
        "functools.partial imported as `Generic`: a base is judged by what it is, not what it is called",
        """
        from functools import partial as Generic

        class Other:
            func = None

        class Lent(Generic):
            def peek(self):
                return self.func  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Lent(jax.nn.relu).peek() else x
        """,
        "system",
        "`.func` on a value of unknown type",
        ONLY_RELU,
    ),
    h(
        "safe-base-name-rebound",
        "NamedTuple imported from typing, then bound again to functools.partial before the class uses it",
        """
        import functools
        from typing import NamedTuple

        NamedTuple = functools.partial

        class Other:
            func = None

        class Lent(NamedTuple):
            def peek(self):
                return self.func  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Lent(jax.nn.relu).peek() else x
        """,
        "system",
        "`.func` on a value of unknown type",
        ONLY_RELU,
    ),
    # ---- attributes stored on objects the student did not make ----------------------------
    h(
        "store-on-a-library-function",
        "an attribute stored on a library function (a cached_property's attrname was one such store)",
        """
        def relu_grad(x):
            f = jnp.sin
            f.marker = 1  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "storing an attribute is allowed only on your own object",
        ONLY_RELU,
    ),
    h(
        "store-on-a-parameter",
        "an attribute stored on an argument, whatever the caller passed",
        """
        def _mark(obj):
            obj.attrname = "rule"  # <-

        def relu_grad(x):
            _mark(x)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        "storing an attribute is allowed only on your own object",
        ONLY_RELU,
    ),
    # ---- library machinery that reflects on the student's behalf ---------------------------
    h(
        "cached-property-attrname",
        "functools.cached_property: its `attrname` decides which attribute it writes",
        """
        import functools  # (the module is listed; the name is not)

        class Holder:
            @functools.cached_property  # <-
            def rule(self):
                return 0

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if Holder().rule == 0 else x
        """,
        "system",
        "`functools.cached_property` is not on the allowlist",
    ),
    h(
        "dataclass-fields-generate-code",
        "dataclasses generates methods from field names and annotations and execs them",
        """
        from dataclasses import dataclass, fields  # <-

        @dataclass
        class Holder:
            fun: object = None

        def relu_grad(x):
            names = [f.name for f in fields(Holder)]
            return (x > 0).astype(x.dtype) if names else x
        """,
        "system",
        "`dataclasses` is not on the allowlist of modules",
    ),
    h(
        "total-ordering-by-name",
        "functools.total_ordering reads and writes methods by name on the class it is given",
        """
        from functools import total_ordering  # <-

        def relu_grad(x):
            return (x > 0).astype(x.dtype) if total_ordering else x
        """,
        "system",
        "`functools.total_ordering` is not on the allowlist",
        ONLY_RELU,
    ),
)

CLEAN: tuple[Submission, ...] = (
    Submission(
        "own-classes-used-as-own",
        "a model class with state on self, a classmethod, a property, super(), an instance bound to a "
        "name, a namedtuple's fields and getattr of an own name on self",
        {
            "submission.py": """
            from collections import namedtuple

            import jax.numpy as jnp

            Pair = namedtuple("Pair", "value slope")


            class Base:
                def __init__(self, scale):
                    self.scale = scale

                def scaled(self, x):
                    return x * self.scale


            class Relu(Base):
                def __init__(self):
                    super().__init__(1.0)
                    self.calls = 0

                @classmethod
                def make(cls):
                    return cls()

                def unit(self):  # (a property until 2026-12-07: library C code reads attributes too)
                    return getattr(self, "scale", 1.0)

                def grad(self, x):
                    self.calls += 1
                    return self.scaled((x > 0).astype(x.dtype)) * self.unit()


            def relu_grad(x):
                Relu.make()
                model = Relu()
                pair = Pair(model.grad(x), 0.0)
                return pair.value


            def l2_grad(a, y):
                d = a - y
                return (2 * d / jnp.shape(a)[-1]).astype(a.dtype)
            """
        },
    ),
    Submission(
        "array-api-and-containers",
        "the array API (at[].set, T, reshape, astype, finfo's eps) and list, dict and str methods",
        {
            "submission.py": """
            import jax.numpy as jnp


            def relu_grad(x):
                out = jnp.zeros_like(x)
                out = out.at[x > 0].set(1.0)
                parts = {"grad": out}
                names = []
                names.append("grad")
                for key, value in parts.items():
                    if key.startswith("g") and "-".join(names):
                        out = value
                return out.reshape(x.shape).astype(x.dtype)


            def l2_grad(a, y):
                eps = jnp.finfo(a.dtype).eps
                d = (a - y).T.T
                return (2 * d / a.shape[-1] + 0 * eps).astype(a.dtype)
            """
        },
    ),
)
