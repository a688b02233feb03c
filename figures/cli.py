"""The ``sde-workbench`` command line: ``list``, ``figures``, ``verify``, ``sweep``."""
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

    chosen = CLAIMS
    if args.claims:
        known = {c.id for c in CLAIMS}
        unknown = [i for i in args.claims if i not in known]
        if unknown:
            print(f"sde-workbench verify: unknown claim id(s) {unknown}; see `sde-workbench list`", file=sys.stderr)
            return 2
        chosen = [c for c in CLAIMS if c.id in set(args.claims)]
    results = []
    for c in chosen:
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


def _sweep(args):
    from methods import sweep, xarray_io

    from .sweep_config import ConfigError, load, point_fn, sweep_options

    try:
        cfg = load(args.config)  # every point is checked here, before any compute
    except ConfigError as exc:
        print(f"sde-workbench sweep: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(Path(args.config).stem + ".nc")
    cache = False if args.no_cache else (Path(args.cache) if args.cache else out.with_name(out.name + ".parts"))
    opts = sweep_options(cfg)
    if args.workers is not None:
        opts["workers"] = args.workers
    t0 = time.perf_counter()
    ds = sweep(point_fn(cfg), cfg.grid, client=args.scheduler, cache=cache,
               progress=True if args.progress else None, config={"config_file": str(args.config)}, **opts)
    xarray_io.save(ds, out)
    print(f"{int(ds['point_seed'].size)} points in {time.perf_counter() - t0:.1f}s -> {out}")
    table = ds[["stationary", "stationary_stderr"]].to_dataframe()
    print(f"stationary {ds.attrs['observable']} (mean, s.e. over paths):")
    print(table[["stationary", "stationary_stderr"]].to_string())
    return 0


def main(argv=None):
    """``sde-workbench list | figures [NAME ...] [--quick] [--out DIR] | verify [--quick] [--report PATH]
    [--json PATH] [--claims ID ...]``; returns the exit status (non-zero when a recovered claim fails)."""
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
    v.add_argument("--claims", nargs="+", default=None, metavar="ID", help="only these claims (default: all)")
    v.set_defaults(fn=_verify)
    sub.add_parser("list", help="list figures and claims").set_defaults(fn=_list)
    w = sub.add_parser("sweep", help="run a parameter sweep from a TOML file into a netCDF file")
    w.add_argument("config", help="the sweep's TOML file (see examples/sweep_lr_sigma.toml)")
    w.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="dask.distributed scheduler address (default: local threads)")
    w.add_argument("--out", default=None, help="netCDF output (default: CONFIG's name with .nc, here)")
    w.add_argument("--cache", default=None, metavar="DIR",
                   help="per-point results, so an interrupted sweep resumes (default: OUT.parts)")
    w.add_argument("--no-cache", action="store_true", help="keep no per-point results")
    w.add_argument("--workers", type=int, default=None, help="points at once on threads")
    w.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    w.set_defaults(fn=_sweep)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
