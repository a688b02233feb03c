"""numba's on-disk cache for the package's composed kernels, keyed so that it is never stale.

The engines build one kernel per combination of components (a closure capturing the
landscape's, noise's, optimizer's ... compiled functions). Compiling one takes seconds; numba
can store the machine code on disk, but its stock cache is unsafe and useless for these
kernels:

* it re-validates an entry against the source file of the *outer* function only, so an edit in
  ``landscapes.py`` would leave a kernel from ``engine.py`` with the old landscape inlined;
* it keys closures by pickling the captured dispatchers, whose pickles hold a random per-process
  id, so a closure never hits the cache in a new process.

``cached_kernel`` fixes both: the cache directory is named by a hash of every source file of
``methods/``, ``sde/`` and ``theory/`` and of the numba version (any edit starts a fresh
directory), and a closure is keyed by what it captures: the module, qualified name and
bytecode of each captured compiled function (recursively) and the values of captured
constants. A kernel that captures anything else (a user's function, a function built by
``exec`` such as ``theory.landscape.from_sympy``'s, a notebook's) is simply compiled without
the cache, exactly as before; so is one that calls scipy's Cython special functions through
their addresses (the Student-t SignSGD drift), which numba cannot store.

The numba internals it needs live in ``methods._numba_compat`` (switched off there, the cache
is off). The directory is ``$SDE_WORKBENCH_NUMBA_CACHE`` if set (``0`` or ``off`` disables the cache),
else ``$XDG_CACHE_HOME/sde-workbench/numba/<hash>`` (``~/.cache/...``). numba writes entries
atomically (temporary file, then rename); an entry that cannot be read is recompiled.
"""
from __future__ import annotations

import hashlib
import inspect
import os
import warnings
from pathlib import Path

import numba
import numpy as np

from . import _numba_compat
from ._jit import ChunkKernel

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("methods", "sde", "theory")


def _package_hash() -> str:
    h = hashlib.sha256(numba.__version__.encode())
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).glob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


SOURCE_HASH = _package_hash()


def cache_dir() -> Path | None:
    """Where compiled kernels are stored, or ``None`` when the cache is switched off."""
    if not _numba_compat.ENABLED:
        return None
    env = os.environ.get("SDE_WORKBENCH_NUMBA_CACHE")
    if env is not None and env.strip().lower() in ("0", "off", "false", "no", ""):
        return None
    if env:
        return Path(env).expanduser() / SOURCE_HASH
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "sde-workbench" / "numba" / SOURCE_HASH


class _Uncacheable(Exception):
    pass


def _ours(py_func) -> bool:
    try:
        path = Path(inspect.getfile(py_func)).resolve()
    except (TypeError, OSError):
        return False
    return path.suffix == ".py" and any(path.parent == ROOT / pkg for pkg in PACKAGES)


def stable_key(obj):
    """A description of a captured value that is the same in every process, or ``_Uncacheable``."""
    if isinstance(obj, numba.core.registry.CPUDispatcher):
        return stable_key(obj.py_func)
    if inspect.isfunction(obj):
        if not _ours(obj):
            raise _Uncacheable(obj)
        cells = tuple(stable_key(c.cell_contents) for c in (obj.__closure__ or ()))
        return ("fn", obj.__module__, obj.__qualname__, hashlib.sha256(obj.__code__.co_code).hexdigest(), cells)
    if obj is None or isinstance(obj, (bool, int, float, str, np.integer, np.floating, np.bool_)):
        return (type(obj).__name__, repr(obj))
    if isinstance(obj, tuple):
        return ("tuple",) + tuple(stable_key(o) for o in obj)
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.shape, hashlib.sha256(np.ascontiguousarray(obj).tobytes()).hexdigest())
    raise _Uncacheable(obj)


def _make_cache_classes():
    caching = _numba_compat.caching_module()

    class Locator(caching._CacheLocator):
        def __init__(self, py_func, path):
            self._path = str(path)
            self._py_file = inspect.getfile(py_func)  # numba names it in its warnings
            self._lineno = py_func.__code__.co_firstlineno

        def get_cache_path(self):
            return self._path

        def get_source_stamp(self):
            return SOURCE_HASH

        def get_disambiguator(self):
            return str(self._lineno)

        @classmethod
        def from_function(cls, py_func, py_file):
            path = cache_dir()  # only reached through enable(), which checked the captures
            if path is None:
                return None
            self = cls(py_func, path)
            try:
                self.ensure_cache_path()
            except OSError:
                return None
            return self

    class Impl(caching.CompileResultCacheImpl):
        _locator_classes = [Locator]

        def check_cachable(self, cres):
            # kernels that call scipy's Cython functions hold their addresses (ctypes pointers,
            # valid in this process only): numba cannot store them; compile them each time,
            # without numba's warning
            return not (cres.library.has_dynamic_globals or any(not x.can_cache for x in cres.lifted))

    class PackageCache(caching.FunctionCache):
        _impl_class = Impl

        def __init__(self, py_func, key):
            self._stable = _digest(key)
            super().__init__(py_func)

        def _index_key(self, sig, codegen):
            return (sig, codegen.magic_tuple(), self._stable)

        def load_overload(self, sig, target_context):
            try:
                return super().load_overload(sig, target_context)
            except Exception as exc:  # a corrupt entry: start this kernel's index afresh, compile
                warnings.warn(f"sde-workbench: unreadable numba cache entry, recompiling ({exc!r})", RuntimeWarning)
                self._reset_index()
                return None

        def save_overload(self, sig, data):
            try:
                super().save_overload(sig, data)
            except Exception:
                if self._reset_index():
                    try:
                        super().save_overload(sig, data)
                    except Exception:
                        pass  # the kernel still runs; only the cache entry is lost

        def _reset_index(self):
            try:
                self._cache_file.flush()  # writes an empty index (atomically)
                return True
            except Exception:
                return False

    return PackageCache


_PackageCache = None


def _digest(key) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()


def enable(dispatcher, variant: str = "", key=None) -> bool:
    """Attach the package cache to ``dispatcher`` if everything it captures is the package's own
    (``variant`` tells apart dispatchers of one function compiled with different options; ``key``
    is ``stable_key(dispatcher.py_func)`` when the caller has it already)."""
    global _PackageCache
    if cache_dir() is None:
        return False
    try:
        key = (stable_key(dispatcher.py_func) if key is None else key, variant)
        if _PackageCache is None:
            _PackageCache = _make_cache_classes()
        _numba_compat.attach_cache(dispatcher, _PackageCache(dispatcher.py_func, key))
    except _Uncacheable:
        return False
    except Exception as exc:  # numba internals changed or the directory is unusable: no cache
        warnings.warn(f"sde-workbench: numba on-disk cache disabled ({exc!r})", RuntimeWarning)
        return False
    return True


def cached_kernel(fn):
    """``ChunkKernel(fn)`` (an engine's hot loop; both of its compiled forms) with the package's
    on-disk cache (see the module docstring). A kernel that needed NRT once leaves a marker
    file, so that later processes load its NRT build at once instead of first failing to
    compile the other (about 2 s)."""
    ck = ChunkKernel(fn)
    try:
        key = stable_key(fn)
    except _Uncacheable:
        return ck
    if enable(ck.fast, "no-nrt", key) and enable(ck.safe, "nrt", key):
        marker = cache_dir() / f"needs-nrt-{_digest(key)[:32]}"
        if marker.exists():
            ck.use_nrt()
        else:
            ck.on_fallback = lambda: _touch(marker)
    return ck


def _touch(path: Path):
    try:
        path.touch()  # an empty file: created at once or not at all
    except OSError:
        pass  # only the shortcut is lost
