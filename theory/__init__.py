"""Theory the simulations are held to, derived with sympy (imports methods and sde, never the reverse).

* ``theory.modified``: modified equations by generator matching (the +1/2 of the (L0,L1) paper,
  Li-Tai-E's -1/2);
* ``theory.stability``: step-size stability regions of GD and of each SDE model, the DCSGD ceiling;
* ``theory.scaling``: symbolic invariance of SDE models under scaling rules;
* ``theory.closed_forms``: stationary laws and PL bounds on quadratics;
* ``theory.landscape``: landscapes from sympy expressions, (L0,L1) constants;
* ``theory.l0l1``: the (L0,L1) paper's closed forms (arXiv 2506.00181): exact parabola moments of
  DCSGD and of its SDE models (corrected = discrete stationary variance), exact weak errors, the
  Theorem-4.3 DSignSGD ceiling with candidate constants;
* ``theory.compression``: DCSGD's exact second moments on quadratics (transients, step ceilings, rates,
  schedules, heavy-tailed floors) and DSignSGD's drift bound (arXiv 2502.17009, derived);
* ``theory.adaptive``: SME weak errors, Malladi et al.'s stationary laws, the Lemma 3.13 batch rule,
  sign covariances and phase bounds (arXiv 2411.15958 and its background).
"""
from . import adaptive, closed_forms, compression, l0l1, landscape, modified, scaling, stability

__all__ = ["adaptive", "closed_forms", "compression", "l0l1", "landscape", "modified", "scaling", "stability"]
