"""Result cache for figures and claims, keyed by name, settings and code version.

Entries are ``.npz`` files under ``SDE_WORKBENCH_CACHE`` (default ``.cache/`` in the working
directory), written atomically (temporary file, then ``os.replace``); an entry that fails to
load is recomputed and rewritten. The code version hashes the source of ``methods``, ``sde``,
``theory`` and the module that computes the entry, so any code change invalidates it.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
from pathlib import Path

import numpy as np

_PKGS = ("methods", "sde", "theory")


def cache_dir() -> Path:
    """Where figure data are cached: ``$SDE_WORKBENCH_CACHE/sde-workbench`` (default ``.cache``)."""
    return Path(os.environ.get("SDE_WORKBENCH_CACHE", ".cache")) / "sde-workbench"


def code_version(module) -> str:
    """A hash of the ``methods``, ``sde`` and ``theory`` sources and of the figure module's own."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for pkg in _PKGS:
        for f in sorted((root / pkg).glob("*.py")):
            h.update(f.read_bytes())
    h.update(inspect.getsource(module).encode())
    return h.hexdigest()[:16]


def key_for(name: str, settings: dict, module) -> str:
    """The cache key of a figure: its name, its settings and ``code_version``."""
    blob = json.dumps({"name": name, "settings": settings, "code": code_version(module)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def cached(name: str, settings: dict, module, compute):
    """``compute(settings) -> dict of arrays``, from the cache when the key matches."""
    path = cache_dir() / f"{name}-{key_for(name, settings, module)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}, True
        except Exception:  # corrupt or partial entry: recompute
            pass
    data = compute(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in data.items()})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return data, False
