"""The claim type and the helpers every claims module shares.

A ``Claim`` names the paper it comes from (arXiv id), where in that paper (section, theorem or
equation as recovered, or "derived here"), states the claim, says whether it is recovered (from
the paper), derived (here or by whoever wrote the model down) or unsure, and measures it on data
computed by the figure modules (shared cache), with a tolerance taken from Monte Carlo standard
errors. Predictions come from ``theory``.

``measure(quick)`` returns a dict with ``passed`` (bool), ``predicted``, ``measured``, ``summary``
(strings), and optionally ``criterion`` (the rule that decides ``passed``), ``value`` and ``se``
(the headline measured number and its standard error, for the JSON report).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

Z = 4.0  # standard errors allowed on a single comparison

PAPERS = {"l0l1": "2506.00181", "compression": "2502.17009", "adaptive": "2411.15958"}
# claims about the neighbouring methods of this research line (momentum, clipping, ...), whose papers
# this workbench does not follow formula by formula: ``paper`` starts with this phrase
NEIGHBOURING = "neighbouring work"


def is_known_paper(paper: str) -> bool:
    """Each comma-separated part is one of the three papers' arXiv ids, or the claim is about
    neighbouring work (``NEIGHBOURING ...``)."""
    if paper.startswith(NEIGHBOURING):
        return True
    return all(p.strip() in PAPERS.values() for p in paper.split(","))
STATUSES = ("recovered", "derived", "unsure")


def data(name, quick):
    """The cached computation of figure ``name`` and its settings."""
    from . import FIGURES
    from .cache import cached

    mod = FIGURES[name]
    s = mod.settings(quick)
    return cached(name, s, mod, mod.compute)[0], s


def slope(x, m, se):
    """Weighted least-squares slope of log m against log x, with its standard error."""
    X = np.stack([np.ones_like(x), np.log(x)], 1)
    w = (m / se) ** 2
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * np.log(m))
    resid = np.log(m) - X @ beta
    scale = max(1.0, float(np.sum(w * resid**2) / max(len(x) - 2, 1)))
    return float(beta[1]), float(math.sqrt(cov[1, 1] * scale))


@dataclass(frozen=True)
class Claim:
    """One checkable statement of a paper, with where it comes from and how it is measured.

    ``id`` names it in the report; ``paper`` is the arXiv id (several, comma separated, for a
    claim that joins papers) and ``where`` the paper's own section, theorem or equation, or
    "derived here"; ``statement`` is the claim in words; ``status`` is ``recovered``,
    ``derived`` or ``unsure``; ``how`` says what is simulated and which statistic is compared
    (it names the figure whose cached computation it reads); ``measure(quick)`` computes the
    verdict (the module docstring lists its keys), with a tolerance of ``Z = 4`` Monte Carlo
    standard errors unless its ``criterion`` says otherwise.
    """

    id: str
    paper: str             # arXiv id, e.g. "2506.00181" (several: "2411.15958, 2502.17009")
    where: str             # the paper's own section / theorem / equation, or "derived here"
    statement: str
    status: str            # recovered | derived | unsure
    how: str               # what is simulated and which statistic
    measure: Callable      # quick -> dict(passed, measured, predicted, summary[, criterion, value, se])

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"Claim {self.id}: status must be one of {STATUSES}, got {self.status!r}")

    @property
    def source(self) -> str:
        """``"arXiv <paper>, <where>"``, the citation the report prints (``"<paper>, <where>"`` for
        neighbouring work, which has no single arXiv id here)."""
        if self.paper.startswith(NEIGHBOURING):
            return f"{self.paper}, {self.where}"
        return f"arXiv {self.paper}, {self.where}"

    def evaluate(self, quick: bool) -> dict:
        """``measure(quick)``: the result dict (``passed``, ``predicted``, ``measured``,
        ``summary``, optionally ``criterion``, ``value``, ``se``); ``quick`` selects the
        figures' quick settings."""
        return self.measure(quick)

    def record(self, result: dict) -> dict:
        """One JSON record: id, paper, where, status, verdict, predicted, measured (+ se), criterion."""
        return {"id": self.id, "paper": self.paper, "where": self.where, "status": self.status,
                "statement": self.statement, "verdict": "pass" if result["passed"] else "fail",
                "predicted": result["predicted"], "measured": result["measured"],
                "value": result.get("value"), "se": result.get("se"),
                "criterion": result.get("criterion", result["predicted"])}
