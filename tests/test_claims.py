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
SLOW_QUICK = {"svag-converges-to-minibatch-sde"}


@pytest.mark.parametrize("claim", [pytest.param(c, marks=pytest.mark.slow) if c.id in SLOW_QUICK else c for c in CLAIMS],
                         ids=[c.id for c in CLAIMS])
def test_claim_passes_in_quick_mode(claim):
    r = claim.evaluate(True)
    assert {"passed", "predicted", "measured", "summary"} <= set(r), claim.id
    assert r["passed"], f"{claim.id}: measured {r['measured']}; predicted {r['predicted']}; criterion {r.get('criterion')}"


def test_verify_json_report(tmp_path, capsys):
    """``sde-workbench verify --quick --json PATH``: one record per claim with id, paper, where, status, verdict,
    predicted, measured and criterion (figures come from this session's cache)."""
    from figures.cli import main

    out, rep = tmp_path / "claims.json", tmp_path / "claims.md"
    assert main(["verify", "--quick", "--json", str(out), "--report", str(rep)]) == 0
    doc = json.loads(out.read_text())
    assert doc["quick"] is True
    recs = doc["claims"]
    assert [r["id"] for r in recs] == [c.id for c in CLAIMS]
    for r, c in zip(recs, CLAIMS):
        for key in ("id", "paper", "where", "status", "verdict", "predicted", "measured", "criterion"):
            assert isinstance(r[key], str) and r[key], (c.id, key)
        assert r["paper"] == c.paper and r["where"] == c.where and r["status"] == c.status
        assert r["verdict"] in ("pass", "fail")
        assert r["se"] is None or isinstance(r["se"], (int, float))
    assert rep.read_text().startswith("# Claims")
    assert "json:" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_claim_passes_in_full_mode(claim):
    """The full settings (``sde-workbench verify``): long, behind ``slow``."""
    r = claim.evaluate(False)
    assert r["passed"], f"{claim.id}: measured {r['measured']}; predicted {r['predicted']}; criterion {r.get('criterion')}"
