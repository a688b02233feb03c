"""Sphinx extension: write the generated pages of the docs from the project's registries.

At ``builder-inited`` it writes Markdown (and a few reStructuredText API pages) into
``docs/_generated/``:

* ``optimizers.md``: every optimizer of ``methods.optimizers`` (its update rule from the
  docstring, its parametrisations from the signature and the ``from_*`` constructors, and the
  SDE kinds ``sde.kinds`` offers for it);
* ``sde_kinds.md``: every SDE kind of every optimizer family, built for representative
  optimizers through the public ``sde.model``; formula, provenance and source come from the
  built ``SDEModel``, the accepted noise laws from trying each law, and the tests that check it
  from scanning ``tests/``;
* ``claims.md``: every claim of ``figures.claims.CLAIMS`` with its statement, source and
  provenance, and its criterion and verdict read from the committed report
  (``figures/gallery/claims.json`` if present, else ``figures/gallery/claims.md``); claims are
  never recomputed at doc build;
* ``gallery.md``: every figure of ``figures.FIGURES`` with its caption (full settings) and the
  committed PNG;
* ``notebooks/*.ipynb``: copies of ``notebooks/`` (MyST-NB executes them at build, quick mode);
* ``api/*.rst``: one autodoc page per public module.

Nothing here is hand-copied: a claim, kind, optimizer or figure added to its registry appears
on the next build with its own heading and anchor.
"""
from __future__ import annotations

import ast
import inspect
import json
import re
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GEN = DOCS / "_generated"

PACKAGES = ("methods", "sde", "theory", "figures")


def _api_modules():
    """Every public module of the four packages (names not starting with ``_``), found on disk."""
    import importlib
    import pkgutil

    out = {}
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        subs = sorted(m.name for m in pkgutil.iter_modules(mod.__path__) if not m.name.startswith("_"))
        out[pkg] = [pkg] + [f"{pkg}.{s}" for s in subs]
    return out


# ---------------------------------------------------------------------------------- helpers
def _write(path: Path, text: str) -> None:
    """Write only when the text changed (keeps Sphinx's incremental build incremental)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def _md_escape(s: str) -> str:
    """Plain text from the registries into Markdown: keep it literal (no emphasis, no tables)."""
    return str(s).replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("|", "\\|") \
        .replace("<", "&lt;").replace("`", "\\`").replace("$", "\\$")


def _code(s: str) -> str:
    """Inline code that may itself hold backticks."""
    s = str(s).replace("\n", " ")
    ticks = "``" if "`" in s else "`"
    return f"{ticks} {s} {ticks}" if ticks == "``" else f"`{s}`"


def _docstring_block(obj) -> str:
    """An object's docstring rendered as reStructuredText (normalised like the API pages' when it
    does not parse); a literal block when it still does not, or when it has section titles."""
    doc = inspect.getdoc(obj)
    if not doc:
        return "(no docstring)\n"
    lines = doc.split("\n")
    if _rst_problems(lines):
        lines = _normalise(lines)
    if _rst_problems(lines) or re.search(r"^\s*([-=~^])\1{2,}\s*$", doc, re.M):
        return "```text\n" + doc + "\n```\n"
    return "```{eval-rst}\n" + "\n".join(lines) + "\n```\n"


# ---------------------------------------------------------------------------------- tests
def _test_functions():
    """(test id, source text, string constants) for every test function in tests/; the source
    includes that of the module's helper functions the test calls (one level)."""
    out = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        src = path.read_text()
        tree = ast.parse(src)
        helpers = {n.name: ast.get_source_segment(src, n) or "" for n in tree.body
                   if isinstance(n, ast.FunctionDef) and not n.name.startswith("test_")}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                seg = ast.get_source_segment(src, node) or ""
                called = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
                seg += "\n" + "\n".join(helpers[h] for h in sorted(called & helpers.keys()))
                consts = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
                out.append((f"tests/{path.name}::{node.name}", seg, consts))
    return out


def _tests_for_kind(tests, kind, method_names):
    """Tests that name this kind (as a string constant; ``classic`` also when a model is built
    without a kind) and one of the family's optimizers."""
    hits = []
    for tid, seg, consts in tests:
        if not any(re.search(rf"\b{m}\b", seg) for m in method_names):
            continue
        uses_sde = re.search(r"\bsde\.(model|compare|integrate)\b|\bmodel\(|\bcompare\(", seg)
        if kind in consts and uses_sde:
            hits.append(tid)
        elif kind == "classic" and uses_sde and "kind=" not in seg and "kinds=" not in seg:
            hits.append(tid)
    return hits


# ---------------------------------------------------------------------------------- optimizers
def _optimizer_names():
    from methods import optimizers as O

    names = []
    for name, obj in vars(O).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != O.__name__:
            continue
        if inspect.isclass(obj) and issubclass(obj, O.Optimizer) and obj is not O.Optimizer:
            names.append(name)
        elif inspect.isfunction(obj) and name[0].isupper():  # factories DSGD, DCSGD, SignSGD, DSignSGD
            names.append(name)
    return names


def _plain_signature(obj) -> str:
    """The call signature without annotations (they are strings under postponed evaluation)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = [q.replace(annotation=inspect.Parameter.empty) for q in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


def _try_optimizer(name):
    """A default instance of optimizer ``name`` (its defaults), or None when it needs arguments."""
    from methods import optimizers as O

    try:
        return getattr(O, name)()
    except (TypeError, ValueError):
        return None


def _optimizers_page() -> str:
    import sde
    from methods import optimizers as O

    lines = ["# Optimizers", "",
             "Generated from `methods.optimizers` at build time. Every optimizer is `N` agents plus a server: "
             "agent `i` draws `g_i = grad f(x_k) + Z_i`, transforms it (a compressor, the sign, or the identity), "
             "the server averages and applies its rule with step `lr * eta_k`. The update rule below is the "
             "optimizer's docstring; the parametrisations are its constructor and its alternative constructors.", ""]
    for name in _optimizer_names():
        obj = getattr(O, name)
        lines += [f"({_slug('opt-' + name)})=", f"## {name}", ""]
        lines += ["**Update rule.**", "", _docstring_block(obj)]
        sig = _plain_signature(obj)
        lines += ["**Parametrisations.**", "", f"- `{name}{sig}`"]
        if inspect.isclass(obj):
            for cname, cm in inspect.getmembers(obj, inspect.ismethod):
                if cname.startswith("from_") and cm.__self__ is obj:
                    doc = (inspect.getdoc(cm) or "").split("\n\n")[0].replace("\n", " ")
                    lines.append(f"- `{name}.{cname}{_plain_signature(cm)}`: {_md_escape(doc)}")
        lines.append("")
        inst = _try_optimizer(name)
        if inst is None:
            lines += ["**SDE kinds.** (no default instance: see the signature)", ""]
        else:
            try:
                ks = sde.kinds(inst)
                ref = ", ".join(f"[`{k}`](#{_slug('sde-' + _family_of(inst) + '-' + k)})" for k in ks)
                lines += [f"**SDE kinds** (`sde.kinds`): {ref}.", ""]
            except ValueError as e:
                lines += [f"**SDE kinds.** None: {_md_escape(e)}", ""]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- SDE kinds
def _family_reps():
    """Representative optimizers per family, by family name (public constructors only)."""
    from methods import compressors as C
    from methods import optimizers as O

    return {
        "sgd": [("SGD", O.SGD(lr=0.01)), ("DSGD, N = 4", O.DSGD(lr=0.01, agents=4)),
                ("DCSGD, N = 4, Bernoulli(1/2)", O.DCSGD(lr=0.01, agents=4, compressor=C.Bernoulli(0.5)))],
        "sign": [("SignSGD", O.SignSGD(lr=0.01)), ("DSignSGD, N = 4", O.DSignSGD(lr=0.01, agents=4))],
        "adaptive": [("RMSprop", O.RMSprop(lr=0.01)), ("RMSpropW", O.RMSpropW(lr=0.01)), ("Adam", O.Adam(lr=0.01)),
                     ("AdamW", O.AdamW(lr=0.01))],
        "momentum": [("SGDM", O.SGDM(lr=0.01, momentum=0.9)), ("HeavyBall", O.HeavyBall(lr=0.01, beta=0.9))],
        "clipped": [("ClippedSGD", O.ClippedSGD(lr=0.01)), ("CoordinateClippedSGD", O.CoordinateClippedSGD(lr=0.01))],
    }


FAMILY_TITLES = {"sgd": "SGD, DSGD, DCSGD", "sign": "SignSGD, DSignSGD", "adaptive": "RMSprop(W), Adam(W)",
                 "momentum": "SGDM, HeavyBall", "clipped": "ClippedSGD, CoordinateClippedSGD"}
FAMILY_MODULES = {"sgd": "sde.sgd", "sign": "sde.sign", "adaptive": "sde.adaptive", "momentum": "sde.momentum",
                  "clipped": "sde.clipped"}
FAMILY_METHODS = {"sgd": ["SGD", "DSGD", "DCSGD"], "sign": ["SignSGD", "DSignSGD"],
                  "adaptive": ["RMSprop", "RMSpropW", "Adam", "AdamW"], "momentum": ["SGDM", "HeavyBall"],
                  "clipped": ["ClippedSGD", "CoordinateClippedSGD"]}


def _family_of(opt) -> str:
    """The family (a key of ``_family_reps``) whose representatives have the same kinds and type."""
    import sde

    ks = sde.kinds(opt)
    for fam, reps in _family_reps().items():
        if any(type(r) is type(opt) and sde.kinds(r) == ks for _, r in reps):
            return fam
    return "other"


# The SDE of each known kind in LaTeX, in the project's words (the generated fields below each
# formula are the code's own). s = eta_t is the schedule factor, eta the base step, N the agents.
LATEX = {
    ("sgd", "classic"): r"dX_t = -\eta_t \nabla f(X_t)\,dt + \eta_t\sqrt{\eta/N}\;\tilde\Sigma(X_t)^{1/2}\,dW_t",
    ("sgd", "second_order"): r"dX_t = -\Big(\eta_t \nabla f + \tfrac{\eta\,\eta_t^2}{2}\nabla^2 f\,\nabla f\Big)(X_t)\,dt"
                             r" + \eta_t\sqrt{\eta/N}\;\tilde\Sigma(X_t)^{1/2}\,dW_t",
    ("sgd", "corrected"): r"dX_t = \Big(-\eta_t \nabla f + \tfrac{\eta\,\eta_t^2}{2}\nabla^2 f\,\nabla f\Big)(X_t)\,dt"
                          r" + \eta_t\sqrt{\eta/N}\;\tilde\Sigma(X_t)^{1/2}\,dW_t",
    ("sgd", "levy"): r"dX_t = -\eta_t \nabla f(X_t)\,dt + \eta_t\, c\, \eta^{1 - 1/\alpha}\, dL^{\alpha}_t",
    ("sign", "classic"): r"dX_t = -\eta_t\, m(X_t)\,dt + \eta_t\sqrt{\eta/N}\;\Big(I - \tfrac1N\textstyle\sum_i"
                         r" \mathrm{diag}\, m_i(X_t)^2\Big)^{1/2} dW_t,\quad m_i = \mathbb E\,\mathrm{sign}(\nabla f + Z_i),"
                         r"\ m = \tfrac1N\textstyle\sum_i m_i",
    ("sign", "corrected"): r"dX_t = \Big(-\eta_t\, m + \tfrac{\eta\,\eta_t^2}{2}\nabla^2 f\, m\Big)(X_t)\,dt"
                           r" + \eta_t\sqrt{\eta/N}\;\Big(I - \tfrac1N\textstyle\sum_i \mathrm{diag}\, m_i^2\Big)^{1/2} dW_t",
    ("sign", "phase1"): r"dX_t = -\eta_t\,\mathrm{sign}(\nabla f(X_t))\,dt",
    ("sign", "phase2"): r"dX_t = -\eta_t\,\big(a\,|Y_t| + b\big)\,\mathrm{sign}(\nabla f(X_t))\,dt + \text{diffusion},"
                        r"\quad Y_t = \nabla f(X_t)/(\sqrt2\,\sigma)",
    ("sign", "phase3"): r"dX_t = -\eta_t\, c_\nu\, \nabla f(X_t)/\sigma\,dt + \eta_t\sqrt{\eta/N}\,dW_t",
    ("adaptive", "classic"): r"\begin{aligned} dM_t &= \rho_1(\nabla f - M_t)\,dt + \sqrt\eta\,\rho_1\Sigma^{1/2}dW_t,\quad"
                             r" dV_t = \rho_2\big((\nabla f)^2 + \mathrm{diag}\,\Sigma - V_t\big)dt,\\ dX_t &= -\eta_t"
                             r" \frac{\sqrt{\iota_2(t)}}{\iota_1(t)}\,\frac{M_t}{\sqrt{V_t} + \epsilon\sqrt{\iota_2(t)}}\,dt"
                             r" - \eta_t\theta X_t\,dt,\quad \iota_i(t) = 1 - e^{-\rho_i t}\end{aligned}",
    ("adaptive", "malladi"): r"\begin{aligned} dm_t &= c_1(\nabla f - m_t)\,dt + \sigma_0 c_1\Sigma^{1/2}dW_t,\quad"
                             r" du_t = c_2(\mathrm{diag}\,\Sigma - u_t)\,dt,\\ dX_t &= -\frac{\sqrt{\gamma_2(t)}}{\gamma_1(t)}"
                             r"\,\frac{m_t}{\sigma_0\sqrt{u_t} + \epsilon_0\sqrt{\gamma_2(t)}}\,dt,\quad t = k\eta^2\end{aligned}",
}
LATEX_NOTES = {
    ("sgd", "classic"): r"$\tilde\Sigma$ is the covariance of one agent's transmitted vector averaged over agents (noise plus compression, by the law of total covariance).",
    ("sign", "phase2"): r"$a, b$: the chord of $\mathrm{erf}$ through $Y = 1/2$ and $Y = 3/2$ (the phase-2 constants are unsure).",
    ("adaptive", "classic"): r"For RMSprop(W) drop $M$ and use $\nabla f\,dt + \sqrt\eta\,\Sigma^{1/2}dW_t$ over $\sqrt{V_t} + \epsilon$; $\theta$ is the decoupled weight decay, $\rho_i = (1 - \beta_i)/\eta$.",
    ("adaptive", "malladi"): r"$\sigma_0 = \sigma\eta$, $\epsilon_0 = \epsilon\eta$, $c_i = (1 - \beta_i)/\eta^2$ (Malladi et al., arXiv 2205.10287).",
}


def _family_doc(fam) -> str:
    import importlib

    try:
        return _docstring_block(importlib.import_module(FAMILY_MODULES[fam]))
    except (KeyError, ImportError):
        return "(no module docstring found for this family)\n"


def _noise_laws():
    from methods import noise as N

    return [("Gaussian(sigma = 1)", N.Gaussian(1.0)), ("Student-t nu = 3", N.StudentT(nu=3.0, sigma=1.0)),
            ("Student-t nu = 1 (Cauchy)", N.StudentT(nu=1.0, sigma=1.0)),
            ("affine variance (sigma0, sigma1) = (0.5, 0.5)", N.AffineVariance(sigma0=0.5, sigma1=0.5)),
            ("alpha-stable alpha = 1.5", N.AlphaStable(alpha=1.5, scale=1.0))]


def _sde_kinds_page() -> tuple[str, list[str]]:
    import sde
    from methods import landscapes as Ls

    land = Ls.DiagonalQuadratic([1.0, 2.0])
    tests = _test_functions()
    lines = ["# SDE kinds", "",
             "Generated at build time from the public `sde.kinds(optimizer)` and `sde.model(...)`: each model is "
             "built (not run) for representative optimizers on `DiagonalQuadratic([1, 2])`. *Formula*, *provenance* "
             "and *source* are the built `SDEModel`'s own fields; *noise laws* records which laws `sde.model` accepts "
             "(a refusal is the model's `ValueError`); *tests* lists the test functions in `tests/` that build this "
             "kind for one of the family's optimizers (found by scanning their source). Provenance: *recovered* from "
             "the paper, *derived* here, or *unsure* (the recovered form is uncertain).", ""]
    anchors = []
    for fam, reps in _family_reps().items():
        kinds = sde.kinds(reps[0][1])
        lines += [f"## {FAMILY_TITLES.get(fam, fam)}", "",
                  f"Kinds: {', '.join('`' + k + '`' for k in kinds)}. The family's module docstring "
                  f"(`{FAMILY_MODULES.get(fam, fam)}`) states the common form and the assumptions:", "",
                  _family_doc(fam)]
        for kind in kinds:
            anchor = _slug(f"sde-{fam}-{kind}")
            anchors.append(anchor)
            lines += [f"({anchor})=", f"### {fam}: `{kind}`", ""]
            if (fam, kind) in LATEX:
                lines += ["$$", LATEX[(fam, kind)], "$$", ""]
                if (fam, kind) in LATEX_NOTES:
                    lines += [LATEX_NOTES[(fam, kind)], ""]
            rows, accepted = [], {}
            for label, opt in reps:
                built = None
                accepted[label] = []
                for nlabel, law in _noise_laws():
                    try:
                        m = sde.model(opt, land, law, kind=kind)
                    except ValueError as e:
                        accepted[label].append((nlabel, False, str(e)))
                        continue
                    accepted[label].append((nlabel, True, ""))
                    if built is None:
                        built = (nlabel, m)
                if built is not None:
                    nlabel, m = built
                    rows.append((label, nlabel, m))
            if not rows:
                lines += ["No representative optimizer builds this kind under the noise laws tried.", ""]
            for label, nlabel, m in rows:
                lines += [f"**{_md_escape(label)}** (noise: {_md_escape(nlabel)})", "",
                          f"- formula: {_code(m.formula)}",
                          f"- provenance: **{m.provenance}**",
                          f"- source: {_md_escape(m.source)}",
                          f"- SDE time per iteration: {_code(f'{m.time_per_step:g}')}"
                          f"{' (t = k lr)' if m.time_per_step == m.lr else ''}; state dimension {m.state_dim} "
                          f"(d = {m.d}), noise dimension {m.noise_dim}"
                          f"{'; driven by alpha-stable increments' if m.driving_alpha < 2 else ''}", ""]
            laws = [n for n, _ in _noise_laws()]
            lines += ["**Assumptions: the noise laws `sde.model` accepts** (yes / no; each refusal's reason below):", "",
                      "| optimizer | " + " | ".join(_md_escape(n) for n in laws) + " |",
                      "|---|" + "---|" * len(laws)]
            reasons = []
            for label, acc in accepted.items():
                cells = []
                for n, a, msg in acc:
                    if not a:
                        if msg not in reasons:
                            reasons.append(msg)
                        cells.append(f"no ({reasons.index(msg) + 1})")
                    else:
                        cells.append("yes")
                lines.append(f"| {_md_escape(label)} | " + " | ".join(cells) + " |")
            lines.append("")
            lines += [f"{i + 1}. {_md_escape(r)}" for i, r in enumerate(reasons)]
            lines.append("")
            hits = _tests_for_kind(tests, kind, FAMILY_METHODS.get(fam, []))
            lines += ["**Tests**: " + (", ".join(f"`{h}`" for h in hits) if hits else
                                       "no test function in `tests/` builds this kind (scan of `tests/`; a figure or a claim may still run it)"), ""]
    return "\n".join(lines) + "\n", anchors


# ---------------------------------------------------------------------------------- claims
def _split_row(row: str):
    cells = re.split(r"(?<!\\)\|", row.strip())[1:-1]
    return [c.strip().replace("\\|", "|") for c in cells]


def _report():
    """Verdicts by claim id and by statement from the committed report (never recomputed here)."""
    gal = ROOT / "figures" / "gallery"
    js = gal / "claims.json"
    if js.exists():
        doc = json.loads(js.read_text())
        return {r["id"]: r for r in doc["claims"]}, {}, f"figures/gallery/claims.json ({'quick' if doc.get('quick') else 'full'} settings)"
    md = gal / "claims.md"
    by_statement = {}
    if md.exists():
        for line in md.read_text().splitlines():
            if line.startswith("| ") and not line.startswith("| claim |"):
                cells = _split_row(line)
                if len(cells) == 6:
                    statement, status, source, predicted, measured, verdict = cells
                    by_statement[statement] = {"criterion": predicted, "measured": measured,
                                               "verdict": "fail" if "FAIL" in verdict else verdict}
        return {}, by_statement, "figures/gallery/claims.md (full settings, `make verify`)"
    return {}, {}, None


def _claims_page() -> tuple[str, list[str]]:
    from figures.claims import CLAIMS

    by_id, by_statement, where = _report()
    lines = ["# Claims", "",
             "Generated at build time from `figures.claims.CLAIMS`. Each claim cites its paper by arXiv id and the "
             "paper's own numbering where known (or says *derived here*), states its provenance, and is measured by "
             "`sde-workbench verify` on data computed by the figure modules, with tolerances from Monte Carlo "
             "standard errors. The criterion, the measured value and the verdict are read from the committed report "
             f"{('`' + where.split(' ')[0] + '`' + where[len(where.split(' ')[0]):]) if where else '(none committed)'}; "
             "the docs never recompute a claim. A claim without a verdict has not been run into the committed report "
             "yet.", "",
             "| claim | status | source | verdict |", "|---|---|---|---|"]
    anchors = []
    for c in CLAIMS:
        rec = by_id.get(c.id) or by_statement.get(c.statement)
        verdict = rec["verdict"] if rec else "not in the report yet"
        lines.append(f"| [{_md_escape(c.id)}](#{_slug('claim-' + c.id)}) | {c.status} | {_md_escape(c.source)} | {verdict} |")
    lines.append("")
    for c in CLAIMS:
        anchor = _slug("claim-" + c.id)
        anchors.append(anchor)
        rec = by_id.get(c.id) or by_statement.get(c.statement)
        lines += [f"({anchor})=", f"## {c.id}", "", f"*{_md_escape(c.statement)}*", "",
                  f"- source: {_md_escape(c.source)}",
                  f"- provenance: **{c.status}**",
                  f"- how it is measured: {_md_escape(c.how)}"]
        if rec:
            lines += [f"- criterion: {_md_escape(rec.get('criterion', ''))}",
                      f"- measured: {_md_escape(rec.get('measured', ''))}",
                      f"- verdict: **{rec['verdict']}**"]
        else:
            lines.append("- verdict: not in the committed report yet (run `make verify`)")
        fig = c.how.split("figure ")[-1].split(":")[0].strip()
        if (ROOT / "figures" / "gallery" / f"{fig}.png").exists():
            lines += ["", f"Figure: [{fig}](gallery.md#{_slug('fig-' + fig)})"]
        lines.append("")
    return "\n".join(lines) + "\n", anchors


# ---------------------------------------------------------------------------------- gallery
def _gallery_page() -> str:
    from figures import FIGURES

    lines = ["# Gallery", "",
             "The committed figures (`make figures`, full settings), generated from `figures.FIGURES`. Each caption "
             "states the settings chosen here: the papers' own plot settings were not recoverable.", ""]
    img = GEN / "img"
    img.mkdir(parents=True, exist_ok=True)
    for name, mod in FIGURES.items():
        lines += [f"({_slug('fig-' + name)})=", f"## {_md_escape(mod.TITLE)}", "",
                  f"Module `{mod.__name__}`:", "", _docstring_block(mod)]
        png = ROOT / "figures" / "gallery" / f"{name}.png"
        if png.exists():
            dst = img / png.name
            if not dst.exists() or dst.read_bytes() != png.read_bytes():
                shutil.copyfile(png, dst)
            lines += [f"```{{image}} img/{png.name}", f":alt: {name}", ":width: 100%", "```", ""]
        else:
            lines += ["(no committed PNG: run `make figures`)", ""]
        try:
            cap = mod.caption(mod.settings(False))
        except Exception as e:  # a caption that cannot be built is a bug the page must show, not hide
            raise RuntimeError(f"figure {name}: caption(settings(False)) failed: {e}") from e
        lines += [f"Caption: {_md_escape(cap)}", ""]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------- API
def _api_pages():
    index = ["API", "===", "", "Generated from the docstrings (numpydoc). Every public module of the four packages.", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    for pkg, mods in _api_modules().items():
        for mod in mods:
            # a page documents what its module defines (classes, functions, compiled kernels);
            # re-exports and imported kernels have their own pages
            own = _own_members(mod)
            title = f"``{mod}``"
            body = [title, "=" * len(title), "", f".. automodule:: {mod}"]
            body += [f"   :members: {', '.join(own)}", "   :show-inheritance:", ""] if own else [""]
            _write(GEN / "api" / f"{mod}.rst", "\n".join(body))
            index.append(f"   {mod}")
    _write(GEN / "api" / "index.rst", "\n".join(index) + "\n")


def _defined_in(obj):
    """The module that defines ``obj`` (a numba dispatcher: its Python function's module)."""
    if hasattr(obj, "py_func"):
        return getattr(obj.py_func, "__module__", None)
    return getattr(obj, "__module__", None)


def _own_members(modname):
    import importlib

    mod = importlib.import_module(modname)
    return [n for n, o in vars(mod).items() if not n.startswith("_") and _defined_in(o) == modname
            and (inspect.isclass(o) or inspect.isfunction(o) or hasattr(o, "py_func"))]


def missing_docstrings():
    """Public classes, functions and methods of the API modules without a docstring."""
    import importlib

    missing = []
    for mods in _api_modules().values():
        for modname in mods:
            mod = importlib.import_module(modname)
            for name, obj in vars(mod).items():
                if name.startswith("_") or getattr(obj, "__module__", None) != modname:
                    continue
                if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                    continue
                doc = (obj.__doc__ or "").strip()
                if not doc or (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}(")):  # dataclass's own
                    missing.append(f"{modname}.{name}")
                if inspect.isclass(obj):
                    for mname, m in vars(obj).items():
                        if mname.startswith("_"):
                            continue
                        f = m.__func__ if isinstance(m, (classmethod, staticmethod)) else m
                        f = f.fget if isinstance(f, property) else f
                        if inspect.isfunction(f) and not (f.__doc__ or "").strip():
                            missing.append(f"{modname}.{name}.{mname}")
    return missing


# ---------------------------------------------------------------------------------- hook
def generate(app=None):
    GEN.mkdir(exist_ok=True)
    _write(GEN / "optimizers.md", _optimizers_page())
    text, _ = _sde_kinds_page()
    _write(GEN / "sde_kinds.md", text)
    text, _ = _claims_page()
    _write(GEN / "claims.md", text)
    _write(GEN / "gallery.md", _gallery_page())
    nbdir = GEN / "notebooks"
    nbdir.mkdir(exist_ok=True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        dst = nbdir / nb.name
        if not dst.exists() or dst.read_bytes() != nb.read_bytes():
            shutil.copyfile(nb, dst)
    _api_pages()
    if app is not None:
        from sphinx.util import logging

        miss = missing_docstrings()
        if miss:
            logging.getLogger(__name__).info(f"[workbench_ref] {len(miss)} public names without a docstring: "
                                             + ", ".join(miss))


# ---------------------------------------------------------------------------------- docstrings
def _rst_problems(lines) -> str:
    import io

    import docutils.core

    err = io.StringIO()
    docutils.core.publish_doctree("\n".join(lines), settings_overrides={
        "report_level": 2, "halt_level": 5, "warning_stream": err})
    return err.getvalue()


def _normalise(lines):
    """The three plain-text habits that are not reStructuredText: a list straight after a
    paragraph line (a blank line is inserted), an indented formula block after a line ending in
    ':' (made a literal block, '::'), and an inline literal closed after a space."""
    out = []
    for i, line in enumerate(lines):
        s = line.lstrip()
        if s.startswith(("* ", "- ")) and out and out[-1].strip() and not out[-1].lstrip().startswith(("* ", "- ")) \
                and len(out[-1]) - len(out[-1].lstrip()) == len(line) - len(s):
            out.append("")
        line = re.sub(r"``([^`\n]*?\S)\s+``(?=\s|$)", r"``\1``", line)
        nxt = next((l for l in lines[i + 1:] if l.strip()), "")
        ind = lambda l: len(l) - len(l.lstrip())
        if line.rstrip().endswith(":") and not line.rstrip().endswith("::") and i + 1 < len(lines) \
                and not lines[i + 1].strip() and ind(nxt) > ind(line):
            line = line.rstrip() + ":"
        out.append(line)
    return out


def process_docstring(app, what, name, obj, options, lines):
    """Docstrings are plain text with reStructuredText markup; one that does not parse is
    normalised (``_normalise``) and named in the build log, so that it can be fixed at its source."""
    if not lines or not _rst_problems(lines):
        return
    fixed = _normalise(lines)
    if not _rst_problems(fixed):
        from sphinx.util import logging

        logging.getLogger(__name__).info(f"[workbench_ref] normalised the docstring of {name} (not valid reST)")
        lines[:] = fixed


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", process_docstring, priority=400)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
