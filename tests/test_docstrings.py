"""Every public class, function and method of the four packages has a docstring.

The API pages (``make docs``, ``docs/_ext/workbench_ref.py``: autodoc + numpydoc) render the
docstrings of what each public module defines; a name without one shows as a bare signature.
The rule checked here:

* **Modules**: ``methods``, ``sde``, ``theory``, ``figures`` and their submodules found with
  ``pkgutil``; modules whose name starts with ``_`` are private and skipped. Each needs a
  module docstring (the head of its API page).
* **Names**: a module's public names (not starting with ``_``) that the module itself defines
  (``__module__`` is the module; a numba dispatcher: its ``py_func``'s module). Re-exports are
  checked where they are defined. Constants and other instances are not checked.
* **Functions** (plain, or numba ``@njit`` dispatchers, whose docstring is ``py_func.__doc__``)
  need a non-empty docstring of their own.
* **Classes** need a docstring of their own (a class's ``__doc__`` is never inherited). The
  signature line that ``dataclasses`` or ``typing.NamedTuple`` write when there is none
  (``Run(t, step, ...)``) counts as missing.
* **Methods**: the public names in the class's own ``__dict__`` that are functions, numba
  dispatchers, ``staticmethod``/``classmethod`` wrappers of either, or properties (their
  getter). Only what the class body defines is checked (``__qualname__`` inside the class), so
  dataclass-generated dunders, NamedTuple field accessors, attributes of numba dispatchers and
  whatever is inherited from numpy, ``dataclasses`` or ``typing`` are out of scope. A method
  without a docstring of its own passes when a base class *of the package* (its ``__module__``
  under one of the four packages) defines the same name with a docstring: autodoc renders that
  inherited docstring on the override's entry (``autodoc_inherit_docstrings``, on by default),
  and one statement of a kind's contract (``Noise.pack``, ``Compressor.pack``) is documented
  once in the base. A docstring inherited from outside the package does not count.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

PACKAGES = ("methods", "sde", "theory", "figures")


def _modules():
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        yield mod
        for info in sorted(pkgutil.iter_modules(mod.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                yield importlib.import_module(f"{pkg}.{info.name}")


def _is_dispatcher(obj) -> bool:
    return hasattr(obj, "py_func") and inspect.isfunction(getattr(obj, "py_func", None))


def _function_of(obj):
    """The Python function behind ``obj`` (function, dispatcher, static/class method,
    property getter), or ``None`` when ``obj`` is not one of those."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    if _is_dispatcher(obj):
        obj = obj.py_func
    return obj if inspect.isfunction(obj) else None


def _in_package(module_name) -> bool:
    return isinstance(module_name, str) and module_name.split(".")[0] in PACKAGES


def _own_doc(obj) -> str:
    return (getattr(obj, "__doc__", None) or "").strip()


def _generated_class_doc(cls, doc: str) -> bool:
    """The one-line signature ``dataclasses``/``NamedTuple`` write for a class without one."""
    structured = dataclasses.is_dataclass(cls) or (issubclass(cls, tuple) and hasattr(cls, "_fields"))
    return structured and "\n" not in doc and doc.startswith(f"{cls.__name__}(") and doc.endswith(")")


def _documented_in_base(cls, name: str) -> bool:
    for base in cls.__mro__[1:]:
        if not _in_package(getattr(base, "__module__", None)) or name not in vars(base):
            continue
        f = _function_of(vars(base)[name])
        if f is not None and _own_doc(f):
            return True
    return False


def _missing_in_class(qual: str, cls) -> list[str]:
    out = []
    doc = _own_doc(cls)
    if not doc or _generated_class_doc(cls, doc):
        out.append(qual)
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        f = _function_of(member)
        if f is None or not f.__qualname__.startswith(cls.__qualname__ + "."):
            continue  # not a method, or a function defined elsewhere (checked there)
        if not _own_doc(f) and not _documented_in_base(cls, name):
            out.append(f"{qual}.{name}")
    return out


def missing_docstrings() -> list[str]:
    """Dotted names of the public classes, functions and methods without a docstring."""
    missing = []
    for mod in _modules():
        if not _own_doc(mod):
            missing.append(mod.__name__)
        for name, obj in vars(mod).items():
            if name.startswith("_"):
                continue
            qual = f"{mod.__name__}.{name}"
            if inspect.isclass(obj):
                if obj.__module__ == mod.__name__:
                    missing += _missing_in_class(qual, obj)
                continue
            f = _function_of(obj)
            if f is not None and f.__module__ == mod.__name__ and not _own_doc(f):
                missing.append(qual)
    return missing


def test_every_public_name_has_a_docstring():
    missing = missing_docstrings()
    assert not missing, f"{len(missing)} public names without a docstring:\n  " + "\n  ".join(missing)


def test_the_audit_sees_a_missing_docstring():
    """The rule can fail: a class, a method, a dataclass and a numba kernel without docstrings
    are all caught, and an override of a documented package base method is not."""
    from numba import njit

    @njit
    def bare_kernel(x):  # never called: nothing is compiled
        return x

    assert _function_of(bare_kernel) is bare_kernel.py_func and not _own_doc(_function_of(bare_kernel))

    @dataclasses.dataclass
    class Bare:
        x: int = 0

        def method(self):
            return self.x

    assert _generated_class_doc(Bare, _own_doc(Bare))
    assert _missing_in_class("Bare", Bare) == ["Bare", "Bare.method"]

    from methods import noise

    class Override(noise.Gaussian):
        """An override without its own docstring."""

        def pack(self, shape):
            return super().pack(shape)

    assert _missing_in_class("Override", Override) == []
