"""The allowlist as data: what a formula may name, read and call (docs/allowlist.md in words).

handgrad/scan.py reads a submission's source and refuses everything not listed here. Four
tables decide, in this order:

- ALLOWED: module -> the members a formula may take from it (`jax.numpy` all but complex and
  file functions; `jax` its array, compilation and batching names, none that differentiates).
- ALLOWED_BUILTINS: the builtins a formula may use (CALL_ONLY_BUILTINS only as a direct call).
- VALUE_ATTRIBUTES: the attributes a formula may read on a value whose type the check cannot
  know (an array, a dtype, a string, a dict, an exception): the array API and the methods of
  Python's containers. A formula's own classes add their own names, readable on `self`, on the
  class and on a name bound only to an instance of it (scan.py, `_own_receiver`); attributes
  may be stored only on `self` (objects the formula's own code made).
- VALUE_ATTRIBUTES_REFUSED: attributes refused even where a formula's own class defines them,
  with the reason reported (a custom rule's `jvp`, a function's globals, XLA's client).

Anything else is refused: allow what is known to be safe, never list what is known to be bad.
Library machinery that reflects on names or generates code on a formula's behalf
(`dataclasses`, `functools.wraps`, `functools.cached_property`, `total_ordering`,
`register_dataclass`) is not listed. tests/test_allowlist_reach.py follows every listed
member and value attribute from real objects and shows that nothing off the list is
reachable through them.
"""

from __future__ import annotations

import re


class AllExcept:
    """Every public name of a namespace except these (for jax.numpy and math, whose
    every public name is a function or constant, apart from the listed exceptions)."""

    def __init__(self, *excluded: str) -> None:
        self.excluded = frozenset(excluded)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and not name.startswith("_") and name not in self.excluded


def names(text: str) -> frozenset[str]:
    return frozenset(text.split())


COMPLEX_NAMES = names(
    """complex complex64 complex128 complex256 complex_ complexfloating csingle cdouble clongdouble
    clongfloat longcomplex singlecomplex cfloat angle conj conjugate imag real sort_complex roots eig
    eigvals poly fft"""
)
"""Complex dtypes, and functions that make or take apart complex numbers (`jnp.poly` of a
matrix goes through its eigenvalues: of a rotation, complex)."""

DIFFERENCE_QUOTIENTS = names("gradient")
"""jax.numpy functions that differentiate numerically (`jnp.gradient`: finite differences on a
grid). Not a derivation, and a formula needs none: refused as differentiation is."""
NUMERICALLY = "differentiates numerically"
"""What the scan says of a DIFFERENCE_QUOTIENTS name, and the grader of a function using one."""

FILE_NAMES = names(
    """load save savez savez_compressed savetxt loadtxt genfromtxt fromfile tofile fromregex memmap
    DataSource"""
)
"""Functions that read or write files (NumPy's, some re-exported by jax.numpy)."""

NUMBER_DTYPE_NAME = re.compile(r"bool_?|u?int(\d+|p)|float\d+(_\w+)?|bfloat16")
"""The names of numpy's and jax.numpy's plain number dtypes (`float32`, `bfloat16`,
`float8_e4m3fn`, `int4`, `bool_`): what a formula may hand NumPy as a dtype (scan.py,
_static_dtype), and what jnp.result_type may give where submissions run (worker.py)."""

DTYPE_PRODUCERS = ("result_type", "promote_types")
"""jax.numpy's functions whose result is a dtype a formula may hand to NumPy: the scan takes
what they give for a static dtype (scan._static_dtype), and the worker lets them give only
NUMBER_DTYPE_NAME types (worker.numeric_dtypes_only; `jnp.result_type("T")` is NumPy's
StringDType otherwise, whose arrays a red team read outside of). One table, so the two
cannot drift apart."""

PROCESS_STATE_NAMES = names("printoptions set_printoptions get_printoptions")
"""jax.numpy's aliases of NumPy's print options, which hold a process's printing settings. A
`formatter` or `override_repr` set there is code of the submission's that NumPy then runs
whenever anything prints an array, from inside C code that holds what it does not own: a red
team's formatter ran during `str()` of a list item NumPy was sizing a string dtype from,
cleared the list, and NumPy read the freed items. A formula needs none of them."""

ALLOWED: dict[str, frozenset[str] | AllExcept] = {
    # jax: arrays, compilation, batching; no transformation that differentiates.
    "jax": names(
        """numpy lax nn scipy tree_util tree typing config debug core random Array ShapeDtypeStruct jit vmap
        pure_callback eval_shape block_until_ready device_get device_put ensure_compile_time_eval
        named_call named_scope"""
    ),
    "jax.numpy": AllExcept(*COMPLEX_NAMES, *FILE_NAMES, *DIFFERENCE_QUOTIENTS, *PROCESS_STATE_NAMES),
    "jax.numpy.linalg": AllExcept(*COMPLEX_NAMES),
    "jax.lax": names(
        """abs acos acosh add asin asinh atan atan2 atanh cbrt ceil clamp cos cosh div erf erfc
        erf_inv exp exp2 expm1 floor integer_pow is_finite lgamma digamma log log1p logistic max min
        mul neg nextafter pow reciprocal rem round rsqrt sign sin sinh sqrt square sub tan tanh
        select select_n stop_gradient convert_element_type reduce_precision
        eq ne lt le gt ge bitwise_and bitwise_or bitwise_not bitwise_xor
        reduce reduce_sum reduce_max reduce_min reduce_prod reduce_and reduce_or argmax argmin
        cumsum cumprod cummax cummin cumlogsumexp
        cond switch while_loop fori_loop scan map associative_scan platform_dependent
        optimization_barrier reshape broadcast broadcast_in_dim broadcast_to_rank expand_dims
        squeeze transpose concatenate pad slice slice_in_dim dynamic_slice dynamic_slice_in_dim
        dynamic_update_slice dynamic_update_slice_in_dim dynamic_update_index_in_dim dynamic_index_in_dim
        index_in_dim rev sort sort_key_val top_k iota
        broadcasted_iota full full_like collapse dot dot_general batch_matmul Precision"""
    ),
    "jax.lax.Precision": names("DEFAULT HIGH HIGHEST"),
    "jax.nn": names(
        """celu elu gelu glu hard_sigmoid hard_silu hard_swish hard_tanh identity leaky_relu
        log_sigmoid log_softmax logsumexp mish one_hot relu relu6 selu sigmoid silu soft_sign
        softmax softplus sparse_plus sparse_sigmoid squareplus standardize swish tanh"""
    ),
    "jax.scipy": names("special"),
    "jax.scipy.special": names(
        """logsumexp expit logit erf erfc erfinv ndtr ndtri log_ndtr xlogy xlog1py entr gammaln
        digamma softmax log_softmax"""
    ),
    "jax.tree_util": names(
        """tree_map tree_leaves tree_structure tree_flatten tree_unflatten tree_reduce tree_all
        Partial tree_map_with_path
        tree_flatten_with_path tree_leaves_with_path keystr"""
    ),
    "jax.tree": names("map leaves structure flatten unflatten reduce all"),
    "jax.typing": names("ArrayLike DTypeLike"),
    "jax.config": names("update"),
    "jax.random": names(
        """PRNGKey key split fold_in normal uniform randint bernoulli choice permutation
        truncated_normal exponential categorical gumbel laplace logistic multivariate_normal"""
    ),
    "jax.core": names("Tracer"),  # for isinstance checks only: the rest of jax.core is JAX's internals
    "jax.debug": names("print"),
    # numpy: constants, dtypes and array basics, for host-side shapes and constants.
    "numpy": names(
        """pi e inf nan newaxis euler_gamma float16 float32 float64 int8 int16 int32 int64 uint8
        uint16 uint32 uint64 bool_ intp dtype finfo iinfo ndarray generic number integer floating
        inexact signedinteger issubdtype result_type promote_types asarray array zeros ones full
        zeros_like ones_like full_like empty arange linspace eye identity shape ndim prod sum mean
        max min maximum minimum abs absolute exp log log1p expm1 sqrt square tanh sign where clip
        isfinite isnan isinf allclose isclose broadcast_to broadcast_shapes reshape transpose
        concatenate stack outer dot matmul einsum errstate random log2 log10 sin cos tan sinh cosh
        arcsin arccos arctan arctan2 hypot power floor ceil round sort argsort argmax argmin
        cumsum diag"""
    ),
    "numpy.random": names("seed default_rng randn rand normal uniform randint standard_normal RandomState"),
    "math": AllExcept(),
    "functools": names("partial reduce cache lru_cache"),
    "operator": names("add sub mul truediv floordiv mod pow neg pos matmul itemgetter getitem lt le gt ge eq ne"),
    # Only those that take their inputs whole at the start (or none): the others hold an
    # iterator across calls into Python, and islice and zip_longest free it when a generator's
    # own code calls them back (a red team forged an object from one).
    "itertools": names("product combinations permutations repeat count"),
    "typing": names(
        """Any Callable Optional Union Sequence Mapping MutableMapping Iterable Iterator Tuple List
        Dict Set FrozenSet NamedTuple TypeVar Generic Protocol Final Literal ClassVar Annotated
        TypeAlias Self TYPE_CHECKING cast overload TypedDict NewType Type Never NoReturn Hashable
        Sized Collection Container Reversible Generator AbstractSet MutableSequence MutableSet
        DefaultDict Deque SupportsFloat SupportsInt SupportsIndex SupportsAbs ParamSpec
        Concatenate TypeGuard Required NotRequired LiteralString final assert_never"""
    ),
    "collections": names("namedtuple defaultdict"),  # (not OrderedDict: a dict keeps order, in safer C)
    "collections.abc": names(
        """Callable Mapping MutableMapping Sequence Iterable Iterator Generator Collection Sized
        Container Hashable Reversible Set MutableSet MutableSequence KeysView ValuesView ItemsView"""
    ),
    "abc": names("ABC abstractmethod"),
    "numbers": names("Number Real Integral"),
    "warnings": names("warn simplefilter filterwarnings"),
    "__future__": AllExcept(),
}
"""Module -> the names a formula may take from it. A dotted entry is a module (or a
namespace such as jax.lax.Precision) reached through its parent or imported directly."""

CONFIG_OPTIONS = names("jax_enable_x64 jax_platform_name")
"""The options `jax.config.update` may set: the two a formula plausibly sets at the top of its
file. Every other option changes the program that runs after it was inspected
(`jax_disable_jit` runs a jit cell op by op; precision, promotion and PRNG options change what
a cell computes; the checking options change what is raised) or writes files and logs (the
compilation cache and dump options), so none is possible in the worker (issue 17, class 3)."""

VALUE_NAMESPACES = frozenset({"jax.lax.Precision"})
"""Entries that are ordinary objects rather than modules, and so may be used as values."""

ALLOWED_BUILTINS = names(
    """abs all any bool callable classmethod dict divmod enumerate filter float frozenset int
    isinstance issubclass iter len list map max min next object pow print range repr
    reversed round set slice sorted staticmethod str sum super tuple zip getattr hasattr
    NotImplemented Ellipsis ArithmeticError AssertionError AttributeError Exception
    FloatingPointError IndexError KeyError LookupError NotImplementedError OverflowError
    RuntimeError StopIteration TypeError ValueError ZeroDivisionError Warning UserWarning
    RuntimeWarning DeprecationWarning"""
)
"""The common exception classes are among them; EXCEPTIONS adds a few more."""
LOOKUP_CODE_BUILTINS = names("property")
"""Builtins that make an attribute lookup run your code. Library C code looks attributes up on
objects it does not own (NumPy reads `.dtype` from each item of a structured dtype's list): a
red team's `dtype` property freed the list item there and forged an object from it. Without
them a lookup only reads what is stored."""
CALL_ONLY_BUILTINS = names("getattr hasattr type iter map filter")
"""Allowed only as a direct call: getattr and hasattr with the attribute named by a string
(`getattr(x, "dtype", None)`), type with one argument where a type is looked at (`type(x)`),
iter with one argument (`iter(xs)`), map and filter by their own names, so that the check sees
each lazy object they make and where it goes (scan.py, _note_consumed: through another name, a
red team's map reached NumPy's dtype builder and freed what it was reading). `iter(f,
sentinel)` calls f from C code that holds it only through the iterator, and clears it when f
returns the sentinel: a red team's f called the iterator again from inside, so the inner call
freed the outer one's function (a cached function, `functools.lru_cache`, whose C code reads
its own fields after the call) while it ran; refilled, its memory became a forged object (exec,
then jax.grad)."""
INSPECTORS = names("isinstance issubclass str repr print")
"""Builtins that only look at their arguments: `type(x)` may be one of them."""
EXCEPTIONS = names(
    """BaseException Exception ArithmeticError AssertionError AttributeError FloatingPointError
    IndexError KeyError LookupError MemoryError NotImplementedError OverflowError RecursionError
    RuntimeError StopIteration TypeError ValueError ZeroDivisionError Warning UserWarning
    RuntimeWarning DeprecationWarning FutureWarning PendingDeprecationWarning"""
)
"""The builtin exception classes a formula may raise, catch or name: those whose message is
their arguments. Not the others (a formula has no use for them), since some keep fields that
CPython's own C code trusts: a `UnicodeDecodeError` made with a negative `start` reads outside
its bytes object when turned into a string (CPython 3.11, gh-123378), which crashed a red
team's process and read the process's memory a byte at a time. Nor the ones that stop a
process (`SystemExit`, `KeyboardInterrupt`, `GeneratorExit`)."""

AUTODIFF_NAMES = names(
    """grad value_and_grad vjp jvp jacrev jacfwd jacobian hessian linearize linear_transpose
    custom_jvp custom_vjp custom_gradient closure_convert checkpoint remat make_jaxpr fwd_and_bwd
    softmax_custom_jvp custom_root custom_linear_solve defjvp defjvps defvjp"""
)
"""Names of jax (and its modules) that mean the machine differentiates."""
JAX_INTERNALS = names("core experimental extend interpreters api_util ad custom_derivatives stages")
"""Modules of jax where its differentiation lives (jax.core.Tracer alone is listed in ALLOWED)."""

AUTODIFF_MODULES = names("torch tensorflow autograd functorch sympy theano mxnet casadi numdifftools findiff")
DYNAMIC_MODULES = names(
    """importlib pkgutil builtins inspect gc marshal pickle copyreg types runpy code codeop
    __main__ ctypes cffi base64 codecs binascii zipimport dis ast symtable dill cloudpickle
    operator.attrgetter submission"""
)
PROJECT_PACKAGES = names("handwritten reference handgrad benchmarks tests conftest")

DYNAMIC_BUILTINS = names(
    """getattr setattr delattr hasattr vars globals locals dir eval exec compile __import__ type
    memoryview id chr ord bytes bytearray format"""
)
ALLOWED_DUNDER_NAMES = names("__name__")
"""Double-underscore names a formula may read (as in `if __name__ == "__main__":`)."""
ALLOWED_DUNDER_STORES = names("__all__ __version__ __author__ __slots__")
ALLOWED_DUNDER_ATTRIBUTES = names("__init__ __name__")
"""(`__doc__` is not among them: docstrings are not checked for dtype names, so they may not be read.)"""
FRAME_ATTRIBUTES = names(
    """gi_frame gi_code gi_yieldfrom cr_frame cr_code cr_await ag_frame ag_code ag_await f_back
    f_builtins f_code f_globals f_locals f_trace tb_frame tb_next co_code co_consts co_names"""
)
FUNCTION_ATTRIBUTES = names("func_globals func_code func_closure func_dict func_defaults cell_contents")
"""A compiled (Cython) function's own names for its globals, code and closure: NumPy's
`np.random.seed.func_globals` holds the numpy, operator and builtins modules."""
XLA_CLIENT_ATTRIBUTES = names("client compile_args compile_and_load deserialize_executable")
"""XLA's runtime client (`x.device.client`, or a lowered program's compile arguments): it
compiles and loads any program handed to it as text, one made by autodiff elsewhere too."""
CLASS_DUNDERS = names("__init__ __call__")
"""The double-underscore methods a formula's own class may define: construction and calling.
Any other is refused. (Iteration too: CPython's C `itertools.islice` and `zip_longest` keep
an iterator they no longer own across its `__next__`, which a red team's `__next__` freed by
calling back into them. Printing too: NumPy works out a string dtype by calling `str()` on the
items of a list it does not own, and a red team's `__str__` that cleared the list got a freed
item back as a forged object. `__hash__` too: CPython's C OrderedDict hashes a key it
does not hold while copying or printing itself, and a red team's `__hash__` that cleared the
dict freed the key there; without it an object hashes by identity, in C.) Library code looks
such names up on whatever it is given and trusts the answer: NumPy builds an array over the raw pointer an object's
`__array_interface__` names (any memory of the process, read and written); `__getattr__`,
descriptors, pickling and copying hooks, `__jax_array__`, `__dlpack__` run or trust own code
where the library expects its own. And NumPy's loops over object arrays (an array of your
objects, made without naming `object`) call an element's comparisons, arithmetic operators,
number conversions, truth and sequence methods while holding pointers to elements they do not
own: one that drops the last reference (`self.arr[1] = None`, then `self = None`) leaves NumPy
reading freed memory, which red teams refilled to forge objects and reach exec (sort with
`__lt__`, argmax with `__gt__`, np.sum with `__add__` returning NotImplemented, astype with
`__float__`). Without those methods an object in such an array is inert: NumPy's loops raise
TypeError on it."""
IS_LEAF_TAKERS: dict[str, int | None] = {
    **{f"jax.tree_util.tree_{n}": 1 for n in ("leaves", "structure", "flatten", "all")},
    **{f"jax.tree_util.tree_{n}_with_path": 1 for n in ("flatten", "leaves")},
    **{f"jax.tree.{n}": 1 for n in ("leaves", "structure", "flatten", "all")},
    "jax.tree_util.tree_reduce": 3,
    "jax.tree.reduce": 3,
    "jax.tree_util.tree_map": None,
    "jax.tree_util.tree_map_with_path": None,
    "jax.tree.map": None,
}
"""The pytree functions that take an `is_leaf` callback, and how many positional arguments they
may have without one (None: any, `is_leaf` being keyword-only). jaxlib's C++ flattening calls
`is_leaf` (and a registered node's flatten function: `register_pytree_node` is not listed) on
a container's items it does not own: a red team's callback cleared the list being flattened,
so the item was freed and came back among the leaves, refilled as a forged object (exec, then
jax.grad). These are called directly only, with no `is_leaf`."""
TYPE_ONLY = names("numpy.ndarray jax.core.Tracer")
"""Classes a formula may name only as a type: in `isinstance`/`issubclass`, a class pattern,
an annotation, or `type(x) is ...`. Called, `np.ndarray((n,), object, buffer=ints)` makes an
array of object references over integers the formula writes: any address becomes an object
(a red team reached exec and jax.grad that way)."""
TYPE_CHECK_HOOKS = names("__subclasshook__ __instancecheck__ __subclasscheck__")
"""Methods that make `isinstance` answer what a class says, and are handed the classes of
whatever is tested (library classes among them)."""
SELF_MATCHING = names("bool bytearray bytes dict float frozenset int list set str tuple")
"""Builtin classes whose one positional sub-pattern matches the subject itself (`case int(n)`);
any other class pattern's positional sub-patterns read the attributes its `__match_args__` names."""
VALUE_ATTRIBUTES_REFUSED: dict[str, tuple[str, str]] = {
    # A custom_jvp function (jax.nn.relu is one) carries its rule as .jvp. No allowlisted name
    # is a custom_vjp (whose .bwd would be the rule): tests/test_scan_corpus.py checks that,
    # so a student's own fwd/bwd methods stay allowed.
    "jvp": ("autodiff", "is JAX's own differentiation rule"),
    **{a: ("autodiff", "defines a differentiation rule") for a in ("defjvp", "defjvps", "defvjp")},
    **{a: ("autodiff", "takes complex numbers apart") for a in ("imag", "real", "conj", "conjugate")},
    **{a: ("dynamic", "reaches JAX's traced program") for a in ("jaxpr", "eqns", "trace")},
    **{a: ("system", "writes files") for a in ("tofile", "dump")},
    # `jax.jit(f).lower(x).compile(options)`: XLA's options dump files and change the compiler.
    "compile": ("system", "compiles with XLA options of your choosing"),
    # An AttributeError's `.obj` is the object that lacked the name: `jnp.no_such_name` raised
    # in a try block hands over the jax.numpy module, fft and file functions included.
    "obj": ("dynamic", "is the object an AttributeError was raised on (a module, say)"),
    # numpy's `x.ctypes` holds the ctypes module (`x.ctypes._ctypes`) and raw pointers.
    **{a: ("dynamic", "reaches raw memory and the ctypes module") for a in ("ctypes", "_ctypes")},
    **{a: ("dynamic", "reaches the interpreter's frames and their globals") for a in FRAME_ATTRIBUTES},
    **{a: ("dynamic", "reaches a function's globals, code or closure") for a in FUNCTION_ATTRIBUTES},
    **{a: ("dynamic", "reaches XLA's runtime client, which loads compiled programs") for a in XLA_CLIENT_ATTRIBUTES},
}  # fmt: skip
"""Attributes refused on any value, where the value's type cannot be known statically."""

ARRAY_ATTRIBUTES = names(
    """shape dtype ndim size T mT at itemsize nbytes weak_type
    all any argmax argmin argpartition argsort astype choose clip compress copy cumprod cumsum
    diagonal dot flatten item max mean min nonzero prod ptp ravel repeat reshape round
    searchsorted sort squeeze std sum swapaxes take tolist transpose var block_until_ready
    set get add subtract multiply mul divide power apply"""
)
"""The array API of jax.Array and numpy.ndarray, and of `x.at[i]` (set, add, ...). Not listed:
complex parts (real, imag, conj), the device and its buffers (device, devices, sharding,
addressable_data, unsafe_buffer_pointer), the traced program (trace, aval), files (tofile,
dump), `flat` (an iterator object of NumPy's) and `view`, which reads an array's memory as
another dtype: a red team's made Python strings of characters outside Unicode (from int32s
viewed as a string array's dtype) and booleans that were neither 0 nor 1, which XLA's
programs then read inconsistently (2026-12-07). `astype` converts instead."""
NUMBER_INFO_ATTRIBUTES = names(
    "eps epsneg tiny smallest_normal smallest_subnormal resolution precision bits name kind type"
)
"""Of `jnp.finfo`, `jnp.iinfo` and a dtype (`x.dtype.itemsize`, `x.dtype.name`). A dtype's
`char`, `str` and `descr` (type codes, from which a complex dtype's can be made) are not."""
CONTAINER_ATTRIBUTES = names(
    """append extend insert pop remove index count clear reverse keys values items setdefault
    fromkeys join split rsplit splitlines startswith endswith format strip lstrip rstrip
    replace find rfind partition rpartition isdigit isidentifier union intersection difference
    symmetric_difference issubset issuperset discard is_integer args _replace _asdict _fields"""
)
"""Methods of list, tuple, dict, set, str and float, an exception's `args`, and a namedtuple's
own helpers. `format` reads the attributes its fields name: scan.py checks the field
names of the format string written in the call (a computed format is refused). Not listed:
`lower` and `upper` (a jitted function's `lower` hands over its compiled program) and
`update` (an array under jit forwards it to JAX's internal abstract value)."""
CONTAINER_ONLY_ATTRIBUTES = names(
    """update popitem isdisjoint difference_update intersection_update symmetric_difference_update
    lower upper title capitalize casefold swapcase center ljust rjust zfill isalpha isalnum
    isnumeric isdecimal isspace islower isupper istitle isascii removeprefix removesuffix rindex
    expandtabs"""
)
"""Methods of dict, set and str that CONTAINER_ATTRIBUTES leaves out because something else
has a method of that name (an array's `update`, a jitted function's `lower`): readable only
on a value the check knows to be a builtin container or string, a name bound nowhere but to a
display (`{}`, `[...]`, `{k: v}`, `"..."`, an f-string, a comprehension) or to a call of the
builtin `dict`, `list`, `set`, `str` or `sorted` (scan.py, the receiver "container")."""
CONTAINER_BUILTINS = frozenset({"dict", "list", "set", "str", "sorted"})
"""Builtins whose call makes a container (where no code of the submission binds the name)."""
GENERATOR_ATTRIBUTES = names("normal uniform integers standard_normal random permutation")
"""Of NumPy's random Generator (`np.random.default_rng(0).normal(size=3)`, for constants)."""
VALUE_ATTRIBUTES = ARRAY_ATTRIBUTES | NUMBER_INFO_ATTRIBUTES | CONTAINER_ATTRIBUTES | GENERATOR_ATTRIBUTES
"""The attributes readable on any value (those refused in VALUE_ATTRIBUTES_REFUSED excepted)."""
assert not VALUE_ATTRIBUTES & VALUE_ATTRIBUTES_REFUSED.keys(), VALUE_ATTRIBUTES & VALUE_ATTRIBUTES_REFUSED.keys()
assert not CONTAINER_ONLY_ATTRIBUTES & (VALUE_ATTRIBUTES | VALUE_ATTRIBUTES_REFUSED.keys())
