"""Verdicts kept between grades (handgrad/grading/verdicts.py): a function whose code is
unchanged keeps its verdict; one whose code, or anything its verdict can depend on, changed
is checked again; what the machine's load can change is never kept."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import textwrap
from pathlib import Path

import pytest

from handgrad import cli
from handgrad.grading import compile_cache, sandbox, verdicts
from handgrad.grading.grader import FunctionGrade, Options, SubmissionGrade, TierVerdict, grade
from handgrad.grading.pool import Limits
from handgrad.grading.rubric import Rubric
from reference.catalog import NAMES

needs_sandbox = pytest.mark.skipif(not sandbox.detect().full, reason="no sandbox here: no verdict is kept")
FAST = Limits(timeout=8.0, memory=2 << 30, startup=60.0, budget=120.0)
ENGINE = dict.fromkeys(NAMES, "engine")


def groups(source: str) -> dict[str, frozenset[str]]:
    read = verdicts.code_groups(ast.parse(textwrap.dedent(source)), NAMES)
    assert read is not None
    return read.groups


def keys(tmp_path: Path, source: str, name: str = "mine.py") -> dict[str, verdicts.Key]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return verdicts.function_keys(path, NAMES, ENGINE)


SOFTMAX_FILE = """
import jax.numpy as jnp

EPS = 1e-7
HALF = (jnp.float16, jnp.bfloat16)
TINY = jnp.finfo(jnp.float32).tiny


def _shift(x):
    return x - jnp.max(x, axis=-1, keepdims=True)


def softmax(x):
    e = jnp.exp(_shift(x))
    return e / e.sum(axis=-1, keepdims=True)


def _probabilities(x):
    return softmax(x)


def softmax_vjp(x, g):
    s = _probabilities(x)
    return s * (g - (s * g).sum(axis=-1, keepdims=True))


def relu(x):
    return jnp.maximum(x, EPS * 0 + TINY * 0)


def relu_grad(x: HALF) -> HALF:
    return (x > 0).astype(x.dtype)
"""


def test_a_function_depends_on_itself_and_the_contract_functions_it_names() -> None:
    found = groups(SOFTMAX_FILE)
    assert found["softmax"] == {"softmax"}
    assert found["softmax_vjp"] == {"softmax_vjp", "softmax"}  # through the helper _probabilities
    # Literal constants, library attributes and JAX's own values are no state; annotations are never read.
    assert found["relu"] == {"relu"} and found["relu_grad"] == {"relu_grad"}


STATE_FILE = """
import functools
from functools import partial

import jax
import jax.numpy as jnp

CACHE = {}
COUNT = 0
WEIGHTS = [1.0, 2.0]


class Box:
    scale = 1.0


def relu(x):
    CACHE["r"] = x
    return jnp.maximum(x, 0)


def relu_grad(x):
    return CACHE.get("r", x) > 0


def sigmoid(x):
    return Box.scale / (1 + jnp.exp(-x))


def tanh(x):
    return jnp.tanh(x)


def l1(a, y):
    global COUNT
    COUNT += 1
    return jnp.abs(a - y).mean()


def l1_grad(a, y):
    return jnp.sign(a - y) / a.size + COUNT * 0


def l2(a, y):
    return _weighted(a - y)


def _weighted(d, seen=[]):
    return (d * d).mean()


@functools.lru_cache
def _table(n):
    return n


def hinge(a, y):
    return jnp.maximum(0, 1 - a * y).mean() * _table(1)


@jax.jit
def hinge_grad(a, y):
    return jnp.where(a * y < 1, -y, 0.0) / a.size


@partial(jax.jit, static_argnames=("delta",))
def huber(a, y, delta=1.0):
    return jnp.where(jnp.abs(a - y) <= delta, 0.5 * (a - y) ** 2, delta * (jnp.abs(a - y) - 0.5 * delta)).mean()


def jit(f):
    return f


@jit
def huber_grad(a, y, delta=1.0):
    return jnp.clip(a - y, -delta, delta) / a.size


def cosine_similarity(a, b):
    return (a * b).sum() * WEIGHTS[0]
"""


def test_a_function_that_touches_module_state_is_checked_every_time() -> None:
    """A worker that graded one function may grade the next, and a function's siblings are
    called in its worker: state one leaves (a dict, a `global`, a class attribute, a mutable
    default, a cache decorator) can change what another returns, in an order that --jobs,
    --function and the rubric decide. Such a function gets no group (no key): never kept."""
    found = groups(STATE_FILE)
    for name in ("relu", "relu_grad", "sigmoid", "l1", "l1_grad", "l2", "hinge", "cosine_similarity"):
        assert name not in found, name
    # What touches no state keeps its verdict, with huber_grad, whose own decorator may call
    # it at import (and so may change what the module binds).
    for name in ("tanh", "hinge_grad", "huber"):
        assert found[name] == {name, "huber_grad"}, name


def test_code_that_runs_at_import_ties_every_function_to_what_it_names() -> None:
    found = groups(
        """
        import jax.numpy as jnp

        def sigmoid(x):
            return 1 / (1 + jnp.exp(-x))

        def tanh(x):
            return jnp.tanh(x)

        START = sigmoid(0.0)

        def relu(x):
            return jnp.maximum(x, 0)

        if __name__ == "__main__":
            print(tanh(1.0))
        """
    )
    assert found["relu"] == {"relu", "sigmoid"} and found["tanh"] == {"tanh", "sigmoid"}
    # Unless the module rebinds __name__ (refused by the scan), its main block never runs when graded.
    rebound = groups(
        '__name__ = "__main__"\n\ndef tanh(x):\n    return x\n\nif __name__ == "__main__":\n    relu(1)\n\n'
        "def relu(x):\n    return x\n"
    )
    assert rebound["tanh"] == {"tanh", "relu"}


def test_what_the_reading_cannot_be_certain_of_is_checked_every_time(tmp_path: Path) -> None:
    assert verdicts.code_groups(ast.parse("from jax.numpy import *\n\ndef relu(x):\n    return x\n"), NAMES) is None
    assert keys(tmp_path, "from jax.numpy import *\n\ndef relu(x):\n    return x\n") == {}
    twice = "def relu(x):\n    return x\n\ndef tanh(x):\n    return x\n\ndef relu(x):\n    return x + 0\n"
    first = keys(tmp_path, twice)
    assert "relu" not in first and first["tanh"] == keys(tmp_path, twice + "# a comment\n")["tanh"]
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("def relu(x):\n    return x\n")
    assert verdicts.function_keys(package, NAMES, ENGINE) == {}


def _edit(source: str, old: str, new: str) -> str:
    assert source.count(old) == 1, old
    return source.replace(old, new)


def test_a_key_changes_with_the_code_it_depends_on_and_nothing_else(tmp_path: Path) -> None:
    base = keys(tmp_path, SOFTMAX_FILE)

    def changed(source: str) -> set[str]:
        now = keys(tmp_path, source)
        return {n for n in NAMES if now[n].text != base[n].text}

    assert changed(SOFTMAX_FILE) == set()
    # Comments, blank lines and layout are not code.
    assert (
        changed(
            _edit(SOFTMAX_FILE, "    e = jnp.exp(_shift(x))\n", "    # shift first\n\n    e = jnp.exp(_shift(x))\n")
        )
        == set()
    )
    # A body: that function and those that call it.
    assert changed(_edit(SOFTMAX_FILE, "return e / e.sum(", "return 1.0 * e / e.sum(")) == {"softmax", "softmax_vjp"}
    assert changed(_edit(SOFTMAX_FILE, "(g - (s * g)", "(g - (g * s)")) == {"softmax_vjp"}
    # A helper, a constant, an import, another function's signature (its defaults and decorators run at import).
    for old, new in (
        ("return x - jnp.max(", "return x - 1.0 * jnp.max("),
        ("EPS = 1e-7", "EPS = 1e-8"),
        ("import jax.numpy as jnp\n", "import jax.numpy as jnp\nimport math\n"),
        ("def relu_grad(x: HALF)", "def relu_grad(x: HALF, y=2.0)"),
    ):
        assert changed(_edit(SOFTMAX_FILE, old, new)) == set(NAMES), old


def test_lines_moved_change_the_layout_of_what_sits_below_them(tmp_path: Path) -> None:
    """A verdict that is not a clean pass may quote a line ("at mine.py:12"): its layout key
    holds where its code sits."""
    base = keys(tmp_path, SOFTMAX_FILE)
    moved = keys(tmp_path, _edit(SOFTMAX_FILE, "def relu(x):\n", "def relu(x):\n    # a line more\n"))
    assert all(moved[n].text == base[n].text for n in NAMES)
    assert moved["softmax"].layout == base["softmax"].layout
    assert moved["relu"].layout != base["relu"].layout and moved["relu_grad"].layout != base["relu_grad"].layout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert keys(elsewhere, SOFTMAX_FILE) == base  # the folder is not code; the file's name is (below)


def test_the_engine_key_holds_what_a_verdict_depends_on_and_not_how_it_is_run() -> None:
    def key(**changes: object) -> str:
        return verdicts.engine_key(dataclasses.replace(Options(), **changes), "relu", "cpu:0", "namespaces")

    base = key()
    weights = dict.fromkeys(NAMES, 1.0) | {"relu": 2.0}
    for changes in (
        {"strict": True}, {"allow_autodiff": True}, {"fail_fast": True}, {"seed": 3},
        {"limits": Limits(timeout=1.0)}, {"rubric": Rubric(weights=weights)}, {"rubric": Rubric(partial=True)},
    ):  # fmt: skip
        assert key(**changes) != base, changes
    # --jobs sets each worker's share of the cores, and so its memory cap: a function that
    # catches MemoryError answered otherwise with another (a fifth red team).
    assert key(jobs=4) != base
    assert key(functions=("relu",)) == base and key(reuse=True) == base
    assert verdicts.engine_key(Options(), "relu", "cpu:0", "userns") != base


def test_the_environment_that_reaches_xla_is_part_of_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """XLA_FLAGS passes to every worker (--xla_cpu_enable_fast_math changes log1p: a red team's
    relu_grad passed without it and failed with it, kept either way)."""
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    base = verdicts.engine_key(Options(), "relu", "cpu:0", "namespaces")
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=true")
    assert verdicts.engine_key(Options(), "relu", "cpu:0", "namespaces") != base
    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setenv("JAX_DEFAULT_MATMUL_PRECISION", "bfloat16")
    assert verdicts.engine_key(Options(), "relu", "cpu:0", "namespaces") != base
    monkeypatch.delenv("JAX_DEFAULT_MATMUL_PRECISION")
    monkeypatch.setenv("HANDGRAD_RECHECK", "0")  # (not what a verdict depends on)
    assert verdicts.engine_key(Options(), "relu", "cpu:0", "namespaces") == base


def _grade(name: str = "relu", feedback: str = "All 96 checks passed.", failed: int = 0) -> FunctionGrade:
    tiers = (TierVerdict("derivation", 60, failed, True, ("normal-7",) if failed else ()),)
    return FunctionGrade(
        name, 0.0 if failed else 1.0, 1.0, 96, failed, feedback, "visible", "value" * bool(failed), tiers
    )


def test_a_kept_verdict_comes_back_as_it_was_and_says_so(tmp_path: Path) -> None:
    store = verdicts.Store(tmp_path)
    key = verdicts.Key("a" * 64, "layout-1")
    store.put(key, _grade(), seed=77)
    kept = store.get(key)
    assert kept is not None and kept.kept and not _grade().kept
    assert dataclasses.replace(kept, feedback=_grade().feedback, kept=False) == _grade()
    assert kept.feedback.endswith("its code is unchanged since. --recheck checks it again.")
    assert "Kept from the grade of" in kept.feedback and "seed 77" in kept.feedback
    # A clean pass quotes no line: kept wherever its code now sits.
    assert store.get(dataclasses.replace(key, layout="layout-2")) is not None
    # A failure's feedback may quote lines: kept only where they are the same.
    failed = verdicts.Key("b" * 64, "layout-1")
    store.put(failed, _grade(feedback="FAILED ... (at mine.py:12)", failed=3), seed=5)
    assert store.get(failed) is not None and store.get(dataclasses.replace(failed, layout="layout-2")) is None
    assert store.get(verdicts.Key("c" * 64, "layout-1")) is None


def test_a_planted_or_broken_entry_is_a_miss(tmp_path: Path) -> None:
    store = verdicts.Store(tmp_path / "store")
    store.folder.mkdir()
    good = verdicts.Key("d" * 64, "")
    store.put(good, _grade(), seed=1)
    elsewhere = tmp_path / "planted.json"
    elsewhere.write_bytes((store.folder / f"{good.text}.json").read_bytes())
    linked = verdicts.Key("e" * 64, "")
    os.symlink(elsewhere, store.folder / f"{linked.text}.json")
    assert store.get(good) is not None and store.get(linked) is None
    for n, text in enumerate(("{", "[]", json.dumps({"grade": {"name": "relu"}, "seed": 1, "when": 0}), "null")):
        broken = verdicts.Key(f"{n}" * 64, "")
        (store.folder / f"{broken.text}.json").write_text(text)
        assert store.get(broken) is None, text


def test_the_store_is_off_with_the_cache_and_keeps_the_latest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compile_cache.ENV, "off")
    assert verdicts.Store.open() is None
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "cache"))
    store = verdicts.Store.open()
    assert store is not None and store.folder.is_relative_to(tmp_path / "cache")
    assert (store.folder.stat().st_mode & 0o777) == 0o700
    for n in range(5):
        store.put(verdicts.Key(f"{n:064x}", ""), _grade(), seed=n)
        os.utime(store.folder / f"{n:064x}.json", (n + 1, n + 1))
    monkeypatch.setattr(verdicts, "MAX_ENTRIES", 2)
    assert verdicts.Store.open() is not None
    assert sorted(f.name[-6:] for f in store.folder.iterdir()) == ["3.json", "4.json"]


def test_the_summary_counts_kept_verdicts_of_shown_functions_only() -> None:
    shown = dataclasses.replace(_grade("relu"), kept=True)
    hidden = dataclasses.replace(_grade("tanh"), kept=True, visibility="hidden")
    summary = SubmissionGrade(Path("mine.py"), (shown, hidden), 0.1, 7, "namespaces").summary()
    assert "relu kept its verdict from an earlier grade" in summary and "tanh" not in summary
    assert "kept" not in SubmissionGrade(Path("mine.py"), (_grade("relu"),), 0.1, 7, "namespaces").summary()


def test_the_command_keeps_verdicts_unless_told_to_check_again(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = cli.build_parser()

    def reuse(*flags: str) -> bool:
        return cli._grade_options(parser.parse_args(["grade", "mine.py", *flags])).reuse

    monkeypatch.delenv(cli.RECHECK_ENV, raising=False)
    assert reuse() and not reuse("--recheck") and not reuse("--no-cache")
    monkeypatch.setenv(cli.RECHECK_ENV, "1")
    assert not reuse()
    assert Options().reuse is False  # grade() called from Python keeps nothing unless asked


RELU_RIGHT = "import jax.numpy as jnp\n\n\ndef relu(x):\n    return jnp.maximum(x, 0)\n"
RELU_GRAD = "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype)\n"


@needs_sandbox
def test_a_regrade_checks_again_only_the_functions_whose_code_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "cache"))
    path = tmp_path / "mine.py"
    options = Options(functions=("relu", "relu_grad"), limits=FAST, reuse=True)

    def graded(source: str) -> dict[str, FunctionGrade]:
        path.write_text(source)
        return {f.name: f for f in grade(path, options).functions}

    first = graded(RELU_RIGHT + RELU_GRAD)
    assert all(f.passed and not f.kept for f in first.values())
    # relu now off by 1%: checked again, and failing; relu_grad's code is the same: kept.
    wrong = graded(RELU_RIGHT.replace("jnp.maximum(x, 0)", "jnp.maximum(x, 0) * 1.01") + RELU_GRAD)
    assert not wrong["relu"].kept and not wrong["relu"].passed, wrong["relu"].feedback
    assert wrong["relu_grad"].kept and wrong["relu_grad"].passed
    # Back as it was, with a comment: the first verdict is relu's again. The wrong one is kept too.
    back = graded("# my file\n" + RELU_RIGHT + RELU_GRAD)
    assert back["relu"].kept and back["relu"].passed
    again = graded(RELU_RIGHT.replace("jnp.maximum(x, 0)", "jnp.maximum(x, 0) * 1.01") + RELU_GRAD)
    assert again["relu"].kept and not again["relu"].passed and again["relu"].score == 0
    # Not with the cache off.
    off = Options(functions=("relu", "relu_grad"), limits=FAST, reuse=True, cache=False)
    assert not any(f.kept for f in grade(path, off).functions)


@needs_sandbox
def test_a_verdict_the_machine_could_change_is_never_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A call that timed out may pass on a quieter machine: checked again on every grade."""
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "cache"))
    path = tmp_path / "mine.py"
    path.write_text("def relu(x):\n    n = 0\n    while True:\n        n += 1\n")
    options = Options(functions=("relu",), limits=Limits(timeout=1.0, memory=2 << 30, budget=60.0), reuse=True)
    first = grade(path, options).functions[0]
    assert first.problem == "timeout" and not first.steady, first.feedback
    again = grade(path, options).functions[0]
    assert not again.kept and again.problem == "timeout"


RELU = "\n\ndef relu(x):\n    return jnp.maximum(x, 0.0)\n"
HEAD = "import jax\nimport jax.numpy as jnp\nimport numpy as np\n"

# Edits that change what relu_grad computes while its own text stays the same, each of a class
# a red team found the first reading missed (2026-12-07, stop 50), with more of each class.
UNSEEN_EDITS = {
    # Code that runs at import but was read as never running: the `else` of the main guard.
    "main-guard-else": (
        HEAD + 'if __name__ == "__main__":\n    pass\nelse:\n    SCALE = 1.0\n' + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * SCALE\n",
        ("SCALE = 1.0", "SCALE = 2.0"),
    ),
    "main-guard-elif": (
        HEAD + 'if "__main__" == __name__:\n    pass\nelif True:\n    SCALE = 1.0\n' + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * SCALE\n",
        ("SCALE = 1.0", "SCALE = 2.0"),
    ),
    # A mutable object the state reading took for a value: a list from jax.tree_util, a NumPy
    # array, a list from jnp.split; through a default too. relu's edit changes it.
    "tree-leaves-list": (
        HEAD + "S = jax.tree_util.tree_leaves((1.0,))\n" + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * S[0]\n",
        ("    return jnp.maximum(x, 0.0)", "    S[0] = 2.0\n    return jnp.maximum(x, 0.0)"),
    ),
    "numpy-array": (
        HEAD + "S = np.ones(1)\n" + RELU + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * S[0]\n",
        ("    return jnp.maximum(x, 0.0)", "    S[0] = 2.0\n    return jnp.maximum(x, 0.0)"),
    ),
    "jnp-split-default": (
        HEAD + "S = jnp.split(jnp.ones(2), 2)\n" + RELU
        + "\n\ndef relu_grad(x, s=S):\n    return (x > 0).astype(x.dtype) * s[0]\n",
        ("    return jnp.maximum(x, 0.0)", "    S[0] = jnp.ones(1) * 2\n    return jnp.maximum(x, 0.0)"),
    ),
    # A call run where the reach did not look: an annotation of a nested def.
    "nested-annotation": (
        HEAD + RELU + "\n\ndef relu_grad(x):\n    def _unused(a: (r := relu(x))) -> None:\n        pass\n\n"
        "    return (r > 0).astype(x.dtype)\n",
        ("jnp.maximum(x, 0.0)", "jnp.maximum(x, 1.0)"),
    ),
    "module-annotation": (
        HEAD + RELU + "\n\nz: (w := relu(1.0)) = 0\n\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * w\n",
        ("jnp.maximum(x, 0.0)", "jnp.maximum(x, 0.5)"),
    ),
    # State a library keeps for the process: NumPy's global generator, by name, alias or a local import.
    "numpy-random": (
        HEAD + RELU.replace("    return", "    np.random.seed(1)\n    return")
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * np.random.randint(1, 2)\n",
        ("np.random.seed(1)", "np.random.seed(7)"),
    ),
    "numpy-random-alias": (
        HEAD + "R = np.random\n" + RELU.replace("    return", "    R.seed(1)\n    return")
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * R.randint(1, 2)\n",
        ("R.seed(1)", "R.seed(7)"),
    ),
    "numpy-random-local-import": (
        HEAD + RELU.replace("    return", "    from numpy import random as r\n    r.seed(1)\n    return")
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * np.random.randint(1, 2)\n",
        ("r.seed(1)", "r.seed(7)"),
    ),
    # JAX's settings: relu turning float64 on changes the dtype of what relu_grad makes, unnamed.
    "jax-config": (
        HEAD + RELU + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) + jnp.zeros(()).dtype.itemsize * 0\n",
        ("    return jnp", '    jax.config.update("jax_enable_x64", True)\n    return jnp'),
    ),
    # A second red team (same day): the process's warnings filters (NumPy's own warnings then
    # raise anywhere), and names bound at the top level by a match capture. More of each:
    # NumPy's error state, a registry of abstract base classes, JAX's pytree registry, a star
    # capture, a mapping's rest.
    "warnings-filter": (
        HEAD + "import warnings\n" + RELU
        + "\n\ndef relu_grad(x):\n    warnings.warn('a note')\n    return (x > 0).astype(x.dtype)\n",
        ("    return jnp.maximum", "    warnings.simplefilter('error')\n    return jnp.maximum"),
    ),
    "numpy-seterr-unnamed": (
        HEAD + RELU + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * np.log(np.ones(1))[0]\n",
        ("    return jnp.maximum", "    np.seterr(all='raise')\n    return jnp.maximum"),
    ),
    "abc-register": (
        HEAD + "import numbers\n" + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * (2.0 if isinstance(x, numbers.Real) else 1.0)\n",
        ("    return jnp.maximum", "    numbers.Real.register(type(x))\n    return jnp.maximum"),
    ),
    "pytree-registry": (
        HEAD + "from jax.tree_util import register_static\n" + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype)\n",
        ("    return jnp.maximum", "    register_static(type(x))\n    return jnp.maximum"),
    ),
    "match-capture": (
        HEAD + "match []:\n    case tally:\n        pass\n" + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * (2 if tally else 1)\n",
        ("    return jnp.maximum", "    tally.append(1)\n    return jnp.maximum"),
    ),
    "match-star": (
        HEAD + "match [0]:\n    case [*tally]:\n        pass\n" + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * len(tally)\n",
        ("    return jnp.maximum", "    tally.append(1)\n    return jnp.maximum"),
    ),
    "match-mapping-rest": (
        HEAD + "match {}:\n    case {**table}:\n        pass\n" + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * len(table)\n",
        ("    return jnp.maximum", "    table['a'] = 1\n    return jnp.maximum"),
    ),
    # A third red team: a NumPy dtype called on a list (a writable array), a jitted helper with
    # static arguments (its trace cache: (1.0,) == (np.float32(1.0),)), code run at import by
    # a decorator or a default, and what a missing function's verdict names.
    "numpy-dtype-list": (
        HEAD + "SCALE = np.float32([0.0])\n" + RELU
        + "\n\ndef relu_grad(x):\n    return jnp.where(x > 0, SCALE[0], 0.0).astype(x.dtype)\n",
        ("    return jnp.maximum", "    SCALE[0] = 1.0\n    return jnp.maximum"),
    ),
    "stored-into": (
        HEAD + "BOX = jnp.zeros(1)\n" + RELU + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * BOX[0]\n",
        ("    return jnp.maximum", "    BOX[0] = 1.0\n    return jnp.maximum"),
    ),
    "jit-static-arguments": (
        HEAD + "from functools import partial\n\n\n@partial(jax.jit, static_argnames='c')\ndef scaled(x, c):\n"
        "    return x * c[0]\n" + RELU.replace("    return", "    scaled(x, c=(1.0,))\n    return")
        + "\n\ndef relu_grad(x):\n    return scaled((x > 0).astype(x.dtype), c=(np.float32(1.0),))\n",
        ("    scaled(x, c=(1.0,))\n", ""),
    ),
    "decorator-calls": (
        HEAD + "def checked(f):\n    f(jnp.ones(2))\n    return f\n" + RELU
        + "\n\n@checked\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype)\n",
        ("(x > 0).astype(x.dtype)", "(x > 0).astype(x.dtype) * scale"),
        "relu",
    ),
    "default-calls": (
        HEAD + RELU + "\n\ndef relu_grad(x, _probe=relu(1.0)):\n    return (x > 0).astype(x.dtype)\n\n\n"
        "def sigmoid(x):\n    return 1 / (1 + jnp.exp(-x))\n",
        ("jnp.maximum(x, 0.0)", "jnp.maximum(x, 0.0) + undefined"),
        "sigmoid",
    ),
    "missing-at-import": (
        HEAD + RELU + "\n\nrelu(1.0)\n",
        ("jnp.maximum(x, 0.0)", "jnp.maximum(x, 0.0) + undefined"),
        "relu_grad",
    ),
    # A fourth red team: a library's own list, changed through a local alias.
    "future-list-alias": (
        HEAD + "import __future__ as fut\n" + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * (len(fut.all_feature_names) - 9)\n",
        ("    return jnp.maximum", "    names = fut.all_feature_names\n    names += ['x']\n    return jnp.maximum"),
    ),
    "future-list-module-alias": (
        HEAD + "import __future__\n\nL = __future__.all_feature_names\n" + RELU
        + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * (len(L) - 9)\n",
        ("    return jnp.maximum", "    L[:0] = ['x']\n    return jnp.maximum"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", UNSEEN_EDITS, ids=str)
def test_an_edit_that_changes_what_a_function_computes_changes_its_key(tmp_path: Path, case: str) -> None:
    """Either the function is never kept (no key, before or after), or the edit changes its key."""
    before, (old, new), *which = UNSEEN_EDITS[case]
    name = which[0] if which else "relu_grad"
    compile(before, case, "exec", dont_inherit=True)  # (no `from __future__ import annotations`)
    first, then = keys(tmp_path, before).get(name), keys(tmp_path, _edit(before, old, new)).get(name)
    assert first is None or then is None or first.text != then.text
    if case in KEEPABLE:  # (and where nothing ties it to state, it is kept: the test sees a key)
        assert first is not None and then is not None


KEEPABLE = ("nested-annotation", "decorator-calls", "default-calls", "missing-at-import")


def test_the_module_name_is_part_of_the_code(tmp_path: Path) -> None:
    """A file is imported under its own name, which `__name__` reads: the same text under
    another name is other code (a red team's `2.0 if __name__ == "beta" else 1.0`)."""
    source = HEAD + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype) * (2.0 if __name__ == 'beta' else 1.0)\n"
    assert keys(tmp_path, source, "alpha.py")["relu_grad"].text != keys(tmp_path, source, "beta.py")["relu_grad"].text


def test_functions_not_graded_now_are_not_helpers(tmp_path: Path) -> None:
    """--function relu_grad: an edit of relu, which relu_grad does not name, keeps its key."""
    path = tmp_path / "mine.py"
    only = {"relu_grad": "engine"}
    path.write_text(HEAD + RELU + "\n\ndef relu_grad(x):\n    return (x > 0).astype(x.dtype)\n")
    before = verdicts.function_keys(path, NAMES, only)
    path.write_text(path.read_text().replace("jnp.maximum(x, 0.0)", "jnp.maximum(x, 1.0)"))
    assert verdicts.function_keys(path, NAMES, only) == before and list(before) == ["relu_grad"]


@needs_sandbox
def test_a_repeat_a_sibling_left_no_budget_for_is_not_called_state(tmp_path: Path) -> None:
    """relu_grad's first check is asked again after its siblings ran in its worker; where
    relu spent the submission's budget, the repeat could not run. That is a timeout (which
    the machine's load can change, so never kept), not "state kept between calls" (which a
    kept verdict would then carry to a grade where relu was fixed: a fourth red team)."""
    path = tmp_path / "mine.py"
    path.write_text(
        RELU_RIGHT.replace("    return jnp.maximum", "    while True:\n        pass\n    return jnp.maximum")
        + RELU_GRAD
    )
    limits = Limits(timeout=60.0, memory=2 << 30, startup=60.0, budget=10.0)
    (only,) = grade(path, Options(functions=("relu_grad",), limits=limits)).functions
    assert only.problem != "stale-state" and not only.steady, only.feedback


def test_a_function_whose_verdict_may_depend_on_the_memory_left_is_checked_every_time() -> None:
    """What a function computes where it catches running short of memory depends on the room
    its worker has: --jobs, the cgroup, and what siblings called in its worker hold (a fifth
    red team: relu probing np.empty(N) in a try, relu_grad keeping 10 GiB in a module list)."""
    found = groups(
        """
        import numpy as np
        import jax.numpy as jnp

        def relu(x):
            try:
                np.empty(1 << 33)
            except MemoryError:
                return 2 * jnp.maximum(x, 0)
            return jnp.maximum(x, 0)

        def _probe():
            try:
                return np.empty(1 << 33) is None
            except:
                return True

        def tanh(x):
            return jnp.tanh(x) * (2.0 if _probe() else 1.0)

        def sigmoid(x):
            try:
                return 1 / (1 + jnp.exp(-x))
            except (ValueError, RuntimeError):
                return x

        def softmax(x):
            try:
                return jnp.exp(x) / jnp.exp(x).sum(-1, keepdims=True)
            except ValueError:
                return x
        """
    )
    assert not {"relu", "tanh", "sigmoid"} & set(found) and found["softmax"] == {"softmax"}
    at_import = groups(
        "import numpy as np\ntry:\n    PAD = 0\nexcept Exception:\n    PAD = 1\n\ndef relu(x):\n    return x\n"
    )
    assert "relu" not in at_import


def test_a_sibling_that_keeps_state_ties_the_function_it_is_called_beside(tmp_path: Path) -> None:
    """grade_function calls a function's siblings (relu_grad for relu) in its worker before
    its first check is repeated: a sibling holding state there (memory included) is part of
    the function's run."""
    from handgrad.grading.grader import SIBLINGS

    path = tmp_path / "mine.py"
    path.write_text(
        HEAD
        + "_KEEP = []\n"
        + RELU
        + "\n\ndef relu_grad(x):\n    _KEEP.append(0)\n    return (x > 0).astype(x.dtype)\n"
        + "\n\ndef tanh(x):\n    return jnp.tanh(x)\n"
    )
    assert "relu" in verdicts.function_keys(path, NAMES, ENGINE)  # (read alone, relu touches nothing)
    kept = verdicts.function_keys(path, NAMES, ENGINE, SIBLINGS)
    assert "relu" not in kept and "relu_grad" not in kept and "tanh" in kept


def test_running_short_of_memory_is_told_as_memory_wherever_it_is_raised() -> None:
    from handgrad.grading.worker import failure_kind

    reimport = (
        "importing it with float64 off (JAX's default) raised numpy.core._exceptions._ArrayMemoryError: "
        "Unable to allocate 2.39 GiB for an array with shape (2566914048,) and data type uint8 (at sub.py:4)"
    )
    assert failure_kind(reimport) == "memory" and failure_kind("ValueError: shapes (3,) and (4,)") == "exception"
    assert failure_kind("XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory allocating 8 bytes") == "memory"


def test_only_handlers_written_out_as_narrow_classes_keep_a_key() -> None:
    """A sixth red team caught MemoryError as `(ValueError,) + (MemoryError,)`, and the stack
    running out as RecursionError (how deep a call may go depends on JAX's trace caches, which
    the functions graded before filled): each reads the resources the worker has left."""
    body = "    try:\n        return jnp.tanh(x)\n    except {}:\n        return x\n"
    broad = ["(ValueError,) + (MemoryError,)", "tuple([MemoryError])", "RecursionError", "MyError", "OSError"]
    narrow = ["(ValueError, TypeError)", "ZeroDivisionError", "builtins.KeyError"]
    for caught in broad + narrow:
        source = "import builtins\nimport jax.numpy as jnp\n\nclass MyError(Exception):\n    pass\n\n"
        found = groups(source + "def tanh(x):\n" + body.format(caught))
        assert ("tanh" in found) == (caught in narrow), caught


@needs_sandbox
def test_a_stack_run_out_is_never_kept(tmp_path: Path) -> None:
    """How deep a call may go depends on what the worker ran before (a traced call is shallower
    once JAX has cached its trace): a call that ran out of stack may not on another grade."""
    path = tmp_path / "mine.py"
    path.write_text(RELU_RIGHT + "\n\ndef tanh(x):\n    return tanh(x)\n")
    (found,) = grade(path, Options(functions=("tanh",), limits=FAST, fail_fast=True)).functions
    assert not found.passed and "RecursionError" in found.feedback and not found.steady, found.feedback
