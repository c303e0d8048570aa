"""The contract's keyword parameters in a call: passed by name, or by position.

A caller may write `huber(a, y, 0.5)` or `huber(a, y, delta=0.5)` (reference/names.KEYWORDS).
The checks of some families pass delta by name and the others by position
(`Family.by_position`), so a function that does not take delta both ways gets a wrong value
or an error in some checks, however it is bound: the source scan (handgrad/interface.py)
reads only a `def`, while `huber_grad = _huber_grad` with `_huber_grad(a, y, scale=1.0,
delta=1.0)` passed every check by name (a red team, 2026-12-07).

An evaluator's call carries its keywords in one dict, as it always has: a key POSITION + n
("@2") is the argument at position n, counted among all of them (the arrays come first);
any other key is passed by name. The truth, the messages and the hints use the names
(`named`); only the function under test is called by position (`bind`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from reference.names import KEYWORDS

POSITION = "@"


def call_keywords(name: str, kwargs: Mapping[str, Any], by_position: bool) -> dict[str, Any]:
    """The keywords of a call of contract function `name`: as named, or with the contract's
    keyword moved to its position where `by_position`."""
    if not by_position or name not in KEYWORDS:
        return dict(kwargs)
    keyword, position, _ = KEYWORDS[name]
    return {f"{POSITION}{position}" if k == keyword else k: v for k, v in kwargs.items()}


def named(name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """call_keywords undone: every keyword under its name."""
    keyword = KEYWORDS.get(name)
    if keyword is None:
        return dict(kwargs)
    return {keyword[0] if k == f"{POSITION}{keyword[1]}" else k: v for k, v in kwargs.items()}


def _split(kwargs: Mapping[str, Any]) -> tuple[list[tuple[int, Any]], dict[str, Any]]:
    """(position, value) of the keywords passed by position, in position order; the others by name."""
    at = sorted((int(k[len(POSITION) :]), v) for k, v in kwargs.items() if k.startswith(POSITION))
    return at, {k: v for k, v in kwargs.items() if not k.startswith(POSITION)}


def bind(fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> Callable[..., Any]:
    """fn with the call's keywords bound: a function of the arrays alone."""
    at, by_name = _split(kwargs)
    if not at:
        return functools.partial(fn, **by_name) if by_name else fn

    def bound(*arrays: Any) -> Any:
        args = list(arrays)
        for position, value in at:
            args.insert(position, value)
        return fn(*args, **by_name)

    return bound


def shown(kwargs: Mapping[str, Any]) -> list[str]:
    """The keywords as a call writes them, in position order first: ["0.5"], ["delta=0.5"]."""
    at, by_name = _split(kwargs)
    return [repr(v) for _, v in at] + [f"{k}={v!r}" for k, v in by_name.items()]
