"""Every claim of the registry (figures.claims.CLAIMS) in its quick mode, so that a broken claim fails
the suite; and the machine-readable report of ``sde-workbench verify --json``.

The figure cache lives in a directory of this test session (the claims share figure computations
through it, so each quick figure is computed once here)."""
import json
import os

import pytest

from figures.claim_base import STATUSES, is_known_paper
from figures.claims import CLAIMS


@pytest.fixture(scope="module", autouse=True)
def session_cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("claims-cache")
    old = os.environ.get("SDE_WORKBENCH_CACHE")
    os.environ["SDE_WORKBENCH_CACHE"] = str(path)
    yield path
    if old is None:
        del os.environ["SDE_WORKBENCH_CACHE"]
    else:
        os.environ["SDE_WORKBENCH_CACHE"] = old


def test_registry_is_well_formed():
    ids = [c.id for c in CLAIMS]
    assert len(ids) == len(set(ids))
    for c in CLAIMS:
        assert c.status in STATUSES
        assert is_known_paper(c.paper), c.id
        assert c.where and c.statement and c.how


# claims whose quick run takes more than about 10 s on 2 cores: behind ``slow`` here (verify --quick still runs them)
# (on a cold numba cache; the full registry's quick run is the slow test_verify_json_report_of_every_claim)
SLOW_QUICK = {"svag-converges-to-minibatch-sde", "ef21-topk-heterogeneous", "heavy-tails-sign-converges",
              "sde-tracks-discrete", "minibatch-sde-tracks-sgd-on-an-mlp", "e1-constant-step-diverges-with-omega"}
FAST = [c for c in CLAIMS if c.id not in SLOW_QUICK]


@pytest.mark.parametrize("claim", [pytest.param(c, marks=pytest.mark.slow) if c.id in SLOW_QUICK else c for c in CLAIMS],
                         ids=[c.id for c in CLAIMS])
def test_claim_passes_in_quick_mode(claim):
    r = claim.evaluate(True)
    assert {"passed", "predicted", "measured", "summary"} <= set(r), claim.id
    assert r["passed"], f"{claim.id}: measured {r['measured']}; predicted {r['predicted']}; criterion {r.get('criterion')}"


def _check_verify_json(tmp_path, capsys, claims, extra):
    from figures.cli import main

    out, rep = tmp_path / "claims.json", tmp_path / "claims.md"
    assert main(["verify", "--quick", "--json", str(out), "--report", str(rep)] + extra) == 0
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    recs = doc["claims"]
    assert [r["id"] for r in recs] == [c.id for c in claims]
    for r, c in zip(recs, claims):
        for key in ("id", "paper", "where", "status", "verdict", "predicted", "measured", "criterion"):
            assert isinstance(r[key], str) and r[key], (c.id, key)
        assert r["paper"] == c.paper and r["where"] == c.where and r["status"] == c.status
        assert r["verdict"] in ("pass", "fail")
        assert r["se"] is None or isinstance(r["se"], (int, float))
    assert rep.read_text().startswith("# Claims")
    assert "json:" in capsys.readouterr().out


def test_verify_json_report(tmp_path, capsys):
    """``sde-workbench verify --quick --json PATH --claims ...``: one record per chosen claim with id, paper,
    where, status, verdict, predicted, measured and criterion (figures come from this session's cache);
    an unknown id is refused."""
    from figures.cli import main

    _check_verify_json(tmp_path, capsys, FAST, ["--claims"] + [c.id for c in FAST])
    assert main(["verify", "--quick", "--claims", "no-such-claim", "--report", str(tmp_path / "x.md")]) == 2


@pytest.mark.slow
def test_verify_json_report_of_every_claim(tmp_path, capsys):
    """The same for the whole registry (``verify --quick`` without ``--claims``)."""
    _check_verify_json(tmp_path, capsys, CLAIMS, [])


@pytest.mark.slow
@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_passes_in_full_mode(claim):
    """The full settings (``sde-workbench verify``): long, behind ``slow``."""
    r = claim.evaluate(False)
    assert r["passed"], f"{claim.id}: measured {r['measured']}; predicted {r['predicted']}; criterion {r.get('criterion')}"
