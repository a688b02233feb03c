"""methods.sweep on a dask.distributed LocalCluster of processes: bit-identical to threads, and a
worker process killed mid-sweep loses no point."""
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

from methods import landscapes as L, noise as N, optimizers as O, simulate, sweep  # noqa: E402

# the workers cannot import this test module: send its functions by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

F = L.DiagonalQuadratic([1.0, 2.0, 4.0])
GRID = {"lr": [0.01, 0.02], "sigma": [0.5, 1.0, 2.0, 4.0]}


def run_point(p, seed, pause=0.0):
    time.sleep(pause)  # a slow point, so that the fault test can kill a worker in the middle of one
    return simulate(F, O.SGD(lr=p["lr"]), N.Gaussian(p["sigma"]), x0=1.0, steps=600, paths=256, seed=seed,
                    save_every=20, threads=1)


def slow_point(p, seed):
    return run_point(p, seed, pause=0.4)


@pytest.fixture(scope="module")
def client():
    """Two worker processes under ``DASK_COMPUTE_CONFIG`` (the settings the docs recommend for
    compute-bound sweeps; the fault test runs with them)."""
    import dask
    from distributed import Client, LocalCluster

    from methods.sweep import DASK_COMPUTE_CONFIG

    with dask.config.set(DASK_COMPUTE_CONFIG), LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def reference():
    return sweep(run_point, GRID, seed=0, cache=False, workers=2)


def test_threads_and_local_cluster_are_bit_identical(client, reference):
    ds = sweep(run_point, GRID, seed=0, cache=False, client=client)
    xr.testing.assert_identical(ds, reference)
    for name in ds.data_vars:
        assert ds[name].values.tobytes() == reference[name].values.tobytes(), name
    # each worker process built the one kernel combination once, for all the points it ran
    built = client.run(lambda: len(__import__("methods.engine", fromlist=["_KERNELS"])._KERNELS))
    assert set(built.values()) <= {0, 1} and 1 in built.values(), built
    # a scheduler address works too (the sweep opens and closes its own client)
    one = sweep(run_point, {"lr": [0.01], "sigma": [0.5]}, seed=0, cache=False, client=client.scheduler.address)
    np.testing.assert_array_equal(one["mean"].sel(lr=0.01, sigma=0.5), reference["mean"].sel(lr=0.01, sigma=0.5))


def test_a_killed_worker_loses_no_point(client, reference, tmp_path):
    pids = client.run(os.getpid)  # worker address -> pid
    killed = {}

    def kill_one_busy_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = len(list(tmp_path.rglob("point-*.npz")))
            busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
            if done >= 1 and busy:  # at least one point finished, and this worker is running one
                killed["pid"], killed["done"] = pids[busy[0]], done
                os.kill(pids[busy[0]], signal.SIGKILL)
                return
            time.sleep(0.05)

    undisturbed = sweep(slow_point, GRID, seed=0, cache=False, workers=2)
    killer = threading.Thread(target=kill_one_busy_worker)
    killer.start()
    ds = sweep(slow_point, GRID, seed=0, cache=tmp_path, client=client)
    killer.join()
    assert "pid" in killed and killed["done"] < len(reference["point_seed"].values.ravel())
    assert killed["pid"] not in client.run(os.getpid).values()  # that process is gone (the nanny restarted one)
    xr.testing.assert_identical(ds, undisturbed)
    assert len(list(tmp_path.rglob("point-*.npz"))) == 8
    # a rerun reads every point from the cache
    xr.testing.assert_identical(sweep(slow_point, GRID, seed=0, cache=tmp_path, client=client), undisturbed)


def test_compute_config_names_settings_dask_knows():
    """Every key of ``DASK_COMPUTE_CONFIG`` is one of dask's own settings (a renamed key in a newer
    dask would otherwise be ignored without a word), and it reaches the worker processes."""
    import dask

    from methods.sweep import DASK_COMPUTE_CONFIG

    defaults = dask.config.merge(*dask.config.defaults)  # dask's own settings, whatever is set now
    for key in DASK_COMPUTE_CONFIG:
        dask.config.get(key, config=defaults)  # KeyError for a setting dask does not have
    assert DASK_COMPUTE_CONFIG["distributed.worker.profile.enabled"] is False


def test_the_workers_run_under_the_compute_config(client):
    from methods.sweep import DASK_COMPUTE_CONFIG

    def read():
        import dask

        return {k: dask.config.get(k) for k in DASK_COMPUTE_CONFIG}

    for got in client.run(read).values():
        assert got == DASK_COMPUTE_CONFIG


def test_client_must_be_a_client_or_an_address():
    with pytest.raises(ValueError, match="client"):
        sweep(run_point, GRID, seed=0, cache=False, client=3)


def test_cli_scheduler_gives_the_threads_result(client, tmp_path):
    from pathlib import Path

    from figures.cli import main
    from methods import xarray_io

    example = str(Path(__file__).resolve().parent.parent / "examples" / "sweep_lr_sigma.toml")
    assert main(["sweep", example, "--out", str(tmp_path / "threads.nc"), "--no-cache"]) == 0
    assert main(["sweep", example, "--out", str(tmp_path / "dask.nc"), "--no-cache",
                 "--scheduler", client.scheduler.address]) == 0
    xr.testing.assert_identical(xarray_io.load(tmp_path / "dask.nc"), xarray_io.load(tmp_path / "threads.nc"))
