"""Theory the simulations are held to, derived with sympy (imports methods and sde, never the reverse).

* ``theory.modified``: modified equations by generator matching (the +1/2 of the (L0,L1) paper,
  Li-Tai-E's -1/2);
* ``theory.stability``: step-size stability regions of GD and of each SDE model, the DCSGD ceiling;
* ``theory.scaling``: symbolic invariance of SDE models under scaling rules;
* ``theory.closed_forms``: stationary laws and PL bounds on quadratics;
* ``theory.landscape``: landscapes from sympy expressions, (L0,L1) constants.
"""
from . import closed_forms, landscape, modified, scaling, stability

__all__ = ["closed_forms", "landscape", "modified", "scaling", "stability"]
