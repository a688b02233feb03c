"""``sde-workbench sweep CONFIG.toml``: configuration errors name the line and the key before any
compute; the shipped example runs and its floors match the exact stationary level."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("xarray")

from figures.cli import main  # noqa: E402
from figures.sweep_config import ConfigError, key_lines, loads  # noqa: E402
from methods import xarray_io  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sweep_lr_sigma.toml"

GOOD = """
[landscape]
type = "DiagonalQuadratic"
lambdas = [1.0, 2.0]

[optimizer]
type = "DCSGD"
lr = 0.01
agents = 2
compressor = { type = "RandK", k = 1 }

[noise]
type = "Gaussian"
sigma = 1.0

[run]
steps = 100
paths = 64
x0 = 1.0

[sweep]
seed = 0

[grid]
"optimizer.lr" = [0.01, 0.02]
"""


def test_key_lines():
    lines = key_lines(GOOD)
    assert lines[("optimizer", "lr")] == 8 and lines[("grid", "optimizer.lr")] == 25
    assert lines[("optimizer", "compressor", "k")] == 10 and lines[("landscape",)] == 2


def test_good_config_passes():
    cfg = loads(GOOD)
    assert cfg.grid == {"optimizer.lr": [0.01, 0.02]} and cfg.sweep["seed"] == 0


@pytest.mark.parametrize("old,new,where,key", [
    ('lr = 0.01\nagents', 'lr = 0.01\nmomentum = 0.9\nagents', ":9:", "optimizer.momentum"),  # unknown argument
    ('steps = 100', 'steps = "100"', ":17:", "run.steps"),                                     # wrong type
    ('steps = 100', 'steps = 0', ":17:", "run.steps"),                                         # out of range
    ('type = "Gaussian"', 'type = "Gauss"', ":13:", "noise.type"),                             # unknown component
    ('[0.01, 0.02]', '[0.01, -0.02]', ":25:", "optimizer.lr"),                                 # bad grid value
    ('"optimizer.lr"', '"optimiser.lr"', ":25:", "optimiser.lr"),                              # bad grid path
    ('sigma = 1.0', 'sigma = [1.0, 2.0, 3.0]', ":14:", "noise.sigma"),                               # shape vs d = 2
    ('k = 1', 'k = 5', ":10:", "optimizer.compressor"),                                        # k > d
    ('[sweep]\nseed = 0', '[sweep]\nseed = 0\nmode = "diagonal"', ":23:", "sweep.mode"),       # bad option
    ('[run]', '[runs]', ":16:", "runs"),                                                       # unknown section
    ('seed = 0', 'seed = 0\nseed = 1', "line 23", ""),                                         # not TOML
])
def test_bad_configs_name_the_line_and_key(old, new, where, key):
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    with pytest.raises(ConfigError) as info:
        loads(text, "c.toml")
    msg = str(info.value)
    assert msg.startswith("c.toml") and where in msg and key in msg, msg


def test_cli_reports_a_bad_config_and_computes_nothing(tmp_path, capsys, monkeypatch):
    import methods

    monkeypatch.setattr(methods, "sweep", lambda *a, **k: pytest.fail("sweep ran on a bad config"))
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("paths = 64", "paths = -1"))
    assert main(["sweep", str(bad), "--out", str(tmp_path / "x.nc")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:18: run.paths" in err and not (tmp_path / "x.nc").exists()


def test_the_example_runs(tmp_path, capsys):
    out = tmp_path / "lr_sigma.nc"
    assert main(["sweep", str(EXAMPLE), "--out", str(out)]) == 0
    ds = xarray_io.load(out)
    assert dict(ds["stationary"].sizes) == {"optimizer.lr": 3, "noise.sigma": 3}
    assert (out.parent / "lr_sigma.nc.parts").is_dir()
    # exact stationary level of SGD on diag(1, 2, 4) with Gaussian noise: sum_j lr s^2 / (2 (2 - lr h_j))
    # (derived here); the example's floors agree within 4 standard errors
    for lr in ds["optimizer.lr"].values:
        for s in ds["noise.sigma"].values:
            exact = sum(lr * s * s / (2 * (2 - lr * h)) for h in (1.0, 2.0, 4.0))
            p = ds.sel({"optimizer.lr": lr, "noise.sigma": s})
            assert abs(float(p["stationary"]) - exact) < 4 * float(p["stationary_stderr"]), (lr, s)
    assert "stationary loss" in capsys.readouterr().out


def test_readme_shows_the_example():
    text = (ROOT / "README.md").read_text()
    assert "sde-workbench sweep examples/sweep_lr_sigma.toml" in text


def test_compare_engine_from_a_config():
    from figures.sweep_config import point_fn, sweep_options
    from methods import sweep

    text = (GOOD.replace('"DCSGD"', '"SGD"').replace("agents = 2\ncompressor = { type = \"RandK\", k = 1 }\n", "")
            .replace("x0 = 1.0", 'x0 = 1.0\nengine = "compare"\nkinds = ["classic"]\nthreads = 1'))
    cfg = loads(text, "c.toml")
    ds = sweep(point_fn(cfg), cfg.grid, cache=False, **sweep_options(cfg))
    assert list(ds["member"].values) == ["discrete", "classic"]
    assert ds["mean"].dims == ("optimizer.lr", "member", "time")
    with pytest.raises(ConfigError, match=r"c.toml:\d+: run.kinds: 'phase1'"):
        loads(text.replace('["classic"]', '["classic", "phase1"]'), "c.toml")
