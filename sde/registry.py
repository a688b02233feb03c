"""Which SDE models a discrete method has: a registry from optimizers to model builders.

Each entry is a ``Family``: a name, the ``kinds`` it offers (the first is the default), a
``build(landscape, optimizer, noise, kind) -> SDEModel`` and a predicate ``matches(optimizer)``.
``sde.model`` takes the first family whose predicate holds, so a new method and its SDE live in
two files: the optimizer in ``methods/``, and a module in ``sde/`` that calls ``register``
(``sde.register`` from a notebook works the same way).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Family:
    """One registered SDE family: ``name``, the ``kinds`` it offers (the first is the default),
    ``build(landscape, optimizer, noise, kind) -> SDEModel`` and ``matches(optimizer) -> bool``."""

    name: str
    kinds: tuple
    build: Callable
    matches: Callable


_FAMILIES: list[Family] = []


def register(name: str, *, kinds, build: Callable, matches: Callable, first: bool = False) -> Family:
    """Add (or replace, by ``name``) the SDE family ``name``. ``first=True`` puts it before the
    others (a more specific method that would otherwise match a broader family)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    kinds = tuple(kinds)
    if not kinds or not all(isinstance(k, str) for k in kinds):
        raise ValueError(f"kinds must be a non-empty sequence of names, got {kinds!r}")
    if not callable(build) or not callable(matches):
        raise ValueError("build and matches must be callables")
    fam = Family(name, kinds, build, matches)
    for i, f in enumerate(_FAMILIES):
        if f.name == name:
            _FAMILIES[i] = fam
            return fam
    if first:
        _FAMILIES.insert(0, fam)
    else:
        _FAMILIES.append(fam)
    return fam


def family_of(optimizer) -> Family:
    """The registered family that models ``optimizer``, or a ``ValueError`` naming it."""
    for f in _FAMILIES:
        if f.matches(optimizer):
            return f
    have = ", ".join(f.name for f in _FAMILIES)
    raise ValueError(f"optimizer {type(optimizer).__name__} has no SDE model here (registered families: {have}; "
                     "SGD, DSGD, DCSGD, SignSGD, DSignSGD, RMSprop(W), Adam(W), SGDM, HeavyBall and ClippedSGD have one, "
                     "but not with a compressor that keeps per-agent memory, such as ErrorFeedback or EF21)")


def families() -> list[Family]:
    """The registered families in the order ``sde.model`` tries them (a copy)."""
    return list(_FAMILIES)
