"""SDE models of the optimizers in ``methods`` and their Euler-Maruyama integrator.

    from sde import model, integrate
    m = model(optimizer, landscape, noise, kind="corrected")
    run = integrate(m, x0=1.0, t_end=5.0, paths=4096, seed=0)   # a methods.Run, same time grid

Kinds by method (``sde.kinds(optimizer)`` lists them):

* SGD, DSGD, DCSGD: ``classic`` (default), ``second_order``, ``corrected``; single-agent SGD under
  alpha-stable noise also ``levy`` (alpha-stable driven Euler);
* SignSGD, DSignSGD: ``classic`` (default), ``corrected``, ``corrected_matched``, ``phase1``, ``phase2``, ``phase3``;
* RMSprop(W), Adam(W): ``classic`` (Compagnoni et al., t = k lr), ``malladi`` (t = k lr^2).
* SGDM, HeavyBall: ``classic`` (an (X, M) system, derived; ``sde.momentum``);
* ClippedSGD (d = 1), CoordinateClippedSGD (any d): ``classic`` (Gaussian or Student-t noise, derived;
  ``sde.clipped``).
"""
from __future__ import annotations

from methods import landscapes as _L
from methods import noise as _N
from methods import optimizers as _O

from . import sign as _sign  # noqa: F401  (registers the sign family before the SGD family)
from . import sgd as _sgd  # noqa: F401
from . import adaptive as _adaptive  # noqa: F401
from . import momentum as _momentum  # noqa: F401
from . import clipped as _clipped  # noqa: F401
from .base import SDEModel
from .compare import Comparison, compare
from .integrate import integrate
from .registry import Family, family_of, register

__all__ = ["model", "integrate", "kinds", "compare", "Comparison", "SDEModel", "register", "Family"]


def kinds(optimizer) -> list[str]:
    """The model kinds available for this optimizer (the first is the default)."""
    return list(family_of(optimizer).kinds)


def model(optimizer, landscape, noise=None, *, kind: str = "classic") -> SDEModel:
    """The SDE model of ``optimizer`` on ``landscape`` under gradient ``noise``.

    The family comes from the registry (``sde.registry``; ``sde.register`` adds one). Raises
    ``ValueError`` naming the argument when the method has no such kind or the noise law has no
    model (e.g. SGD-type models under infinite-variance noise).
    """
    if not isinstance(optimizer, _O.Optimizer):
        raise ValueError(f"optimizer must be a methods.optimizers object, got {optimizer!r}")
    if not isinstance(landscape, _L.Landscape):
        raise ValueError(f"landscape must be a methods.landscapes object, got {landscape!r}")
    noise = _N.resolve(noise)
    if isinstance(landscape, _L.PerAgent) and landscape.agents > 1:
        raise ValueError("landscape: no SDE model of agents with their own landscapes (landscapes.PerAgent) is "
                         "implemented; the discrete engine runs them")
    fam = family_of(optimizer)
    if not isinstance(kind, str) or kind not in fam.kinds:
        raise ValueError(f"kind must be one of {list(fam.kinds)} for {type(optimizer).__name__}"
                         f"{' with sign' if fam.name == 'sign' else ''}, got {kind!r}")
    return fam.build(landscape, optimizer, noise, kind)
