"""The keys file the disclosure audit reads instead of the report's text (belmig.report.textkeys)."""

from __future__ import annotations

import pytest

from belmig.report import textkeys

TEXT = """# A {#sec-a}

Most left for political reasons ([{{< var pct.b.x >}}]{.claim guard="b-x-most"}), then {{< var pct.a.y >}}
and again {{< var pct.b.x >}}.
"""
GUARDS = """b-x-most:
  when: wpct.b.x > 50
"""


def test_printed_keys_in_order_of_first_use_and_claim_keys_apart(tmp_path):
    qmd = tmp_path / "r.qmd"
    qmd.write_text(TEXT, encoding="utf-8")
    guards = tmp_path / "claims.yaml"
    guards.write_text(GUARDS, encoding="utf-8")
    keys = textkeys.text_keys([qmd], guards)
    # the claim span opens before the value it holds
    assert keys == {"used": ["wpct.b.x", "pct.b.x", "pct.a.y"], "printed": ["pct.b.x", "pct.a.y"]}
    assert textkeys.claim_keys(keys) == ["wpct.b.x"]


def test_the_file_is_rewritten_only_when_the_keys_change(tmp_path):
    out = tmp_path / "processed" / "report_keys.json"
    keys = {"used": ["pct.b.x"], "printed": ["pct.b.x"]}
    assert textkeys.write_if_changed(out, keys) is True
    mtime = out.stat().st_mtime_ns
    assert textkeys.write_if_changed(out, {"used": ["pct.b.x"], "printed": ["pct.b.x"]}) is False
    assert out.stat().st_mtime_ns == mtime
    assert textkeys.read(out) == keys
    assert textkeys.write_if_changed(out, {"used": ["pct.b.x", "n.b"], "printed": ["pct.b.x", "n.b"]}) is True
    assert textkeys.read(out)["printed"] == ["pct.b.x", "n.b"]


def test_a_file_that_is_not_a_keys_file_is_refused(tmp_path):
    bad = tmp_path / "k.json"
    bad.write_text('{"printed": []}', encoding="utf-8")  # no "used"
    with pytest.raises(ValueError, match="not a report keys file"):
        textkeys.read(bad)
