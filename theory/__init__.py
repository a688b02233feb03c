"""Symbolic (sympy) step-size rules, modified equations, closed forms and bounds (issue 4: not built yet)."""
