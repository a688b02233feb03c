"""The one protocol every component follows: landscape, noise, compressor, schedule, server rule.

A component declares three things, and the engines need nothing else from it:

* ``kernels``: its compiled functions, a named tuple (``landscape.kernels.grad``,
  ``noise.kernels.sample``, ``compressor.kernels.compress``, ``schedule.kernels.factor``,
  ``optimizer.kernels.update``). Their signatures are fixed per kind (see each module);
* ``pack(shape)``: its parameters as one flat float64 vector for a problem of shape
  ``Shape(d, agents, steps)`` (validated here, in Python, before anything is compiled);
* ``state(shape)``: a ``State(size, per, init)``: ``size`` floats, one block per path
  (``per="path"``) or one per agent (``per="agent"``), set by the compiled ``init(state, p)``
  at the start of every path (``None``: zeros). The engine owns one flat per-path state buffer
  and hands every component its own slice of it (per agent: the agent's block).

Compiled code depends on a component only through ``key()``: its kernels (the compiled
functions themselves, never a class name, so two user classes with one name never share a
kernel, and a redefined function takes effect at once), its compile-time ``structure()``
flags, and the keys of the components it holds (``children()``: a compressor around a
compressor, a schedule around a schedule). Run-time parameters travel in ``pack`` and never
recompile.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from . import _checks


class Shape(NamedTuple):
    """The problem shape components pack for: dimension, agents, iterations of the run."""

    d: int
    agents: int = 1
    steps: int = 0


def shape_of(shape_or_d, agents=None, steps: int = 0) -> Shape:
    """``Shape`` from a ``Shape`` or from ``(d, agents, steps)`` (the older ``pack(d, agents)`` form)."""
    if isinstance(shape_or_d, Shape):
        if agents is not None:
            raise ValueError("agents: give a Shape or (d, agents), not both")
        return shape_or_d
    d = _checks.integer("d", shape_or_d, minimum=1)
    return Shape(d, 1 if agents is None else _checks.integer("agents", agents, minimum=1), int(steps))


@dataclass(frozen=True)
class State:
    """``size`` floats of state, one block per path or per agent, set by ``init(state, p)``."""

    size: int = 0
    per: str = "path"
    init: Callable | None = None  # compiled init(state_block, packed_params); None: zeros

    def __post_init__(self):
        _checks.integer("size", self.size)
        _checks.one_of("per", self.per, {"path", "agent"})

    def total(self, agents: int) -> int:
        """Floats this component takes of one path's state buffer."""
        return self.size * (agents if self.per == "agent" else 1)


NO_STATE = State()


def init_block(state: State, p: np.ndarray, blocks: int = 1) -> np.ndarray:
    """A fresh state buffer of ``blocks`` blocks of ``state``, each set by its ``init``
    (zeros without one): what ``Optimizer.step`` and ``sample`` use from Python."""
    out = np.zeros(state.size * blocks)
    if state.init is not None:
        for b in range(blocks):
            state.init(out[b * state.size:(b + 1) * state.size], p)
    return out


class Component:
    """Base of every component kind. Subclasses give ``kernels`` and usually ``pack``."""

    kernels: tuple  # a NamedTuple of compiled functions

    def pack(self, shape) -> np.ndarray:
        """The run-time parameters as one flat float64 vector, for ``shape = Shape(d, agents, steps)``.

        Validated here, in Python, before anything is compiled; the compiled kernels receive
        it as their ``p`` argument and never recompile when it changes. The base returns an
        empty vector (a component without parameters)."""
        return np.zeros(0)

    def state(self, shape) -> State:
        """The component's share of the per-path state buffer for ``shape``: a
        ``State(size, per, init)``. The base is stateless (``State()``: no floats)."""
        return NO_STATE

    def structure(self) -> tuple:
        """Compile-time flags besides the kernels (default none; a stateful component whose
        ``init`` is not among its ``kernels`` names it here, with its ``per``)."""
        return ()

    def children(self) -> tuple:
        """Components this one holds (wrappers); their keys compose into this one's."""
        return ()

    def key(self) -> tuple:
        """What compiled code built from this component depends on (see the module docstring)."""
        return (tuple(self.kernels), self.structure(), tuple(c.key() for c in self.children()))

    def kernel_key(self):  # the name the engines used before the protocol
        """``key()`` under the name the engines used before the component protocol."""
        return self.key()


# ------------------------------------------------ what every Custom component checks
def check_user_kernels(owner, required: dict, optional: dict = None) -> None:
    """Refuse, by name, anything in ``required`` (name -> value) that is not a numba ``@njit``
    function, and anything in ``optional`` that is neither ``None`` nor one (before compiling)."""
    for name, fn in {**required, **(optional or {})}.items():
        if fn is None and name not in required:
            continue
        if not hasattr(fn, "py_func"):
            extra = " or None" if name not in required else ""
            raise ValueError(f"{name} must be a numba @njit function{extra}, got {fn!r}")


def store_user_params(owner, name: str = "params") -> None:
    """Store ``owner.<name>`` as a tuple of Python floats (finite; validated by name)."""
    object.__setattr__(owner, name, tuple(float(v) for v in _checks.finite_array(name, getattr(owner, name)).ravel()))


def check_state_size(name: str, size) -> None:
    """A state size is an integer >= 0 or a callable of ``d`` (checked when called)."""
    if not callable(size):
        _checks.integer(name, size)
