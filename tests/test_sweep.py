"""methods.sweep on threads: grid, seeds, statistics, cache and resume, netCDF round trips."""
import numpy as np
import pytest

xr = pytest.importorskip("xarray")

from methods import landscapes as L, noise as N, optimizers as O, simulate, sweep  # noqa: E402
from methods import summary, xarray_io  # noqa: E402
from methods.sweep import grid_points, point_seed  # noqa: E402

H = [1.0, 2.0, 4.0]
F = L.DiagonalQuadratic(H)
GRID = {"lr": [0.01, 0.02], "sigma": [0.5, 1.0, 2.0]}
CALLS = []
FAIL_AT = set()


def run_point(p, seed):
    CALLS.append(p)
    if (p["lr"], p["sigma"]) in FAIL_AT:
        raise RuntimeError("planned failure")
    return simulate(F, O.SGD(lr=p["lr"]), N.Gaussian(p["sigma"]), x0=1.0, steps=600, paths=256, seed=seed,
                    save_every=20, threads=1)


def test_grid_cross_and_zip():
    names, shape, pts = grid_points({"a": [1, 2], "b": ["x", "y", "z"]})
    assert names == ["a", "b"] and shape == (2, 3) and pts[1] == {"a": 1, "b": "y"} and pts[3] == {"a": 2, "b": "x"}
    _, shape, pts = grid_points({"a": [1, 2], "b": [3, 4]}, "zip")
    assert shape == (2,) and pts == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    for bad, arg in (({"a": [1], "b": [1, 2]}, "zip"), ({}, "cross"), ({"a": []}, "cross"), ({"a": 3}, "cross"),
                     ({"a": [1, 1]}, "cross"), ({"time": [1]}, "cross"), ({"a": [1]}, "diagonal")):
        with pytest.raises(ValueError):
            grid_points(bad, arg)


def test_point_seed_is_the_spawned_child():
    kids = np.random.SeedSequence(7).spawn(5)
    for i, k in enumerate(kids):
        assert point_seed(7, i) == int(k.generate_state(1, np.uint64)[0]) & ((1 << 63) - 1)
    assert len({point_seed(7, i) for i in range(100)}) == 100


def test_bad_arguments_name_themselves():
    for kw, name in (({"seed": -1}, "seed"), ({"seed": 0, "workers": 0}, "workers"),
                     ({"seed": 0, "quantiles": [1.5]}, "quantiles"), ({"seed": 0, "burn_in": 1.0}, "burn_in"),
                     ({"seed": 0, "cache": 3}, "cache")):
        with pytest.raises(ValueError, match=name):
            sweep(run_point, GRID, **kw)
    with pytest.raises(ValueError, match="fn"):
        sweep(3, GRID, seed=0)


@pytest.fixture(scope="module")
def reference():
    return sweep(run_point, GRID, seed=0, cache=False, workers=1)


def test_dataset_layout_and_statistics(reference):
    ds = reference
    assert dict(ds.sizes) == {"lr": 2, "sigma": 3, "time": 31, "quantile": 4}
    assert ds["mean"].dims == ("lr", "sigma", "time") and ds["quantiles"].dims == ("lr", "sigma", "quantile", "time")
    assert ds["t"].dims == ("lr", "sigma", "time")  # save times differ with lr
    assert ds.attrs["seed"] == 0 and ds.attrs["source_hash"] and ds.attrs["version"]
    # each point is exactly fn(point, point_seed(seed, i)) reduced by Run's own statistics
    i = 4  # lr = 0.02, sigma = 1.0
    run = run_point({"lr": 0.02, "sigma": 1.0}, point_seed(0, i))
    at = ds.sel(lr=0.02, sigma=1.0)
    assert int(at["point_seed"]) == point_seed(0, i)
    np.testing.assert_array_equal(at["mean"], run.mean())
    np.testing.assert_array_equal(at["stderr"], run.stderr())
    np.testing.assert_array_equal(at["median"], run.median())
    np.testing.assert_array_equal(at["quantiles"], run.quantile("loss", [0.1, 0.25, 0.75, 0.9]))
    assert (float(at["stationary"]), float(at["stationary_stderr"])) == run.time_average("loss")
    assert int(at["paths"]) == 256 and int(at["diverged"].max()) == 0
    # and the stationary level is the exact floor of the linear recursion, sum_j lr s^2 / (2 (2 - lr h_j))
    # (derived here), within 4 standard errors at every point
    for lr in GRID["lr"]:
        for s in GRID["sigma"]:
            exact = sum(lr * s * s / (2 * (2 - lr * h)) for h in H)
            p = ds.sel(lr=lr, sigma=s)
            assert abs(float(p["stationary"]) - exact) < 4 * float(p["stationary_stderr"]), (lr, s)


def test_bit_identical_for_any_worker_count_and_zip_order(reference):
    many = sweep(run_point, GRID, seed=0, cache=False, workers=4)
    xr.testing.assert_identical(reference, many)
    # zipped grid: point 0 is the same point and index as the crossed grid's point 0 -> same numbers
    z = sweep(run_point, {"lr": [0.01], "sigma": [0.5]}, seed=0, mode="zip", cache=False)
    np.testing.assert_array_equal(z["mean"].isel(point=0), reference["mean"].sel(lr=0.01, sigma=0.5))
    other = sweep(run_point, GRID, seed=1, cache=False)
    assert not np.array_equal(other["mean"].values[..., 1:], reference["mean"].values[..., 1:])


def test_divergence_is_counted():
    def fn(p, seed):
        return simulate(F, O.SGD(lr=p["lr"]), N.Gaussian(1.0), x0=1.0, steps=400, paths=128, seed=seed,
                        blowup=1e6, save_every=20, threads=1)

    ds = sweep(fn, {"lr": [0.01, 0.6]}, seed=3, cache=False)  # lr * 4 = 2.4 > 2: every path diverges
    assert int(ds["diverged"].sel(lr=0.01).max()) == 0
    d = ds["diverged"].sel(lr=0.6).values
    assert d[-1] == 128 and d[0] == 0 and np.all(np.diff(d) >= 0)
    assert np.isnan(float(ds["stationary"].sel(lr=0.6))) and np.isinf(ds["median"].sel(lr=0.6).values[-1])


def test_cache_resumes_a_failed_sweep(tmp_path, reference):
    FAIL_AT.add((0.02, 1.0))
    CALLS.clear()
    try:
        with pytest.raises(RuntimeError, match="planned failure"):
            sweep(run_point, GRID, seed=0, cache=tmp_path, workers=2)
    finally:
        FAIL_AT.clear()
    assert len(CALLS) == 6 and len(list(tmp_path.rglob("point-*.npz"))) == 5
    CALLS.clear()
    ds = sweep(run_point, GRID, seed=0, cache=tmp_path)
    assert CALLS == [{"lr": 0.02, "sigma": 1.0}]  # only the missing point ran
    xr.testing.assert_identical(ds, reference)
    # a corrupt entry is recomputed; nothing in the cache is a pickle
    victim = sorted(tmp_path.rglob("point-*.npz"))[0]
    victim.write_bytes(b"not an npz")
    CALLS.clear()
    xr.testing.assert_identical(sweep(run_point, GRID, seed=0, cache=tmp_path), reference)
    assert len(CALLS) == 1
    for f in tmp_path.rglob("point-*.npz"):
        with np.load(f, allow_pickle=False) as z:
            assert all(z[k].dtype != object for k in z.files)
    # another seed or other settings never read these entries
    CALLS.clear()
    sweep(run_point, {"lr": [0.01], "sigma": [0.5]}, seed=0, cache=tmp_path, quantiles=[0.5])
    assert len(CALLS) == 1


def test_netcdf_round_trip(tmp_path, reference):
    path = xarray_io.save(reference, tmp_path / "s.nc")
    back = xarray_io.load(path)
    xr.testing.assert_identical(back, reference)
    run = run_point({"lr": 0.01, "sigma": 1.0}, 5)
    rd = run.to_xarray()
    back = xarray_io.load(xarray_io.save(rd, tmp_path / "r.nc"))
    xr.testing.assert_identical(back, rd)
    r2 = xarray_io.run_from_xarray(back)
    for name in ("t", "step", "loss", "grad_norm", "diverged_at"):
        np.testing.assert_array_equal(getattr(r2, name), getattr(run, name))
    assert r2.seed == 5 and r2.time_average() == run.time_average()


def test_comparison_sweep_and_export(tmp_path):
    import sde

    def fn(p, seed):
        return sde.compare(F, O.SGD(lr=p["lr"]), N.Gaussian(1.0), x0=1.0, steps=200, paths=128, seed=seed,
                           kinds=["classic"], save_every=20, threads=1)

    ds = sweep(fn, {"lr": [0.01, 0.02]}, seed=0, cache=False)
    assert ds["mean"].dims == ("lr", "member", "time") and list(ds["member"].values) == ["discrete", "classic"]
    cmp = fn({"lr": 0.02}, point_seed(0, 1))
    np.testing.assert_array_equal(ds["mean"].sel(lr=0.02, member="classic"), cmp.sde["classic"].mean())
    cx = cmp.to_xarray()
    assert cx["loss"].dims == ("member", "time", "path")
    np.testing.assert_array_equal(cx["loss"].sel(member="discrete"), cmp.discrete.loss)
    xr.testing.assert_identical(xarray_io.load(xarray_io.save(cx, tmp_path / "c.nc")), cx)


def test_summary_refuses_other_results():
    with pytest.raises(ValueError, match="result"):
        summary.summarize(object())


def test_cache_key_follows_what_fn_captures():
    from methods.sweep import _fn_key

    def make(v):
        return lambda p, seed: (v, p)

    big = np.zeros(5000)
    other = big.copy()
    other[2500] = 1.0  # differs only where numpy's repr would print "..."
    assert _fn_key(make(0.1)) == _fn_key(make(0.1)) != _fn_key(make(0.2))
    assert _fn_key(make(big)) == _fn_key(make(big.copy())) != _fn_key(make(other))
    assert _fn_key(make(L.DiagonalQuadratic(np.ones(3000)))) != _fn_key(make(L.DiagonalQuadratic(other[:3000] + 1)))
    assert _fn_key(run_point) != _fn_key(make(0.1))


def test_cache_warns_when_fn_cannot_be_keyed(tmp_path):
    token = object()  # its repr names a memory address: a different key in every process

    def fn(p, seed):
        assert token is not None
        return run_point(p, seed)

    with pytest.warns(RuntimeWarning, match="memory address"):
        sweep(fn, {"lr": [0.01], "sigma": [0.5]}, seed=0, cache=tmp_path)
