"""The allowlist check: the shipped formulas and every correct or wrong corpus submission
pass it; what it refuses is refused with its rule, for exactly the functions it reaches,
whatever functions are asked about and in whatever order."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from handgrad.scan import Finding, check_package_files, scan_path, scan_source
from reference.catalog import NAMES
from tests.corpus import hostile
from tests.corpus.correct_forms import CORRECT_FORMS
from tests.corpus.correct_forms_2 import CORRECT_FORMS_2
from tests.corpus.mistakes import MISTAKES, MODULES, correct_source
from tests.corpus.mistakes_subtle import SUBTLE
from tests.corpus.mistakes_subtle_2 import SUBTLE_2

ROOT = Path(__file__).resolve().parent.parent

CLEAN = """
import jax.numpy as jnp

def _helper(x):
    return jnp.exp(-jnp.abs(x))

def sigmoid_grad(x):
    e = _helper(x)
    return e / (1 + e) ** 2
"""


def problems(found: dict[str, list[Finding]]) -> dict[str, list[str]]:
    return {name: [str(f) for f in fs] for name, fs in found.items() if fs}


# ---- what must pass --------------------------------------------------------------------------


def test_shipped_formulas_pass_without_a_single_finding() -> None:
    assert problems(scan_path(ROOT / "handwritten", NAMES)) == {}


def test_the_shipped_formulas_as_one_file_pass() -> None:
    """What `handgrad solution` and the corpus hand in: handwritten/ pasted into one file."""
    assert problems(scan_source(correct_source(), NAMES)) == {}


@pytest.mark.parametrize("upto", range(1, len(MODULES) + 1), ids=lambda n: MODULES[n - 1])
def test_every_solution_like_paste_of_the_shipped_modules_passes(upto: int) -> None:
    """The shipped modules pasted into one file (as `handgrad solution` writes it), up to
    each module with the modules it needs, without the imports between them."""
    parts = ["import jax\nimport jax.numpy as jnp\n"]
    for name in MODULES[:upto]:
        text = (ROOT / "handwritten" / name).read_text()
        parts.append(re.sub(r"^from (__future__|handwritten)[^\n]*\n", "", text, flags=re.M))
    assert problems(scan_source("\n".join(parts), NAMES)) == {}


def test_the_starter_template_passes() -> None:
    """`handgrad template`: a student starts from a file the check accepts."""
    from handgrad.starter import template

    assert problems(scan_source(template(), NAMES)) == {}


def test_the_shipped_package_passes_under_another_name(tmp_path: Path) -> None:
    """Its absolute imports of itself count as its own modules under any package name."""
    package = tmp_path / "student_pkg"
    package.mkdir()
    for file in (ROOT / "handwritten").glob("*.py"):
        (package / file.name).write_text(file.read_text().replace("handwritten", "student_pkg"))
    assert problems(scan_path(package, NAMES)) == {}


def test_no_mistake_or_correct_form_of_the_corpus_is_refused() -> None:
    """A mistake loses marks for its numbers, never for the scan; a correct form keeps them."""
    corpus = (*MISTAKES, *SUBTLE, *SUBTLE_2, *CORRECT_FORMS, *CORRECT_FORMS_2)
    refused = {m.id: problems(scan_source(m.module_text, NAMES)) for m in corpus}
    assert {k: v for k, v in refused.items() if v} == {}


def test_every_scan_refusal_of_the_sandbox_corpus_still_happens() -> None:
    """tests/corpus/hostile.py: each function it expects refused as autodiff or forbidden."""
    missed = []
    for h in hostile.HOSTILE:
        found = scan_source(h.module_text, h.graded)
        missed += [
            (h.id, name) for name, kind in h.fails.items() if kind in ("autodiff", "forbidden") and not found[name]
        ]
    assert missed == []


def test_clean_source_and_plain_numeric_code_pass() -> None:
    assert scan_source(CLEAN, ["sigmoid_grad"]) == {"sigmoid_grad": []}
    source = "import math\nimport functools\nimport jax.numpy as jnp\n\n@functools.partial(jnp.vectorize)\n"
    source += "def relu_grad(x):\n    return jnp.where(x > 0, 1.0, 0.0) * math.pi / math.pi\n"
    assert scan_source(source, ["relu_grad"]) == {"relu_grad": []}


CONTAINER_BODIES = {
    "dict-display": "g = {}\n    g.update(a=x)\n    return g['a']",
    "dict-call": "g = dict(a=x)\n    g.update({'b': x})\n    return g['b']",
    "augmented": "g = {}\n    g |= {'a': x}\n    g.update(b=x)\n    return g['b']",
    "annotated": "g: dict = {'a': x}\n    g.popitem()\n    return x",
    "comprehension": "g = {k: x for k in 'ab'}\n    g.update(c=x)\n    return g['c']",
    "set": "s = {1, 2}\n    s.intersection_update({2})\n    return x * s.isdisjoint({3})",
    "string": "name = 'W1'\n    return x if name.lower() == 'w1' else -x",
    "f-string": "name = f'{1}x'\n    return x if name.removesuffix('x') == '1' else -x",
    "display-itself": "return x if 'AB'.lower() == 'ab' else -x",
    "builtin-call-itself": "return x if str(x.dtype).upper() == 'FLOAT32' else -x",
}
NOT_CONTAINERS = {
    "parameter": ("def relu_grad(x, g={}):\n    g.update(a=x)\n    return x", "system"),
    "also-an-array": ("def relu_grad(x):\n    g = {}\n    g = jnp.zeros(3)\n    g.update(a=x)\n    return x", "system"),
    "loop-variable": ("def relu_grad(x):\n    for g in [{}]:\n        g.update(a=x)\n    return x", "system"),
    "dict-shadowed": (
        "def dict(**k):\n    return jnp.zeros(3)\n\n"
        "def relu_grad(x):\n    g = dict(a=x)\n    g.update(b=x)\n    return x",
        "system",
    ),
    "jitted-lower": ("def relu_grad(x):\n    f = jax.jit(jnp.sin)\n    return f.lower(x)", "system"),
    "array-update": ("def relu_grad(x):\n    return (x * 2).update(x)", "system"),
    "shadowed-call-itself": (
        "def str(v):\n    return jax.jit(jnp.sin)\n\ndef relu_grad(x):\n    return str(x).lower(x)",
        "system",
    ),
    "augmented-by-an-object": (
        "class E:\n    def __radd__(self, other):\n        return jax.jit(jnp.sin)\n\n"
        "def relu_grad(x):\n    s = ''\n    s += E()\n    return s.lower(x)",
        "system",
    ),
    "walrus": ("def relu_grad(x):\n    g = {}\n    (g := jnp.ones(2))\n    return g.update(x)", "system"),
}


FORMATS_THAT_READ_NOTHING = {
    "precision": "raise ValueError('delta must be positive, got {:.3g}'.format(x))",
    "named-precision": "jax.debug.print('max grad {m:.4f}', m=x)\n    return x",
    "indexed-precision": "print('{0:.3f} {1:.1%}'.format(1.0, 0.5))\n    return x",
    "listed-attribute-and-spec": "print('{0.shape} {0.dtype.name:>8}'.format(x))\n    return x",
    "braces-in-a-message": "print('delta as in {0.5, 1.0, 2.0}')\n    return x",
    "nested-width": "print('{0:>{1}.{2}f}'.format(1.0, 8, 3))\n    return x",
}
FORMATS_THAT_READ = {
    "unlisted": "print('{0.gi_frame}'.format(x))\n    return x",
    "in-a-nested-spec": "print('{0:{1.gi_frame}}'.format(x, x))\n    return x",
    "after-an-index": "print('{0[0].gi_frame}'.format([x]))\n    return x",
    "dunder-before-a-spec": "print('{0.__class__:>9}'.format(x))\n    return x",
}


@pytest.mark.parametrize("body", FORMATS_THAT_READ_NOTHING.values(), ids=FORMATS_THAT_READ_NOTHING.keys())
def test_a_format_spec_or_a_brace_in_a_message_reads_no_attribute(body: str) -> None:
    """str.format reads attributes only in a field's name (up to `!` or `:`): `{:.3g}` in an
    error message was taken for an attribute `3g` and cost the function its marks (a red team's)."""
    source = f"import jax\n\ndef relu_grad(x):\n    {body}\n"
    assert scan_source(source, ["relu_grad"]) == {"relu_grad": []}


@pytest.mark.parametrize("body", FORMATS_THAT_READ.values(), ids=FORMATS_THAT_READ.keys())
def test_a_format_field_that_reads_an_unlisted_attribute_is_still_refused(body: str) -> None:
    found = scan_source(f"def relu_grad(x):\n    {body}\n", ["relu_grad"])["relu_grad"]
    assert any("format field" in str(f) for f in found), [str(f) for f in found]


CACHE = "from typing import NamedTuple\n\nclass Cache(NamedTuple):\n    z: float\n    a: float\n\n"
OWN_OBJECTS = {
    "returned-by-a-helper": CACHE + "def _forward(x):\n    z = x * 2\n    if z.ndim > 9:\n        return Cache(z, z)\n"
    "    return Cache(z=z, a=z + 1)\n\n"
    "def relu_grad(x):\n    cache = _forward(x)\n    return cache.a - cache.z",
    "annotated": "class Relu:\n    def backward(self, x):\n        return x > 0\n\n"
    "def relu_grad(x):\n    act: Relu = Relu()\n    return act.backward(x)",
    "class-constant": "class Const:\n    HALF = 0.5\n    TWO: float = 2 * 1.0\n\n"
    "def relu_grad(x):\n    return (x > 0) * Const.HALF * Const.TWO",
    "generic-base": "from typing import Generic, TypeVar\nT = TypeVar('T')\n\nclass Act(Generic[T]):\n"
    "    def backward(self, x: T) -> T:\n        return x > 0\n\ndef relu_grad(x):\n    return Act().backward(x)",
}
NOT_OWN_OBJECTS = {
    "helper-returns-anything-once": CACHE
    + "def _forward(x):\n    if x.ndim:\n        return x\n    return Cache(x, x)\n\n"
    "def relu_grad(x):\n    cache = _forward(x)\n    return cache.a",
    "helper-shadows-the-class": CACHE + "def _forward(x):\n    Cache = jax.jit\n    return Cache(x)\n\n"
    "def relu_grad(x):\n    cache = _forward(x)\n    return cache.a",
    "decorated-helper": CACHE + "@jax.jit\ndef _forward(x):\n    return Cache(x, x)\n\n"
    "def relu_grad(x):\n    cache = _forward(x)\n    return cache.a",
    "generator-helper": CACHE + "def _forward(x):\n    yield x\n    return Cache(x, x)\n\n"
    "def relu_grad(x):\n    cache = _forward(x)\n    return cache.a",
    "constant-and-method": "class A:\n    f = 0.5\n\nclass B:\n    def f(self):\n        return 1\n\n"
    "def relu_grad(x):\n    return x * B.f",
    "constant-named-like-type-s": "class A:\n    mro = 1\n\ndef relu_grad(x):\n    return A.mro()",
    "computed-class-attribute": "class A:\n    g = jax.jit(jnp.sin)\n\ndef relu_grad(x):\n    return A.g(x)",
    "decorated-by-a-library": "@jax.jit\nclass A:\n    def f(self):\n        return 1\n\n"
    "def relu_grad(x):\n    return A().f()",
    "subscripted-other-base": "class A(dict[str, int]):\n    def f(self):\n        return 1\n\n"
    "def relu_grad(x):\n    return A().f()",
    # Own until 2026-12-07: jaxlib's C++ calls a registered class's flatten on nodes it does not own.
    "pytree-class": "from jax.tree_util import register_pytree_node_class\n\n@register_pytree_node_class\n"
    "class P:\n    def __init__(self, k):\n        self.k = k\n\n    def tree_flatten(self):\n"
    "        return (self.k,), None\n\n    @classmethod\n    def tree_unflatten(cls, aux, children):\n"
    "        return cls(*children)\n\ndef relu_grad(x):\n    return (x > 0) * P(1.0).k",
}


@pytest.mark.parametrize("source", OWN_OBJECTS.values(), ids=OWN_OBJECTS.keys())
def test_own_fields_read_on_objects_the_check_knows_are_own(source: str) -> None:
    """A NamedTuple cache a forward helper returns (`cache = _forward(x); cache.z1`), an own
    object bound with an annotation, a constant read on its own class: each cost the whole
    function its marks (a red team's)."""
    assert scan_source(f"import jax\nimport jax.numpy as jnp\n{source}\n", ["relu_grad"]) == {"relu_grad": []}


@pytest.mark.parametrize("source", NOT_OWN_OBJECTS.values(), ids=NOT_OWN_OBJECTS.keys())
def test_own_names_stay_refused_where_the_object_may_be_another(source: str) -> None:
    found = scan_source(f"import jax\nimport jax.numpy as jnp\n{source}\n", ["relu_grad"])["relu_grad"]
    assert found, "accepted"


RELU_BODY = "\n\ndef relu_grad(x: Float[Array, 'n']) -> Float[Array, 'n']:\n    return x > 0\n"
NEVER_RUN = {
    "type-checking": "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n\n"
    "if TYPE_CHECKING:\n    from jaxtyping import Array, Float" + RELU_BODY,
    "typing-dot-type-checking": "from __future__ import annotations\nimport typing\n\n"
    "if typing.TYPE_CHECKING:\n    from jaxtyping import Array, Float\nelse:\n    Array = Float = None" + RELU_BODY,
    "lazy-annotation-of-anything": "from __future__ import annotations\nimport jax\n\n"
    "def relu_grad(x: jax.grad(abs)) -> jax.vjp:\n    y: jax.jacrev = x > 0\n    return y\n",
    "typing-names": "from typing import TypedDict, NewType, Type, Never\nfrom collections.abc import Generator\n\n"
    "class Params(TypedDict):\n    W1: float\n\nScale = NewType('Scale', float)\n\n"
    "def relu_grad(x: Type[float] | Generator | Params) -> float:\n    return x > Scale(0.0)\n",
}
DOES_RUN = {
    "rebound": "from typing import TYPE_CHECKING\nTYPE_CHECKING = True\n\nif TYPE_CHECKING:\n    import ctypes"
    "\n\ndef relu_grad(x):\n    return x > 0\n",
    "star-import-beside-it": "from typing import TYPE_CHECKING\nfrom jax.numpy import *\n\nif TYPE_CHECKING:\n"
    "    import ctypes\n\ndef relu_grad(x):\n    return x > 0\n",
    "not-typings": "from jax.numpy import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import ctypes"
    "\n\ndef relu_grad(x):\n    return x > 0\n",
    "annotation-evaluated-without-the-future-import": "import jax\n\n"
    "def relu_grad(x: jax.grad(abs)):\n    return x > 0\n",
}


@pytest.mark.parametrize("source", NEVER_RUN.values(), ids=NEVER_RUN.keys())
def test_code_that_never_runs_is_not_refused(source: str) -> None:
    """`if TYPE_CHECKING:` imports (jaxtyping for annotations) and, under `from __future__
    import annotations`, annotations themselves never run: the jaxtyping import cost every
    function its marks, as did typing names used only in annotations (a red team's)."""
    assert scan_source(source, ["relu_grad"]) == {"relu_grad": []}


@pytest.mark.parametrize("source", DOES_RUN.values(), ids=DOES_RUN.keys())
def test_code_that_may_run_is_still_checked(source: str) -> None:
    assert scan_source(source, ["relu_grad"])["relu_grad"], "accepted"


LISTED_SINCE = {
    "numpy-math": "import numpy as np\nC = np.log2(8.0) + np.cosh(0.0) + np.power(2.0, 3) + np.hypot(3.0, 4.0)",
    "itertools": "import itertools\nP = list(itertools.product([1, 2], [3])) + list(itertools.combinations([1, 2], 2))",
    "operator": "import operator\nG = operator.getitem((1, 2), 0) + operator.lt(1, 2)",
    "warnings": "import warnings\nwarnings.simplefilter('ignore')\nwarnings.filterwarnings('ignore', 'x')",
    "tree-paths": "import jax\nL = jax.tree_util.tree_map_with_path(lambda p, v: v, {'a': 1})",
    "lax-update": "from jax import lax\nimport jax.numpy as jnp\n"
    "U = lax.dynamic_update_index_in_dim(jnp.zeros(3), 1.0, 0, 0)",
    "random-draw": "import jax\nT = jax.random.truncated_normal(jax.random.key(0), -1.0, 1.0, (3,))",
}


@pytest.mark.parametrize("top", LISTED_SINCE.values(), ids=LISTED_SINCE.keys())
def test_names_a_red_team_found_missing_are_listed(top: str) -> None:
    """Harmless names a formula plausibly uses, each of which cost every function at the top
    of a file (a red team's list)."""
    assert scan_source(f"{top}\n\ndef relu_grad(x):\n    return x > 0\n", ["relu_grad"]) == {"relu_grad": []}


@pytest.mark.parametrize("body", CONTAINER_BODIES.values(), ids=CONTAINER_BODIES.keys())
def test_a_builtin_containers_own_methods_pass_where_the_check_knows_the_container(body: str) -> None:
    """`update`, `lower` and the like are refused on a value of unknown type (an array's
    `update`, a jitted function's `lower` lead into JAX), but not on a name bound only to a
    display or a builtin container's call: a red team's dict.update of the network's gradients
    lost every mark."""
    source = f"import jax.numpy as jnp\n\ndef relu_grad(x):\n    {body}\n"
    assert scan_source(source, ["relu_grad"]) == {"relu_grad": []}


@pytest.mark.parametrize(("source", "kind"), NOT_CONTAINERS.values(), ids=NOT_CONTAINERS.keys())
def test_those_methods_stay_refused_where_the_value_may_be_anything_else(source: str, kind: str) -> None:
    found = scan_source(f"import jax\nimport jax.numpy as jnp\n\n{source}\n", ["relu_grad"])["relu_grad"]
    assert kind in {f.kind for f in found}, [str(f) for f in found]


def test_own_grad_and_backward_pass_but_jax_grad_does_not() -> None:
    own = "def grad(x):\n    return x > 0\n\nclass L:\n    def backward(self, x):\n        return grad(x)\n\n"
    own += "def relu_grad(x):\n    return L().backward(x)\n"
    assert scan_source(own, ["relu_grad"]) == {"relu_grad": []}
    imported = "from jax import grad\n\ndef relu_grad(x):\n    return grad(lambda v: v)(x)\n"
    assert [f.kind for f in scan_source(imported, ["relu_grad"])["relu_grad"]] == ["autodiff"]
    # A local definition shadows the import where it is in scope; elsewhere the import counts.
    local = "from jax import grad\n\ndef relu_grad(x):\n    def grad(v):\n        return v > 0\n    return grad(x)\n"
    local += "\ndef l2_grad(a, y):\n    return grad(lambda v: v)(a - y)\n"
    assert [len(fs) for fs in scan_source(local, ["relu_grad", "l2_grad"]).values()] == [0, 1]


def test_package_importing_its_own_modules_passes(tmp_path: Path) -> None:
    package = tmp_path / "student"
    package.mkdir()
    (package / "__init__.py").write_text("from . import extra\nfrom .extra import relu_grad\n")
    (package / "extra.py").write_text("import jax.numpy as jnp\n\ndef relu_grad(x):\n    return (x > 0) * 1.0\n")
    assert scan_path(package, ["relu_grad"]) == {"relu_grad": []}


@pytest.mark.parametrize(
    ("imports", "missing"),
    [
        ("from .missing import *", "missing.py"),
        ("from .sub.gone import f", "sub/gone.py"),
    ],
)
def test_a_module_left_out_of_the_upload_is_named_as_a_missing_file(tmp_path: Path, imports: str, missing: str) -> None:
    from handgrad.engine import CaseResult
    from handgrad.hints import hint_for
    from tests.test_newcomer import _case

    package = tmp_path / "student"
    (package / "sub").mkdir(parents=True)
    (package / "sub" / "__init__.py").write_text("")
    (package / "__init__.py").write_text(f"{imports}\n\ndef relu_grad(x):\n    return (x > 0) * 1.0\n")
    (finding,) = scan_path(package, ["relu_grad"])["relu_grad"]
    assert f"the upload holds no {missing} " in finding.what
    error = f"uses what the allowlist does not allow (docs/allowlist.md): {finding}"
    hint = hint_for(CaseResult(_case("relu_grad", "eager"), error_kind="forbidden", error=error), None, None)
    assert hint.startswith("it imports a file the upload does not hold")


# ---- what is refused, and for whom -------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("import jax\ndef sigmoid_grad(x):\n    return jax.grad(jax.nn.sigmoid)(x)", "autodiff"),
        ("from jax import grad as g\nimport jax\ndef sigmoid_grad(x):\n    return g(jax.nn.sigmoid)(x)", "autodiff"),
        (
            "import jax\ndef _h(f):\n    return jax.jacfwd(f)\ndef sigmoid_grad(x):\n    return _h(jax.nn.sigmoid)(x)",
            "autodiff",
        ),
        ("import jax\ndef sigmoid_grad(x):\n    return getattr(jax, 'gr' + 'ad')(jax.nn.sigmoid)(x)", "dynamic"),
        ("import importlib\ndef sigmoid_grad(x):\n    return importlib.import_module('jax').grad(f)(x)", "dynamic"),
        ("from jax._src import api\ndef sigmoid_grad(x):\n    return api.grad(f)(x)", "autodiff"),
        ("import torch\ndef sigmoid_grad(x):\n    return torch.autograd.functional.vjp(f, x)", "autodiff"),
        ("def sigmoid_grad(x):\n    return eval('jax.grad')(f)(x)", "dynamic"),
        ("import jax\nf = jax.custom_vjp(lambda x: x)\ndef sigmoid_grad(x):\n    return f(x)", "autodiff"),
        ("import os\ndef sigmoid_grad(x):\n    os._exit(0)", "system"),
        ("def sigmoid_grad(x):\n    open('/etc/passwd').read()\n    return x", "system"),
        ("from handwritten import sigmoid_grad as r\ndef sigmoid_grad(x):\n    return r(x)", "project"),
        ("def sigmoid_grad(x):\n    return ().__class__.__base__.__subclasses__()", "dynamic"),
        ("import scipy.special\ndef sigmoid_grad(x):\n    return scipy.special.expit(x)", "system"),
        ("import jax.numpy as jnp\ndef sigmoid_grad(x):\n    return jnp.fft.fft(x).real", "autodiff"),
    ],
    ids=[
        "jax.grad",
        "renamed-import",
        "helper",
        "getattr",
        "importlib",
        "private",
        "torch",
        "eval",
        "custom_vjp",
        "os",
        "open",
        "handwritten",
        "dunder",
        "off-the-list",
        "fft",
    ],
)
def test_refusals_have_their_kind(source: str, kind: str) -> None:
    found = scan_source(source, ["sigmoid_grad"])["sigmoid_grad"]
    assert kind in {f.kind for f in found}, [str(f) for f in found]


def test_a_construct_inside_one_function_costs_that_function_only() -> None:
    source = CLEAN + "\nimport jax\n\ndef relu_grad(x):\n    return jax.grad(lambda v: v)(x)\n"
    found = scan_source(source, ["sigmoid_grad", "relu_grad"])
    assert found["sigmoid_grad"] == [] and [f.line for f in found["relu_grad"]] == [14]


def test_a_construct_at_import_costs_every_function() -> None:
    source = CLEAN + "\nimport jax\n_d = jax.vmap(jax.grad(jax.nn.relu))\n\ndef relu_grad(x):\n    return x > 0\n"
    found = scan_source(source, ["sigmoid_grad", "relu_grad"])
    assert found["sigmoid_grad"] == found["relu_grad"] and {f.line for f in found["relu_grad"]} == {12}


CALLS = """
import jax

def c(x):
    return jax.grad(jax.nn.relu)(x)

def b(x):
    return c(x)

def a(x):
    return b(x) + d(x)

def d(x):
    return x

def e(x):
    return a(x)

def f(x):
    return f(x) + g(x)

def g(x):
    return f(x) + c(x)
"""


def test_the_call_graph_search_does_not_depend_on_order_or_subset() -> None:
    names = ["a", "b", "c", "d", "e", "f", "g"]
    reference = scan_source(CALLS, names)
    assert {n for n, fs in reference.items() if fs} == {"a", "b", "c", "e", "f", "g"}
    assert all([f.line for f in reference[n]] == [5] for n in "abcefg")
    rotations = [names[i:] + names[:i] for i in range(len(names))]
    orders = rotations + [order[::-1] for order in rotations]
    subsets = [list(c) for size in (1, 2) for c in itertools.combinations(names, size)]
    for asked in orders + subsets + [s[::-1] for s in subsets]:
        assert scan_source(CALLS, asked) == {n: reference[n] for n in asked}, asked


def test_a_file_that_cannot_be_parsed_is_refused_with_its_line() -> None:
    found = scan_source("import jax\n\ndef relu_grad(x)\n    return x\n", ["relu_grad"], "sub.py")
    assert [(f.kind, f.file, f.line) for f in found["relu_grad"]] == [("unreadable", "sub.py", 3)]
    assert str(found["relu_grad"][0]).startswith("sub.py:3: cannot be read as Python")


def test_a_coding_cookie_is_honoured() -> None:
    hidden = "# coding: utf-7\nimport jax\n\ndef relu_grad(x):\n    return jax.+AGcAcgBhAGQ-(f)(x)\n"
    assert [f.line for f in scan_source(hidden.encode("ascii"), ["relu_grad"])["relu_grad"]] == [5]


# ---- what a package may hold ---------------------------------------------------------------------


def test_a_package_of_py_files_and_directories_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "sub" / "m.py").write_text("")
    assert check_package_files(tmp_path) == []


@pytest.mark.parametrize(
    ("make", "rule"),
    [
        (lambda p: (p / ".hidden").mkdir(), "hidden"),
        (lambda p: (p / "sub").mkdir() or (p / "sub" / ".x.py").write_text(""), "hidden"),
        (lambda p: os.mkfifo(p / "pipe"), "special file"),
        (lambda p: os.symlink(p / "__init__.py", p / "link.py"), "symbolic link"),
        (lambda p: os.symlink("/tmp", p / "dir"), "symbolic link"),
        (lambda p: (p / "m.so").write_bytes(b"\x7fELF"), "not a .py file"),
        (lambda p: (p / "m.pyc").write_bytes(b""), "compiled"),
        (lambda p: (p / "big.py").write_bytes(b"#" * (3 << 20)), "too large"),
    ],
    ids=["hidden-dir", "nested-hidden", "fifo", "file-link", "dir-link", "shared-object", "pyc", "huge"],
)
def test_anything_else_in_a_package_is_refused_by_path(
    make: Callable[[Path], object], rule: str, tmp_path: Path
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("def relu_grad(x):\n    return x > 0\n")
    make(package)
    found = check_package_files(package)
    assert len(found) == 1 and rule in found[0].what and found[0].kind == "system"
    assert scan_path(package, ["relu_grad"])["relu_grad"] == found


def test_a_single_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("def relu_grad(x):\n    return x > 0\n")
    os.symlink(tmp_path / "real.py", tmp_path / "submission.py")
    assert [f.kind for f in scan_path(tmp_path / "submission.py", ["relu_grad"])["relu_grad"]] == ["system"]


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("from jax import numpy as np2\ndef f(x):\n    return np2.fft.fft(x)", "`np2.fft` (that is `jax.numpy.fft`)"),
        ("from jax import lax as L\ndef f(x):\n    return L.complex(x, x)", "`L.complex` (that is `jax.lax.complex`)"),
        ("import jax.numpy.linalg as la\ndef f(x):\n    return la.eig(x)", "`la.eig` (that is `jax.numpy.linalg.eig`)"),
        ("import jax\ndef f(x):\n    return jax.numpy.linalg.eigvals(x)", "`jax.numpy.linalg.eigvals`"),
        ("import jax\ndef f(x):\n    return jax.profiler.start_trace(x)", "`jax.profiler`"),
        ("import jax\ndef f(x):\n    L = jax.lax\n    return L.exp(x)", "the module `jax.lax` is used as a value"),
    ],
    ids=["from-jax-import-numpy-as", "from-jax-import-lax-as", "import-submodule-as", "chain", "off-list", "alias"],
)
def test_aliases_are_followed_to_what_they_name(source: str, refused: str) -> None:
    found = scan_source(source, ["f"])["f"]
    assert any(refused in f.what for f in found), [str(f) for f in found]
    clean = source.split("\ndef")[0] + "\ndef f(x):\n    return x\n"
    assert scan_source(clean, ["f"]) == {"f": []}  # the import alone costs nothing


def test_an_import_that_only_defines_names_costs_only_the_functions_that_use_them() -> None:
    """`import time` and `from numpy.testing import assert_allclose` at the top for checks under
    `__main__` zeroed every function (a red team's); a module of IMPORT_ONLY is refused where its
    names are used in code that runs: in one function, that function; at import, every one. A
    module whose import runs code of its own (ctypes) still costs every function."""
    head = "import time\nfrom numpy.testing import assert_allclose\nimport jax.numpy as jnp\n{top}\n"
    body = "def relu_grad(x):\n    {use}\n    return x > 0\n\ndef l1(a, y):\n    return jnp.sum(jnp.abs(a - y))\n"
    main = "\nif __name__ == '__main__':\n    t = time.perf_counter()\n    assert_allclose(relu_grad(1.0), 1.0)\n"

    def refused(top: str = "", use: str = "pass") -> list[str]:
        found = scan_source(head.format(top=top) + body.format(use=use) + main, ["relu_grad", "l1"])
        return [name for name, fs in found.items() if fs]

    assert refused() == []
    assert refused(use="time.sleep(0)") == ["relu_grad"]
    assert refused(top="T0 = time.time()") == ["relu_grad", "l1"]
    assert refused(top="import ctypes") == ["relu_grad", "l1"]


def test_a_refused_import_is_said_once_not_again_on_each_attribute() -> None:
    """`import time` is refused on its line; `time.time()` is not refused a second time as an
    attribute of an unknown value (one clear message), but a name bound to a value too is."""
    src = "import time\nimport jax\n\ndef relu_grad(x):\n    t = time.time()\n    return (x > 0).astype(x.dtype)\n"
    found = [str(f) for f in scan_source(src, ["relu_grad"])["relu_grad"]]
    assert len(found) == 1 and "`time` is not on the allowlist of modules" in found[0], found
    rebound = src.replace("import jax\n", "import jax\ntime = jax.nn.relu\n").replace("time.time()", "time.fun")
    found = [str(f) for f in scan_source(rebound, ["relu_grad"])["relu_grad"]]
    assert any("`.fun`" in f for f in found), found


@pytest.mark.parametrize(
    "line",
    ["get_ipython().system('pip install jax')", "get_ipython().run_line_magic('timeit', 'relu(1.0)')",
     "_ = get_ipython().getoutput('ls')"],
)  # fmt: skip
def test_a_magic_exported_from_a_notebook_is_refused_with_what_to_do(line: str) -> None:
    # What nbconvert writes for `!pip install jax`, `%timeit` and `x = !ls`.
    source = f"import jax.numpy as jnp\n{line}\n\n\ndef relu(x):\n    return jnp.maximum(x, 0)\n"
    (finding, *_) = scan_source(source, ["relu"])["relu"]
    assert finding.line == 2 and "get_ipython() lines" in finding.what
    clean = scan_source("import jax.numpy as jnp\nx = jnp.ones(3).sum()\n\n\ndef relu(x):\n    return x\n", ["relu"])
    assert clean["relu"] == []


def test_an_import_of_a_file_beside_the_submission_says_what_to_do() -> None:
    # `import helpers` with helpers.py next to a one-file submission: no such module is
    # installed, and the refusal says how to hand in the helper. An installed library that
    # is not allowed (sqlite3) gets the allowlist's refusal alone.
    own = scan_source("import helpers\n\n\ndef relu(x):\n    return helpers.f(x)\n", ["relu"])["relu"][0].what
    assert "not on the allowlist" in own and "a one-file submission cannot import other files" in own
    assert "from . import helpers" in own
    library = scan_source("import sqlite3\n\n\ndef relu(x):\n    return x\n", ["relu"])["relu"][0].what
    assert "not on the allowlist" in library and "file of yours" not in library
