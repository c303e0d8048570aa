"""The allowlist check against its corpus (tests/corpus/hostile_static.py): every hostile
submission is refused on its marked line with its rule and only where it should be; every
correct but unusual one passes; and the allowlist reaches no module it does not list."""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest

from handgrad.scan import ALLOWED, VALUE_NAMESPACES, AllExcept, Finding, scan_path
from reference.catalog import NAMES
from tests.corpus.hostile_static import BOTH, CLEAN, HOSTILE, Hostile, Submission


def test_corpus_is_large_and_distinct() -> None:
    assert len(HOSTILE) >= 15 and len(CLEAN) >= 8
    assert len({s.id for s in (*HOSTILE, *CLEAN)}) == len(HOSTILE) + len(CLEAN)


def assert_refused_on_its_line(hostile: Hostile, tmp_path: Path) -> None:
    """Refused for exactly the functions it names, on the line marked `# <-`, with its rule."""
    found = scan_path(hostile.write(tmp_path), BOTH)
    for name in BOTH:
        assert bool(found[name]) == (name in hostile.refused), (name, [str(f) for f in found[name]])
    file, line = hostile.marked()
    there = [f for f in found[hostile.refused[0]] if (f.file, f.line) == (file, line)]
    assert any(f.kind == hostile.kind and hostile.rule in f.what for f in there), [
        str(f) for f in found[hostile.refused[0]]
    ]


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda s: s.id)
def test_hostile_submission_is_refused_on_its_line_with_its_rule(hostile: Hostile, tmp_path: Path) -> None:
    assert_refused_on_its_line(hostile, tmp_path)


@pytest.mark.parametrize("clean", CLEAN, ids=lambda s: s.id)
def test_unusual_correct_submission_passes(clean: Submission, tmp_path: Path) -> None:
    path = clean.write(tmp_path)
    found = scan_path(path, NAMES)
    assert {name: [str(f) for f in fs] for name, fs in found.items() if fs} == {}
    # The check saw the functions it let through (not an empty or unread file).
    defined = [n for n in NAMES if any(f"def {n}(" in clean.text(file) for file in clean.files)]
    assert defined


def _namespace(dotted: str) -> object:
    try:
        return importlib.import_module(dotted)
    except ImportError:
        parent, _, attr = dotted.rpartition(".")
        return getattr(_namespace(parent), attr)


@pytest.mark.parametrize("entry", sorted(ALLOWED), ids=str)
def test_allowlist_reaches_only_the_modules_it_lists(entry: str) -> None:
    """An allowed name that is itself a module would let a formula pass that module around
    as a value and reach anything in it; so every module reachable is an entry of its own."""
    namespace = _namespace(entry)
    allowed = ALLOWED[entry]
    candidates = [n for n in dir(namespace) if n in allowed] if isinstance(allowed, AllExcept) else sorted(allowed)
    modules = [n for n in candidates if isinstance(getattr(namespace, n, None), types.ModuleType)]
    assert [n for n in modules if f"{entry}.{n}" not in ALLOWED] == []
    if not isinstance(namespace, types.ModuleType):
        assert entry in VALUE_NAMESPACES or entry == "jax.config"


def test_everything_jax_numpy_allows_is_real_arithmetic() -> None:
    import jax.numpy as jnp

    allowed = [n for n in dir(jnp) if n in ALLOWED["jax.numpy"]]
    assert "exp" in allowed and "linalg" in allowed
    makers = [n for n in allowed if not n.startswith("is") and ("complex" in n or n in ("imag", "real", "fft"))]
    assert makers == [] and "load" not in allowed and "save" not in allowed


def test_a_finding_reads_as_file_line_and_rule() -> None:
    finding = Finding(12, "`getattr` with a computed name", "dynamic", "impl.py")
    assert str(finding) == "impl.py:12: `getattr` with a computed name"


def test_the_policy_page_names_every_allowed_module() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "allowlist.md").read_text()
    assert [m for m in ALLOWED if f"`{m}`" not in page and m not in VALUE_NAMESPACES] == []


def test_every_refusal_has_a_kind_the_grader_acts_on(tmp_path: Path) -> None:
    """The grader refuses a function for kinds autodiff/dynamic (as autodiff) and
    system/project (as forbidden); unreadable files fail at import. A new kind would be
    silently ignored there."""
    kinds: set[str] = set()
    for i, hostile in enumerate(HOSTILE):
        found = scan_path(hostile.write(tmp_path / str(i)), BOTH)
        kinds |= {f.kind for fs in found.values() for f in fs}
    assert kinds == {"autodiff", "dynamic", "system", "project", "unreadable"}


def test_no_allowlisted_function_carries_a_backward_rule() -> None:
    """`.jvp` is refused on every value (jax.nn.relu is a custom_jvp and carries its rule);
    `.fwd`/`.bwd` are not, so that a student's own layer methods pass. That holds only while
    no allowlisted name is (or wraps) a custom_vjp, whose `.bwd` is its derivative."""
    import jax

    reachable = []
    for entry, allowed in ALLOWED.items():
        namespace = _namespace(entry)
        names_ = [n for n in dir(namespace) if n in allowed] if isinstance(allowed, AllExcept) else sorted(allowed)
        for name in names_:
            obj = getattr(namespace, name, None)
            for inner in (
                obj,
                getattr(obj, "fun", None),
                getattr(obj, "_fun", None),
                getattr(obj, "__wrapped__", None),
            ):
                if isinstance(inner, jax.custom_vjp):
                    reachable.append(f"{entry}.{name}")
    assert reachable == []
