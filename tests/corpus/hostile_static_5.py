"""A fifth corpus for the allowlist check, of the class a red team found on 2026-12-06: what
the check reads at a call (a format's fields, a dtype, `compiler_options`) hidden from it by
taking the function as a value (`fmt = str.format`, `map(jax.debug.print, ...)`) or by
passing the arguments unpacked from a computed sequence or mapping (`jax.jit(f, **OPTS)`).
A computed format read `x.__class__.__array__.__globals__` in the worker and showed it in the
feedback; `compiler_options` reached XLA. Every attack here passed the check before the
commit that added this file.

Same conventions as the first corpus: BASE (a correct relu_grad and l2_grad) is prepended to
each one-file attack, the line a finding must be on is marked `# <-`, and `refused` names the
functions that must lose their marks.
"""

from __future__ import annotations

from tests.corpus.hostile_static import Hostile, Submission, h

ONLY_RELU = ("relu_grad",)
AS_VALUE = "may only be called where it is written"
PRINT_AS_VALUE = "`jax.debug.print` may only be called directly"
STARRED = "`*` of a computed sequence in a call of"
MAPPING = "`**` of a computed mapping"
FIELDS = '"{" + "s:{s.__cl" + "ass__.__ar" + "ray__}}"'
"""A format whose field reads dunders, built so no dunder is written in the source."""

HOSTILE: tuple[Hostile, ...] = (
    # ---- str's formatters taken as values -----------------------------------------------
    h(
        "format-of-str-held-in-a-name",
        "str.format held in a name, called with a format built at run time",
        f"""
        def relu_grad(x):
            show = str.format  # <-
            show({FIELDS}, s=x)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "format-of-a-literal-held-in-a-name",
        "a literal's bound .format, kept to call later (the literal is checked, the call is not)",
        """
        def relu_grad(x):
            bound = "{0}".format  # <-
            return (x > 0).astype(x.dtype) if bound(x) else x
        """,
        "dynamic",
        AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "format-mapped",
        "map(str.format, formats, values): each format is applied by map, out of the check's sight",
        f"""
        def relu_grad(x):
            read = list(map(str.format, [{FIELDS}], [x]))  # <-
            return (x > 0).astype(x.dtype) if read else x
        """,
        "dynamic",
        AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "format-reduced",
        "functools.reduce(str.format, [fmt, x]) calls str.format(fmt, x)",
        f"""
        import functools

        def relu_grad(x):
            read = functools.reduce(str.format, [{FIELDS}, x])  # <-
            return (x > 0).astype(x.dtype) if read else x
        """,
        "dynamic",
        AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "format-map-held-in-a-name",
        "a format_map bound to a literal, kept in a name",
        """
        def relu_grad(x):
            fill = "{a}".format_map  # <-
            return (x > 0).astype(x.dtype) if fill({"a": x}) else x
        """,
        "dynamic",
        AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "format-as-a-default-argument",
        "str.format as a lambda's default, called inside it",
        f"""
        def relu_grad(x):
            read = lambda s, f=str.format: f({FIELDS}, s=s)  # <-
            return (x > 0).astype(x.dtype) if read(x) else x
        """,
        "dynamic",
        AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "format-as-a-sort-key",
        "str.format handed to sorted as its key: sorted calls it on each format",
        """
        def relu_grad(x):
            formats = sorted(["{0}", "{0}{0}"], key=str.format)  # <-
            return (x > 0).astype(x.dtype) if formats else x
        """,
        "dynamic",
        AS_VALUE,
        ONLY_RELU,
    ),
    # ---- jax.debug.print taken as a value or fed unpacked arguments ---------------------------
    h(
        "debug-print-held-in-a-name",
        "jax.debug.print held in a name and called with a format built at run time",
        f"""
        def relu_grad(x):
            show = jax.debug.print  # <-
            show({FIELDS}, s=x)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        PRINT_AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "debug-print-mapped",
        "map(jax.debug.print, formats, values)",
        f"""
        def relu_grad(x):
            list(map(jax.debug.print, [{FIELDS}], [x]))  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        PRINT_AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "debug-print-partial",
        "functools.partial(jax.debug.print, fmt) with the format computed",
        f"""
        import functools

        def relu_grad(x):
            functools.partial(jax.debug.print, {FIELDS})(s=x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        PRINT_AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "debug-print-imported-then-renamed",
        "`from jax.debug import print as p` is called directly; `q = p` is not",
        f"""
        from jax.debug import print as p

        def relu_grad(x):
            q = p  # <-
            q({FIELDS}, s=x)
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        PRINT_AS_VALUE,
        ONLY_RELU,
    ),
    h(
        "debug-print-starred-format",
        "the format as the first element of a computed tuple, unpacked into the call",
        f"""
        def relu_grad(x):
            parts = ({FIELDS},)
            jax.debug.print(*parts, s=x)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        STARRED,
        ONLY_RELU,
    ),
    h(
        "debug-print-format-in-a-mapping",
        "fmt= passed inside a computed mapping",
        f"""
        def relu_grad(x):
            options = {{"fmt": {FIELDS}, "s": x}}
            jax.debug.print(**options)  # <-
            return (x > 0).astype(x.dtype)
        """,
        "dynamic",
        MAPPING,
        ONLY_RELU,
    ),
    # ---- compiler_options in a mapping ------------------------------------------------------
    h(
        "jit-options-in-a-module-mapping",
        "jax.jit(f, **OPTS) with OPTS a module-level dict holding compiler_options",
        """
        OPTS = {"compiler_options": {"xla_cpu_enable_fast_math": True}}

        def relu_grad(x):
            return jax.jit(lambda v: (v > 0).astype(v.dtype), **OPTS)(x)  # <-
        """,
        "dynamic",
        MAPPING,
        ONLY_RELU,
    ),
    h(
        "jit-options-in-a-local-mapping",
        "the same mapping made inside the function",
        """
        def relu_grad(x):
            options = {"compiler_options": {"xla_dump_to": "/tmp/dump"}}
            return jax.jit(lambda v: (v > 0).astype(v.dtype), **options)(x)  # <-
        """,
        "dynamic",
        MAPPING,
        ONLY_RELU,
    ),
    h(
        "jit-options-in-a-written-mapping",
        "**{'compiler_options': ...} written in the call: read as the keyword it is",
        """
        def relu_grad(x):
            return jax.jit(lambda v: (v > 0).astype(v.dtype), **{"compiler_options": {}})(x)  # <-
        """,
        "system",
        "`compiler_options` is not allowed",
        ONLY_RELU,
    ),
    h(
        "partial-jit-options-in-a-mapping",
        "functools.partial(jax.jit, **options) as a decorator factory",
        """
        import functools

        def relu_grad(x):
            options = dict(compiler_options={})
            jit = functools.partial(jax.jit, **options)  # <-
            return jit(lambda v: (v > 0).astype(v.dtype))(x)
        """,
        "dynamic",
        MAPPING,
        ONLY_RELU,
    ),
    h(
        "jit-held-in-a-name-with-a-mapping",
        "jax.jit held in a name (no longer a library path), called with a computed mapping",
        """
        def relu_grad(x):
            options = {"compiler_options": {}}
            compile_it = jax.jit
            return compile_it(lambda v: (v > 0).astype(v.dtype), **options)(x)  # <-
        """,
        "dynamic",
        MAPPING,
        ONLY_RELU,
    ),
    # ---- a dtype unpacked from a computed sequence or mapping ----------------------------------
    h(
        "dtype-in-a-starred-tuple",
        "jnp.zeros(*spec) with spec = (shape, 'D'): complex128 in a dtype's place",
        """
        def relu_grad(x):
            spec = (x.shape, "D")
            z = jnp.zeros(*spec)  # <-
            return (x > 0).astype(x.dtype) + 0 * z.real
        """,
        "dynamic",
        STARRED,
        ONLY_RELU,
    ),
    h(
        "dtype-in-a-mapping",
        "jnp.ones(shape, **kw) with kw = {'dtype': 'D'}",
        """
        def relu_grad(x):
            kw = {"dtype": "D"}
            z = jnp.ones(x.shape, **kw)  # <-
            return (x > 0).astype(x.dtype) + 0 * z.real
        """,
        "dynamic",
        MAPPING,
        ONLY_RELU,
    ),
    h(
        "astype-starred",
        "x.astype(*kinds) with the dtype in a computed list",
        """
        def relu_grad(x):
            kinds = ["F"]
            z = x.astype(*kinds)  # <-
            return (x > 0).astype(x.dtype) + 0 * z.real
        """,
        "dynamic",
        STARRED,
        ONLY_RELU,
    ),
    h(
        "l2-dtype-in-a-mapping",
        "the same in l2_grad, so only l2_grad loses its marks",
        """
        def l2_grad(a, y):
            kw = {"dtype": "F"}
            d = jnp.asarray(a - y, **kw)  # <-
            return (2 * d.real / a.shape[-1]).astype(a.dtype)
        """,
        "dynamic",
        MAPPING,
        ("l2_grad",),
    ),
)

CLEAN: tuple[Submission, ...] = (
    Submission(
        "unpacking-spelled-out",
        "literal sequences and mappings unpacked into library calls, computed ones into the "
        "submission's own functions and classes and builtins (zip(*rows)) and a shape into "
        "reshape, a debug print called directly",
        {
            "submission.py": """
            import jax
            import jax.numpy as jnp
            from jax.debug import print as show


            class Scaled:
                def __init__(self, **options):
                    self.scale = options["scale"]


            def _step(v, *, at=0.0):
                return (v > at).astype(v.dtype)


            def relu_grad(x):
                pair = jnp.maximum(*[x, 0.0])
                total = jnp.sum(pair, **{"axis": -1}) + jnp.sum(pair, **dict(axis=-1))
                options = {"at": 0.0}
                grad = _step(x, **options)
                args = (x,)
                grad = grad * Scaled(**{"scale": 1.0}).scale + 0 * _step(*args)
                show("{} rows", total.shape)
                rows = [[1.0, 2.0], [3.0, 4.0]]
                columns = list(zip(*rows))
                biggest = max(*[len(c) for c in columns], 1)
                merged = dict(**options, **{"extra": biggest})
                shape = grad.shape
                return grad.reshape(*shape) * (merged["extra"] > 0)


            def l2_grad(a, y):
                d = a - y
                return (2 * d / jnp.shape(a)[-1]).astype(a.dtype)
            """
        },
    ),
)
