"""Paper figures, verified claims and the ``sde-workbench`` command line.

Each figure is a module with ``NAME``, ``TITLE``, ``settings(quick)``, ``compute(settings)``
(returns arrays; cached by ``figures.cache``), ``plot(data, settings)`` and ``caption(settings)``.
``FIGURES`` lists them in order.
"""
from importlib import import_module

_ORDER = ["fig_stability", "fig_heavy_tails", "fig_sde_vs_discrete", "fig_sign_phases", "fig_floor_vs_sigma",
          "fig_agents", "fig_scaling_rules", "fig_weak_error", "fig_adamw_weight_decay", "fig_momentum_clipping", "fig_client_drift",
          "fig_error_feedback", "fig_clip_heavy_tails", "fig_noise_tail_index",
          "fig_dcsgd_normalisation", "fig_sign_heavy_tails", "fig_corrected_noise",
          "fig_compensation", "fig_dcsgd_moments", "fig_adaptive_tracking", "fig_adaptive_rules", "fig_sign_bounds", "fig_svag", "fig_mlp_digits"]


def _load():
    out = {}
    for name in _ORDER:
        mod = import_module(f"figures.{name}")
        out[mod.NAME] = mod
    return out


FIGURES = _load()
