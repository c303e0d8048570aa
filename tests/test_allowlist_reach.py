"""The reach test of the allowlist (handgrad/allowlist.py): from every module member a formula
may name and from every kind of value it computes with, follow every attribute the allowlist
lets it read on a value (VALUE_ATTRIBUTES), three steps deep, and show that what comes back is
of a kind known to be harmless: arrays, dtypes, numbers, strings, containers of them, and the
methods of these. A library object reached any other way (a compiled function's `lower`, a
partial's `func`, a module, a frame) fails the test with the path that reached it, so an
attribute name cannot join the list without this walk agreeing."""

from __future__ import annotations

import collections
import functools
import importlib
import sys
import types
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax._src.layout import Format
from jax._src.random.prng import KeyTy

from handgrad.allowlist import (
    ALLOWED,
    ALLOWED_BUILTINS,
    VALUE_ATTRIBUTES,
    VALUE_ATTRIBUTES_REFUSED,
    VALUE_NAMESPACES,
    AllExcept,
)

DEPTH = 3

SAFE_TYPES: tuple[type, ...] = (
    type(None),
    bool,
    int,
    float,
    str,
    bytes,
    tuple,
    list,
    dict,
    set,
    frozenset,
    np.ndarray,
    np.generic,
    np.dtype,
    np.finfo,
    np.iinfo,
    jax.Array,
    jax.core.Tracer,
    type(jnp.ones(1).at),
    type(jnp.ones(1).at[0]),
    np.random.Generator,
    np.random.RandomState,
    np.ufunc,
    jnp.ufunc,
    BaseException,
    Format,
    KeyTy,
)
"""Values a formula computes with (jax.Array covers a typed PRNG key array; a ufunc's methods
compute, as the ufunc does). Reviewed data objects reached from them: an array's `format` (its
layout: the table lists `format` for str.format) and a typed key's dtype."""

DESCRIPTORS = (
    property,
    functools.cached_property,
    types.MemberDescriptorType,
    types.GetSetDescriptorType,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.ClassMethodDescriptorType,
)
"""What a class hands back for its own attributes (`np.finfo.tiny`, `jax.ShapeDtypeStruct.shape`):
a descriptor, which the formula can call or read with an object of that class only. (A cached
property's writable `attrname` is not in the table, and stores are refused.)"""

UNBOUND_METHOD_MODULES = frozenset({"collections.abc", "_collections_abc", "jax._src.numpy.array_methods"})
"""Plain functions reached from a class (`typing.Mapping.get`, `jax.Array.sum`): the methods its
instances have, taking the instance as first argument."""


def _safe_owner(obj: object) -> bool:
    return isinstance(obj, SAFE_TYPES) or (isinstance(obj, type) and issubclass(obj, (np.generic, *SAFE_TYPES)))


def _harmless(value: object, parent: object = None) -> bool:
    """A value of a kind known to be harmless, a method bound to one, or a method of one of
    their classes (which needs an instance to run on)."""
    if _safe_owner(value) or isinstance(value, DESCRIPTORS):
        return True
    if isinstance(parent, type) and _safe_owner(parent) and callable(value):
        return True
    owner = getattr(value, "__self__", None)
    if callable(value) and owner is not None:
        return _safe_owner(owner)
    if isinstance(value, types.FunctionType):
        return value.__module__ in UNBOUND_METHOD_MODULES
    return False


def _member(module: str, name: str) -> object:
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        parent, _, attr = module.rpartition(".")
        return getattr(getattr(importlib.import_module(parent), attr), name)


def _roots() -> Iterator[tuple[str, object]]:
    """Every allowlisted member, and a value of every kind a formula computes with."""
    for module, members in ALLOWED.items():
        if isinstance(members, AllExcept):
            namespace = importlib.import_module(module)
            listed = [n for n in dir(namespace) if n in members]
        else:
            listed = sorted(members)
        for name in listed:
            if f"{module}.{name}" in ALLOWED and f"{module}.{name}" not in VALUE_NAMESPACES:
                continue  # a module (or jax.config): never a value, its members are walked as listed
            try:
                yield f"{module}.{name}", _member(module, name)
            except (AttributeError, ImportError):
                continue  # listed for an older or newer version of the library
    x = jnp.arange(3.0)
    point = collections.namedtuple("Point", "a b")(1.0, 2.0)
    yield from {
        "a jax array": x,
        "a float32 array": x.astype(jnp.float32),
        "an x.at helper": x.at,
        "an x.at[i] helper": x.at[0],
        "a numpy array": np.arange(3.0),
        "a numpy scalar": np.float32(1.0),
        "a dtype": x.dtype,
        "finfo": jnp.finfo(jnp.float32),
        "iinfo": jnp.iinfo(jnp.int32),
        "a PRNG key": jax.random.key(0),
        "a raw PRNG key": jax.random.PRNGKey(0),
        "a numpy Generator": np.random.default_rng(0),
        "a string": "text",
        "a list": [x],
        "a dict": {"W1": x},
        "an exception": ValueError("x"),
        "a namedtuple": point,
        "a partial": functools.partial(jax.nn.relu),
        "a jitted function": jax.jit(jnp.sin),
        "a vmapped function": jax.vmap(jnp.sin),
        "a lambda": lambda v: v,
        "a traced array": _traced(),
        "an SVD result": jnp.linalg.svd(jnp.eye(2)),
        "a pytree structure": jax.tree_util.tree_structure({"a": 1.0}),
        "a jax Partial": jax.tree_util.Partial(jnp.add, 1.0),
        "a ShapeDtypeStruct": jax.ShapeDtypeStruct((2,), jnp.float32),
        "an eval_shape result": jax.eval_shape(jnp.sin, x),
        "a Precision": jax.lax.Precision.HIGHEST,
        "numpy errstate": np.errstate(all="ignore"),
        "an iterator": iter([x]),
        "a map object": map(jnp.sin, [x]),
    }.items()


def _traced() -> object:
    """An array as a formula sees it under jit (a tracer), kept after its trace (its attributes
    are still there to read)."""
    kept: list[object] = []

    def keep(v: jax.Array) -> jax.Array:
        kept.append(v)
        return v

    jax.jit(keep)(jnp.ones(2))
    return kept[0]


def _reach() -> list[str]:
    """Paths from a root, through listed attributes, to a value not known to be harmless."""
    bad: list[str] = []
    seen: set[int] = set()
    frontier = list(_roots())
    for _ in range(DEPTH):
        following: list[tuple[str, object]] = []
        for path, obj in frontier:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            for attr in sorted(VALUE_ATTRIBUTES):
                try:
                    value = getattr(obj, attr)
                except Exception:
                    continue
                where = f"{path}.{attr}"
                if not _harmless(value, obj):
                    bad.append(f"{where}: {type(value).__module__}.{type(value).__qualname__}")
                    continue
                following.append((where, value))
        frontier = following
    return bad


def test_listed_attributes_reach_only_harmless_values() -> None:
    bad = _reach()
    assert bad == [], "\n".join(bad[:60])


def test_the_walk_would_see_a_library_object() -> None:
    """The walk fails on what it must: the attributes the list leaves out reach library objects."""
    assert not _harmless(jax.jit(jnp.sin).lower)
    assert not _harmless(functools.partial(jax.nn.relu, 1.0).func)
    assert not _harmless(jax.nn.relu)
    assert not _harmless(np)
    assert _harmless(jnp.ones(2).sum)


@pytest.mark.parametrize("name", ["real", "imag", "conj", "device", "devices", "sharding", "aval", "trace", "func"])
def test_attributes_that_reach_past_the_array_are_not_listed(name: str) -> None:
    assert name not in VALUE_ATTRIBUTES


def test_refused_attributes_are_disjoint_from_listed() -> None:
    assert not VALUE_ATTRIBUTES & VALUE_ATTRIBUTES_REFUSED.keys()
    assert not {n for n in VALUE_ATTRIBUTES if n.startswith("__")}


def test_reflecting_machinery_is_not_listed() -> None:
    """Library code that generates code or copies attributes by name on a formula's behalf."""
    assert "dataclasses" not in ALLOWED
    for module, name in [("functools", "wraps"), ("functools", "cached_property"), ("functools", "total_ordering")]:
        assert name not in ALLOWED[module]
    assert "register_dataclass" not in ALLOWED["jax.tree_util"]
    assert not {"eval", "exec", "compile", "setattr", "delattr", "vars", "__import__", "globals"} & ALLOWED_BUILTINS


@pytest.mark.parametrize("name", ["lower", "func", "fun", "update", "device"])
def test_the_walk_refuses_a_dangerous_name_added_to_the_table(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of these names reaches a library object from some root: listing it would fail the walk."""
    monkeypatch.setattr(sys.modules[__name__], "VALUE_ATTRIBUTES", VALUE_ATTRIBUTES | {name})
    assert any(f".{name}: " in path for path in _reach())
