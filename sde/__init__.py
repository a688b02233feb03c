"""SDE models of the optimizers in ``methods`` and their Euler-Maruyama integrator (issue 3: not built yet)."""
