"""The allowlist check against the second to fifth hostile corpora
(tests/corpus/hostile_static_2.py to _5.py): each attack is refused on its marked
line with its rule, only where it should be, and the correct but unusual submissions beside
them still pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from handgrad.scan import scan_path
from reference.catalog import NAMES
from tests.corpus import hostile_static_2, hostile_static_3, hostile_static_4, hostile_static_5, hostile_static_6
from tests.corpus.hostile_static import HOSTILE as FIRST_HOSTILE
from tests.corpus.hostile_static_2 import BOTH, Hostile, Submission
from tests.test_scan_corpus import assert_refused_on_its_line

CORPORA = (hostile_static_2, hostile_static_3, hostile_static_4, hostile_static_5, hostile_static_6)
HOSTILE = tuple(s for corpus in CORPORA for s in corpus.HOSTILE)
CLEAN = tuple(s for corpus in CORPORA for s in corpus.CLEAN)


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda c: c.__name__.rsplit(".", 1)[-1])
def test_corpus_is_large_and_new(corpus: object) -> None:
    hostile, clean = corpus.HOSTILE, corpus.CLEAN  # type: ignore[attr-defined]
    ids = [s.id for s in (*hostile, *clean)]
    assert len(hostile) >= 20 and len(set(ids)) == len(ids)
    earlier = {s.id for c in (FIRST_HOSTILE, *(c.HOSTILE for c in CORPORA if c is not corpus)) for s in c}
    assert not set(ids) & earlier


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda s: s.id)
def test_hostile_submission_is_refused_on_its_line_with_its_rule(hostile: Hostile, tmp_path: Path) -> None:
    assert_refused_on_its_line(hostile, tmp_path)


@pytest.mark.parametrize("clean", CLEAN, ids=lambda s: s.id)
def test_unusual_correct_submission_passes(clean: Submission, tmp_path: Path) -> None:
    found = scan_path(clean.write(tmp_path), NAMES)
    assert {name: [str(f) for f in fs] for name, fs in found.items() if fs} == {}
    defined = [n for n in NAMES if any(f"def {n}(" in clean.text(file) for file in clean.files)]
    assert defined


def _values() -> dict[str, object]:
    """Values a formula can hold: arrays, tracers, dtypes, generators, transformed functions,
    and every allowlisted name that is not a module."""
    import functools
    import importlib
    import types

    import jax
    import jax.numpy as jnp
    import numpy as np

    from handgrad.scan import ALLOWED, VALUE_NAMESPACES, AllExcept

    seen: dict[str, object] = {}

    def keep(x: object) -> object:
        seen.setdefault(f"tracer {type(x).__name__}", x)
        return x

    jax.jit(keep)(1.0)
    jax.vmap(keep)(jnp.ones(2))

    def caught(f: object) -> BaseException:
        try:
            f()  # type: ignore[operator]
        except Exception as exc:
            return exc
        raise AssertionError("expected an exception")

    def concrete(x: object) -> object:
        seen.setdefault("concretization error", caught(lambda: float(x)))  # type: ignore[arg-type]
        return x

    jax.jit(concrete)(1.0)
    out: dict[str, object] = {
        "attribute error on a module": caught(lambda: jnp.no_such_name),  # type: ignore[attr-defined]
        "attribute error on an array": caught(lambda: jnp.ones(2).no_such_name),  # type: ignore[attr-defined]
        "index error": caught(lambda: jnp.ones(2)[1.5]),
        "key error": caught(lambda: dict[str, int]()["k"]),
        "zero division": caught(lambda: 1 / 0),
        "jax array": jnp.ones(3),
        "numpy array": np.ones(3),
        "numpy scalar": np.float64(1.0),
        "dtype": np.dtype("f8"),
        "finfo": np.finfo(np.float32),
        "generator": np.random.default_rng(0),
        "random state": np.random.RandomState(0),
        "key": jax.random.key(0),
        "jitted": jax.jit(jnp.sin),
        "lowered": jax.jit(jnp.sin).lower(1.0),
        "vmapped": jax.vmap(jnp.sin),
        "partial": functools.partial(jnp.sin),
        "treedef": jax.tree_util.tree_structure([1]),
        "at": jnp.ones(3).at,
        **seen,
    }
    for entry, allowed in ALLOWED.items():
        try:
            namespace: object = importlib.import_module(entry)
        except ImportError:
            continue
        listed = [n for n in dir(namespace) if n in allowed] if isinstance(allowed, AllExcept) else sorted(allowed)
        for n in listed:
            value = getattr(namespace, n, None)
            # jax.config is a namespace the check refuses as a value (`jax.config.update(...)` only)
            namespace_only = f"{entry}.{n}" in ALLOWED and f"{entry}.{n}" not in VALUE_NAMESPACES
            if value is not None and not isinstance(value, types.ModuleType) and not namespace_only:
                out[f"{entry}.{n}"] = value
    return out


def _forbidden(value: object) -> str:
    """What a formula must not get hold of, or "": a module, the interpreter's frames, code,
    cells and tracebacks, XLA's runtime client, or a function named like JAX's differentiation."""
    import types

    from handgrad.scan import AUTODIFF_NAMES

    if isinstance(value, types.ModuleType):
        return value.__name__
    if isinstance(value, (types.FrameType, types.CodeType, types.CellType, types.TracebackType)):
        return type(value).__name__
    if type(value).__name__ == "Client":
        return "XLA's client"
    if callable(value) and getattr(value, "__name__", None) in AUTODIFF_NAMES:
        return f"{value.__name__}()"
    return ""


def test_no_value_reaches_a_module_through_attributes_the_check_allows() -> None:
    """Attributes of values are not listed (their types are unknown statically): only the
    names in VALUE_ATTRIBUTES_REFUSED and double-underscore names are refused. So no chain
    of other attributes and of items (a formula may index with a string written in the
    source), from anything a formula can hold, may lead to a module (numpy's
    `x.ctypes._ctypes` is the ctypes module, a Cython function's `func_globals["np"]`
    numpy), a frame, XLA's client (`x.device.client`) or a function named like JAX's
    differentiation."""
    import types

    import jax
    import jax.numpy as jnp

    from handgrad.scan import VALUE_ATTRIBUTES_REFUSED

    frontier = [*_values().items(), ("lowered.private", jax.jit(jnp.sin).lower(1.0))]
    visited = {id(v) for _, v in frontier}
    reached: list[str] = []
    for _ in range(3):
        following = []
        for path, value in frontier:
            if isinstance(value, (int, float, str, bytes, types.ModuleType)):
                continue
            inner_values: list[tuple[str, object]] = []
            for attr in dir(value):
                if attr.startswith("__") or attr in VALUE_ATTRIBUTES_REFUSED:
                    continue
                try:
                    inner_values.append((f"{path}.{attr}", getattr(value, attr)))
                except Exception:
                    continue
            if isinstance(value, dict):
                items = [
                    (k, v) for k, v in list(value.items())[:200] if not (isinstance(k, str) and k.startswith("__"))
                ]
                inner_values += [(f"{path}[{k!r}]", v) for k, v in items]
            elif isinstance(value, (list, tuple)):
                inner_values += [(f"{path}[{i}]", v) for i, v in enumerate(value[:20])]
            for where, inner in inner_values:
                if what := _forbidden(inner):
                    reached.append(f"{where} -> {what}")
                elif id(inner) not in visited:
                    visited.add(id(inner))
                    following.append((where, inner))
        frontier = following
    assert reached == []


NUMPY_HOST_NAMES_REVIEWED = frozenset(
    """ComplexWarning array_repr array_str can_cast character dtype finfo flexible floating generic
    iinfo index_exp inexact integer iterable number object_ s_ signedinteger unsignedinteger""".split()
)
"""NumPy's own objects that jax.numpy re-exports and the allowlist lets through: types, dtype
queries, index helpers and printing, none of which reads or writes a file."""


def test_jax_numpy_lets_through_only_reviewed_numpy_functions() -> None:
    """jax.numpy is allowed but for its exceptions, and it re-exports some of NumPy's host
    functions (`jnp.savez` is numpy.savez, which writes files). Each such name must have been
    reviewed: a new one in a later jax fails here until it is."""
    import jax.numpy as jnp

    from handgrad.scan import ALLOWED

    host = {
        n
        for n in dir(jnp)
        if n in ALLOWED["jax.numpy"] and not str(getattr(getattr(jnp, n), "__module__", "jax")).startswith("jax")
    }
    assert host - NUMPY_HOST_NAMES_REVIEWED == set()
    assert "savez" not in ALLOWED["jax.numpy"] and "dtype" in host


def test_complex_step_through_run_time_values_is_beyond_the_static_check(tmp_path: Path) -> None:
    """What the allowlist cannot refuse: a complex dtype or number that exists only at run
    time. Each of these passes the scan and yet derives l2_grad exactly by complex-step; the
    guard has to be a run-time one. When the scan learns to refuse one, move it to HOSTILE."""
    import importlib.util
    import warnings

    import jax
    import numpy as np

    from tests.corpus.hostile_static_2 import RUNTIME_ONLY

    a = np.linspace(-2.0, 2.0, 7)
    y = np.linspace(1.0, -1.0, 7)
    for sub in RUNTIME_ONLY:
        path = sub.write(tmp_path / sub.id)
        assert scan_path(path, ["l2_grad"]) == {"l2_grad": []}
        spec = importlib.util.spec_from_file_location(f"runtime_only_{sub.id.replace('-', '_')}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # casting complex to real warns
            got = np.asarray(module.l2_grad(jax.numpy.asarray(a), jax.numpy.asarray(y)))
        assert got.dtype == np.float64  # handgrad turns float64 on, as the grader does
        np.testing.assert_allclose(got, 2 * (a - y), rtol=1e-12, atol=1e-30)


def test_strings_a_student_chooses_cannot_stall_the_check(tmp_path: Path) -> None:
    """The check runs in the grader, before any sandbox, on strings the student wrote: its
    patterns must take time linear in a string's length. These strings took a backtracking
    pattern minutes (cubic in their length); the answers must come back, and be right."""
    pad = "_" * 200_000
    source = (
        "import jax\n\n"
        f'_OPEN = "{{{pad}"\n'
        f'_NAMES = "{"__" + pad[:50_000]}! {"c" * 100_000}complex"\n\n\n'
        "def relu_grad(x):\n"
        f'    return "{{0.{pad}}}".format(x)\n\n\n'
        "def l2_grad(a, y):\n"
        "    return jax.grad(lambda a: ((a - y) ** 2).sum())(a)\n"
    )
    (tmp_path / "submission.py").write_text(source)
    found = scan_path(tmp_path / "submission.py", BOTH)
    assert [(f.line, f.kind) for f in found["relu_grad"]] == [(8, "dynamic"), (8, "system")]
    assert "reads a Python internal" in found["relu_grad"][0].what
    assert [(f.line, f.kind) for f in found["l2_grad"]] == [(12, "autodiff")]


def test_a_fault_in_the_check_refuses_the_file_and_never_stops_the_grader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The grader scans every submission of a bulk run in one process: an exception escaping
    the check would stop all of them. A fault refuses that file ("unreadable"), and only it."""
    from handgrad import scan

    def broken(*args: object) -> None:
        raise KeyError("a fault in the check")

    monkeypatch.setattr(scan._ModuleScan, "_check_power", broken)
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .impl import relu_grad as relu_grad\n")
    (package / "impl.py").write_text("def relu_grad(x):\n    return (x > 0) * 2 ** 0.5\n")
    found = scan_path(package, ["relu_grad"])["relu_grad"]
    assert [(f.file, f.line, f.kind) for f in found] == [("impl.py", 2, "unreadable")]
    assert "KeyError in the check" in found[0].what


def test_a_package_too_large_in_all_is_refused_unread(tmp_path: Path) -> None:
    """Each file under the per-file cap, together over it: refused as a whole, and no file of
    it parsed (the check's time is bounded by the cap, not by what a student uploads)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("def relu_grad(x):\n    return x > 0\n")
    for i in range(3):
        (package / f"part{i}.py").write_bytes(b"# padding\n" * (100 << 10))
    (package / "broken.py").write_bytes(b"def (:\n")
    found = scan_path(package, ["relu_grad"])["relu_grad"]
    assert [(f.file, f.kind) for f in found] == [("pkg", "system")]
    assert "MiB of sources in all" in found[0].what


def test_a_finding_shows_the_students_text_escaped(tmp_path: Path) -> None:
    """File names are the student's: a name holding a terminal escape or a bidi override is
    shown escaped in the finding, never passed on to the instructor's terminal or report."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("def relu_grad(x):\n    return x > 0\n")
    (package / "\x1b[2J\u202eyp.py").write_text("X = 1\n")
    found = scan_path(package, ["relu_grad"])["relu_grad"]
    assert len(found) == 1 and found[0].kind == "system"
    assert "\x1b" not in str(found[0]) and "\u202e" not in str(found[0])
    assert found[0].file == "\\x1b[2J\\u202eyp.py"


def test_a_folder_chain_deeper_than_the_stack_is_refused_not_crashed(tmp_path: Path) -> None:
    """1,100 nested folders: the check reads at most MAX_PACKAGE_FILES entries without
    recursion and refuses the package, where a recursive glob overflowed the stack (an
    exception out of the check would stop a bulk run). The chain is built and removed
    one level at a time: pathlib and shutil recurse too."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("def relu_grad(x):\n    return x > 0\n")
    fd = os.open(package, os.O_RDONLY)
    for _ in range(1100):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    try:
        found = scan_path(package, ["relu_grad"])["relu_grad"]
    finally:
        while (package / "d").exists():
            if (package / "d" / "d").exists():
                os.rename(package / "d" / "d", package / "up")
            os.rmdir(package / "d")
            if (package / "up").exists():
                os.rename(package / "up", package / "d")
    assert [(f.file, f.kind) for f in found] == [("pkg", "system")]
    assert "more than 200 files" in found[0].what


def test_a_file_refused_by_path_is_not_read_whatever_its_name(tmp_path: Path) -> None:
    """A file over the size cap is refused by its path and never parsed, its name escaped or
    not (an oversized file that is not Python would otherwise add an "unreadable" finding)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("def relu_grad(x):\n    return x > 0\n")
    (package / "\x1bbig.py").write_bytes(b"def (:\n" + b"#" * (3 << 20))
    found = scan_path(package, ["relu_grad"])["relu_grad"]
    assert [f.kind for f in found] == ["system"] and "too large" in found[0].what


@pytest.mark.parametrize(
    "attack",
    [
        '__import__("reference.activations")',
        'eval("__imp" + "ort__")("os")',
        "np.zeros(1).ctypes",
        "_take(jax)",
        "(lambda: None).__globals__",
    ],
)
def test_what_the_check_cannot_follow_stays_refused_where_autodiff_is_allowed(attack: str, tmp_path: Path) -> None:
    """The grader's --allow-autodiff lifts the kinds autodiff and dynamic; dynamic access would
    then reach the system modules, files and the project's answers that stay refused. So each
    dynamic finding comes with a system one on the same line, which that flag does not lift."""
    source = (
        "import jax\nimport numpy as np\n\n\ndef _take(m):\n    return m\n\n\n"
        f"def relu_grad(x):\n    _ = {attack}\n    return x > 0\n"
    )
    (tmp_path / "submission.py").write_text(source)
    found = scan_path(tmp_path / "submission.py", ["relu_grad"])["relu_grad"]
    lifted = {"autodiff", "dynamic"}
    assert [f.kind for f in found if f.kind in lifted] != []
    assert [(f.line, f.kind) for f in found if f.kind not in lifted][:1] == [(10, "system")]
