"""Sphinx configuration of the sde-workbench docs (``make docs``; warnings are errors there)."""
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

# The notebooks run at build in their quick mode (the same switch the test suite uses), with the
# inline backend so that their figures show on the page.
os.environ["SDE_WORKBENCH_QUICK"] = "1"
os.environ.pop("MPLBACKEND", None)

project = "sde-workbench"
author = "the sde-workbench authors"
copyright = "2026, the sde-workbench authors"
release = version = "0.1.0"

extensions = [
    "myst_nb",                  # Markdown pages and notebooks executed at build
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
    "workbench_ref",            # docs/_ext: writes the generated reference pages from the registries
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "_ext"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

nb_execution_mode = "force"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

autodoc_default_options = {}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# MathJax 3 from a local copy (the django-static-mathjax wheel of the docs extra ships it), so
# that the pages render offline: the combined TeX/CHTML component, its fonts, the TeX extensions
# it may autoload and the menu, staged under _static/mathjax.
def _stage_mathjax() -> Path:
    import importlib.util
    import shutil

    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the docs need the 'docs' extra (pip install -e '.[docs]'): package mathjax not found")
    es5 = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"
    stage = DOCS / "_build" / "mathjax_static"
    dst = stage / "mathjax"
    if not (dst / "tex-chtml.js").exists():
        for part in ("tex-chtml.js", "output/chtml/fonts", "input/tex/extensions", "ui", "a11y"):
            src, out = es5 / part, dst / part
            out.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, out, dirs_exist_ok=True)
            else:
                shutil.copyfile(src, out)
    return stage


mathjax_path = "mathjax/tex-chtml.js"

html_theme = "furo"
html_title = "sde-workbench"
html_static_path = [str(_stage_mathjax())]

suppress_warnings = []
