"""Issue 14, "done when": the attack suite (tests/attacks) finds nothing on a fresh DAG build of
the synthetic export and on the planted variant (a 2-person gender group and a unique legal
status), over everything the build publishes, the `snakemake --report` bundle included.

Two builds: the shared `built_repo` (tests/conftest.py) and one planted build in a temporary
copy, pointed at its export by an *absolute* path (the hard case for the leak scan).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import BIN, dag_env, run_snakemake

from belmig.privacy import kanon

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
BUNDLE = "report/snakemake-report.zip"
# the attacks whose success fails a build; warnings (non-response counts, e-mail shapes of the
# bundled JavaScript authors) are reported but do not fail
MUST_BE_ZERO = [
    "manifest.unlisted", "manifest.missing", "primary.published", "primary.test",
    "differencing.within", "differencing.across", "differencing.release", "differencing.suppressed",
    "profiles.singled_out", "kanon.attacker", "kanon.extra", "kanon.weights", "kanon.marked_blank",
    "weights.mix_solved",
    "leaks.free_text", "leaks.identifier", "leaks.failed_notebook", "order.submission",
]  # fmt: skip


def _bundle_and_attack(root: Path):
    """Add the snakemake --report bundle to the build and its manifest, attack, then put the
    build back as it was (other tests share it)."""
    sys.path.insert(0, str(REPO))
    from tests.attacks.run import attack

    manifest = root / "public_manifest.json"
    before = manifest.read_bytes()
    try:
        run_snakemake(root, "--report", BUNDLE)
        subprocess.run(
            [str(BIN / "python"), "-m", "belmig.privacy", "manifest", "--out", "public_manifest.json", "--extend",
             "--public", BUNDLE],
            cwd=root, env=dag_env(root), check=True, capture_output=True,
        )  # fmt: skip
        return attack(root)
    finally:
        (root / BUNDLE).unlink(missing_ok=True)
        manifest.write_bytes(before)


def _summary(rep) -> dict[str, int]:
    return {a: rep.count(a) for a in MUST_BE_ZERO + ["leaks.abs_path"]}


@pytest.fixture(scope="module")
def default_attack(built_repo):
    return _bundle_and_attack(built_repo)


@pytest.fixture(scope="module")
def planted(built_repo, tmp_path_factory):
    """A build of the planted variant, its raw export named by an absolute path. It starts from
    a copy of the default build, so only the stages from ingestion on run again."""
    root = tmp_path_factory.mktemp("planted") / "repo"
    shutil.copytree(built_repo, root, symlinks=True, ignore=shutil.ignore_patterns("snakemake-report.zip"))
    raw = root / "data/raw"
    subprocess.run(
        [str(BIN / "python"), "-m", "tests.attacks.planted", str(raw / "synthetic_export.csv"),
         str(raw / "planted_export.csv")],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    run_snakemake(root, "--config", f"raw_export={raw / 'planted_export.csv'}")
    return root


@pytest.fixture(scope="module")
def planted_attack(planted):
    return _bundle_and_attack(planted)


def test_the_attack_suite_finds_nothing_on_the_default_build(default_attack):
    rep = default_attack
    assert rep.files >= 100  # report, values, 72 chart files, 8 release files, notebooks, the bundle
    assert _summary(rep) == dict.fromkeys(MUST_BE_ZERO + ["leaks.abs_path"], 0), [
        (f.attack, f.title) for f in rep.findings if f.severity == "fail"
    ][:10]
    assert not rep.failed
    # it did look: the published values, the release and its k counted the attacker's way
    assert rep.info["facts"] > 1000
    assert rep.info["kanon"]["distribution"]["1"] == 0
    assert rep.info["order"]["matched"] == 335 and abs(rep.info["order"]["rho_row"]) < 0.2


def test_the_attack_suite_finds_nothing_on_the_planted_variant(planted_attack, planted):
    rep = planted_attack
    truth = pd.read_parquet(planted / "data/processed/responses.parquet")
    assert int((truth["sex"] == "other").sum()) == 2 and int((truth["legal_status"] == "other").sum()) == 1
    found = _summary(rep)
    found.pop("leaks.abs_path")  # asserted on its own below
    assert found == dict.fromkeys(MUST_BE_ZERO, 0), [
        (f.attack, f.title) for f in rep.findings if f.severity == "fail" and f.attack != "leaks.abs_path"
    ][:10]
    # the small groups exist in the data but are singled out nowhere
    assert all(not g["singled_out"] for g in rep.info.get("small_groups", []))


def test_no_absolute_path_in_any_public_file_of_the_planted_build(planted_attack):
    """The planted build got its export by an absolute path: notebook parameters, the reviewers'
    index and the bundle must still hold relative paths only (belmig.core.nbrun)."""
    leaks = [f.title for f in planted_attack.findings if f.attack == "leaks.abs_path"]
    assert leaks == []


def test_the_planted_build_withholds_what_would_give_the_small_groups_away(planted):
    pub = json.loads((planted / "data/processed/public_values.json").read_text(encoding="utf-8"))
    withheld = {k for k, d in pub["decisions"].items() if not d["public"]}
    rounded = {k: d["text"] for k, d in pub["decisions"].items() if d["public"] and d.get("text")}
    assert withheld or rounded, "the planted groups must cost something"
    assert any("legal_status=other" in r for r in pub["recoveries_before"])
    import yaml

    def flat(d, pre=""):
        for k, v in d.items():
            yield from flat(v, f"{pre}{k}.") if isinstance(v, dict) else [(f"{pre}{k}", v)]

    variables = dict(flat(yaml.safe_load((planted / "report/_variables.yml").read_text(encoding="utf-8"))))
    # _variables.yml holds what the report may print: the public values (rounded where decided),
    # "–" for the withheld ones, and nothing else of the ledger (about 5,000 values stay internal)
    assert set(variables) <= set(pub["decisions"])
    assert {k for k, v in variables.items() if v == "–"} == withheld & set(variables)
    assert all(variables[k] == t for k, t in rounded.items() if k in variables)
    assert len(variables) < 320
    md = " ".join((planted / "report/_generated/protection.md").read_text(encoding="utf-8").split())
    if withheld:
        assert f"**Not printed** (shown as “–”): {len(withheld)} value(s)" in md
    if rounded:
        assert "**Printed to whole percent**" in md
    # chart 5 hides the unique legal status and one more bar, so neither can be worked out
    chart5 = json.loads((planted / "figures/chart05.json").read_text(encoding="utf-8"))
    assert sum(b["suppressed"] for b in chart5["bars"]) == 2


def test_the_release_is_k_anonymous_the_attackers_way_on_every_key_set(built_repo):
    import yaml

    priv = yaml.safe_load((built_repo / "config/config.yaml").read_text(encoding="utf-8"))["privacy"]
    truth = pd.read_parquet(built_repo / "data/processed/responses.parquet")
    rel = pd.read_csv(built_repo / "data/release/microdata.csv", dtype=str, keep_default_na=False, na_values=[""])
    rel = rel.astype(object).where(rel.notna(), None)
    from belmig.core import codebook

    cb = codebook.load(built_repo / "config/codebook.yaml")
    cats = {q: cb[q].keys for q in priv["quasi_identifiers"] + priv["extra_identifiers"]}
    qis = priv["quasi_identifiers"]
    assert kanon.attacker_counts(truth, rel, qis, cats).min() >= priv["k_anonymity"]
    for extra in priv["extra_identifiers"]:
        assert kanon.attacker_counts(truth, rel, qis + [extra], cats).min() >= priv["k_anonymity"], extra
    summary = json.loads((built_repo / "data/processed/release_summary.json").read_text(encoding="utf-8"))
    assert summary["individual_risk"]["max"] < 1 / priv["k_anonymity"]
    readme = (built_repo / "data/release/README.txt").read_text(encoding="utf-8")
    assert "raked again to the population margins" in " ".join(readme.split())
