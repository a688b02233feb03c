"""Paper figures and claims (issue 5: not built yet)."""
