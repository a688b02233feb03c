"""The ``sde-workbench`` command line: ``list``, ``figures``, ``verify``."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _figures(args):
    from tqdm import tqdm

    from . import FIGURES, style
    from .cache import cached

    style.apply()
    import matplotlib.pyplot as plt

    names = args.names or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise SystemExit(f"sde-workbench figures: unknown figure(s) {unknown}; choose from {list(FIGURES)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(names, desc="figures", unit="fig", disable=not sys.stderr.isatty() and not args.progress)
    for name in bar:
        mod = FIGURES[name]
        bar.set_postfix_str(name)
        s = mod.settings(args.quick)
        t0 = time.perf_counter()
        data, hit = cached(name, s, mod, mod.compute)
        fig = mod.plot(data, s)
        style.caption(fig, mod.caption(s) + (" [quick run]" if args.quick else ""))
        for ext in ("png", "pdf"):
            fig.savefig(out / f"{name}.{ext}", dpi=100 if ext == "png" else None)
        plt.close(fig)
        print(f"{name}: {'cached' if hit else 'computed'} in {time.perf_counter() - t0:.1f}s -> {out / name}.png/pdf",
              flush=True)
    return 0


def _list(args):
    from . import FIGURES
    from .claims import CLAIMS

    print("figures:")
    for name, mod in FIGURES.items():
        print(f"  {name:24s} {mod.TITLE}")
    print("claims:")
    for c in CLAIMS:
        print(f"  {c.id:28s} [{c.status}] {c.source}: {c.statement}")
    return 0


def _verify(args):
    from .claims import CLAIMS, write_json, write_report

    results = []
    for c in CLAIMS:
        t0 = time.perf_counter()
        r = c.evaluate(args.quick)
        results.append((c, r))
        print(f"{'PASS' if r['passed'] else 'FAIL'}  {c.id} ({time.perf_counter() - t0:.1f}s): {r['summary']}", flush=True)
    write_report(results, Path(args.report), quick=args.quick)
    if args.json:
        write_json(results, Path(args.json), quick=args.quick)
        print(f"json: {args.json}")
    print(f"report: {args.report}")
    failed = [c.id for c, r in results if not r["passed"] and c.status == "recovered"]
    if failed:
        print(f"recovered claims failing: {failed}")
        return 1
    return 0


def main(argv=None):
    """``sde-workbench list | figures [NAME ...] [--quick] [--out DIR] | verify [--quick] [--report PATH]
    [--json PATH]``; returns the exit status (non-zero when a recovered claim fails)."""
    ap = argparse.ArgumentParser(prog="sde-workbench", description="Optimizers beside their SDEs: figures and claims.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("figures", help="regenerate figures (PNG and PDF)")
    f.add_argument("names", nargs="*", help="figure names (default: all; see `sde-workbench list`)")
    f.add_argument("--quick", action="store_true", help="fewer paths and points: a minute or two")
    f.add_argument("--out", default="figures/output", help="output folder (default figures/output)")
    f.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    f.set_defaults(fn=_figures)
    v = sub.add_parser("verify", help="check the papers' claims and write a Markdown report")
    v.add_argument("--quick", action="store_true")
    v.add_argument("--report", default="figures/output/claims.md")
    v.add_argument("--json", default=None, metavar="PATH", help="also write one JSON record per claim")
    v.set_defaults(fn=_verify)
    sub.add_parser("list", help="list figures and claims").set_defaults(fn=_list)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
