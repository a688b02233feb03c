"""The figure pipeline: cache (atomic, corrupt entries recomputed), CLI, claims report."""
import os
import subprocess
import sys

import numpy as np
import pytest

from figures import FIGURES, cache
from figures.cli import main


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SDE_WORKBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cache_hits_and_recovers_from_corruption(tmp_cache):
    calls = []

    def compute(s):
        calls.append(s)
        return {"x": np.arange(3) * s["a"]}

    mod = FIGURES["agents"]
    d1, hit1 = cache.cached("demo", {"a": 2}, mod, compute)
    d2, hit2 = cache.cached("demo", {"a": 2}, mod, compute)
    assert not hit1 and hit2 and len(calls) == 1
    np.testing.assert_array_equal(d2["x"], [0, 2, 4])
    _, hit3 = cache.cached("demo", {"a": 3}, mod, compute)  # other settings: another entry
    assert not hit3 and len(calls) == 2
    (entry,) = [p for p in (tmp_cache / "sde-workbench").glob("demo-*.npz") if np.load(p)["x"][1] == 2]
    entry.write_bytes(b"not an npz")                        # a corrupt entry is recomputed, not trusted
    d4, hit4 = cache.cached("demo", {"a": 2}, mod, compute)
    assert not hit4 and len(calls) == 3 and d4["x"][2] == 4
    assert not list((tmp_cache / "sde-workbench").glob("*.tmp"))  # no partial files left behind


def test_cli_figures_list_and_unknown(tmp_cache, tmp_path, capsys):
    assert main(["figures", "--quick", "--out", str(tmp_path / "out"), "adamw_weight_decay"]) == 0
    assert (tmp_path / "out" / "adamw_weight_decay.png").stat().st_size > 10_000
    assert (tmp_path / "out" / "adamw_weight_decay.pdf").exists()
    assert main(["figures", "--quick", "--out", str(tmp_path / "out"), "adamw_weight_decay"]) == 0
    assert "cached" in capsys.readouterr().out
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in FIGURES) and "recovered" in out
    with pytest.raises(SystemExit, match="unknown figure"):
        main(["figures", "no_such_figure"])


def test_console_script_is_installed():
    exe = os.path.join(os.path.dirname(sys.executable), "sde-workbench")
    out = subprocess.run([exe, "list"], capture_output=True, text=True, check=True).stdout
    assert "claims:" in out
