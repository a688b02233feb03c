"""SDE models of the optimizers in ``methods`` and their Euler-Maruyama integrator.

    from sde import model, integrate
    m = model(optimizer, landscape, noise, kind="corrected")
    run = integrate(m, x0=1.0, t_end=5.0, paths=4096, seed=0)   # a methods.Run, same time grid

Kinds by method (``sde.kinds(optimizer)`` lists them):
* SGD, DSGD, DCSGD: ``classic`` (default), ``second_order``, ``corrected``; single-agent SGD under
  alpha-stable noise also ``levy`` (alpha-stable driven Euler);
* SignSGD, DSignSGD: ``classic`` (default), ``corrected``, ``corrected_matched``, ``phase1``, ``phase2``, ``phase3``;
* RMSprop(W), Adam(W): ``classic`` (Compagnoni et al., t = k lr), ``malladi`` (t = k lr^2).
"""
from __future__ import annotations

from methods import compressors as _C
from methods import landscapes as _L
from methods import noise as _N
from methods import optimizers as _O

from . import adaptive as _adaptive
from . import sgd as _sgd
from . import sign as _sign
from .base import SDEModel
from .compare import Comparison, compare
from .integrate import integrate

__all__ = ["model", "integrate", "kinds", "compare", "Comparison", "SDEModel"]


def _family(optimizer):
    if type(optimizer) is _O.SGD:
        return _sign if isinstance(optimizer.compressor, _C.Sign) else _sgd
    if isinstance(optimizer, (_O.Adam, _O.RMSprop)):
        return _adaptive
    raise ValueError(f"optimizer {type(optimizer).__name__} has no SDE model here "
                     "(SGD, DSGD, DCSGD, SignSGD, DSignSGD, RMSprop(W) and Adam(W) do)")


def kinds(optimizer) -> list[str]:
    """The model kinds available for this optimizer."""
    return list(_family(optimizer).KINDS)


def model(optimizer, landscape, noise=None, *, kind: str = "classic") -> SDEModel:
    """The SDE model of ``optimizer`` on ``landscape`` under gradient ``noise``.

    Raises ``ValueError`` naming the argument when the method has no such kind or the noise
    law has no model (e.g. SGD-type models under infinite-variance noise).
    """
    if not isinstance(optimizer, _O.Optimizer):
        raise ValueError(f"optimizer must be a methods.optimizers object, got {optimizer!r}")
    if not isinstance(landscape, _L.Landscape):
        raise ValueError(f"landscape must be a methods.landscapes object, got {landscape!r}")
    noise = _N.resolve(noise)
    fam = _family(optimizer)
    if not isinstance(kind, str) or kind not in fam.KINDS:
        raise ValueError(f"kind must be one of {list(fam.KINDS)} for {type(optimizer).__name__}"
                         f"{' with sign' if fam is _sign else ''}, got {kind!r}")
    return fam.build(landscape, optimizer, noise, kind)
