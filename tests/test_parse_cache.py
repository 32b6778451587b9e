"""belmig.core.parsecache.included_snakefiles: Snakemake's translation of an included rule file is
kept while the file is unchanged, and it is the translation Snakemake's parser gives."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from belmig.core import parsecache

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def parsing(monkeypatch, tmp_path):
    """(the cached parse, Snakemake's own parse, a new workflow stand-in, the cache folder)."""
    import snakemake.api  # noqa: F401 (before snakemake.workflow, which imports it)
    from snakemake import parser, workflow
    from snakemake.sourcecache import SourceCache

    monkeypatch.setattr(workflow, "parse", parser.parse)
    cache = tmp_path / "cache"
    assert parsecache.included_snakefiles(cache)
    assert parsecache.included_snakefiles(cache)  # twice is once
    runs = iter(range(1000))

    def wf():  # a run's workflow: its own copies of the files it reads (Snakemake's runtime cache)
        run = tmp_path / f"run{next(runs)}"
        return types.SimpleNamespace(sourcecache=SourceCache(run / "sources", runtime_cache_path=run / "runtime"))

    return workflow.parse, parser.parse, wf, cache


def _translate(parse, path: Path, wf, rulecount: int):
    from snakemake.sourcecache import LocalSourceFile

    linemap: dict[int, int] = {}
    code, count = parse(LocalSourceFile(str(path)), wf(), linemap=linemap, rulecount=rulecount)
    return code, count, linemap


@pytest.mark.parametrize("rules", ["report.smk", "charts.smk", "manifest.smk"])
def test_a_kept_translation_is_snakemakes_own(parsing, rules):
    cached, own, wf, cache = parsing
    path = ROOT / "rules" / rules
    expected = _translate(own, path, wf, 5)
    first = _translate(cached, path, wf, 5)  # translated, then kept
    assert first == expected
    assert len(list(cache.iterdir())) == 1
    again = _translate(cached, path, wf, 5)  # from the cache
    assert again == expected
    assert again[2] == expected[2] and again[2]  # the line map errors are reported with
    assert _translate(cached, path, wf, 9) == _translate(own, path, wf, 9)  # another rule count


def test_an_edited_file_is_translated_again(parsing, tmp_path):
    cached, own, wf, cache = parsing
    smk = tmp_path / "rules.smk"
    smk.write_text('rule a:\n    output:\n        "a.txt"\n    shell:\n        "touch {output}"\n')
    assert _translate(cached, smk, wf, 0) == _translate(own, smk, wf, 0)
    smk.write_text('rule b:\n    output:\n        "b.txt"\n    shell:\n        "touch {output}"\n')
    code, count, _ = _translate(cached, smk, wf, 0)
    assert "name='b'" in code.replace('"', "'") and "name='a'" not in code.replace('"', "'")
    assert (code, count) == _translate(own, smk, wf, 0)[:2]
    assert len(list(cache.iterdir())) == 1  # one entry a file


def test_a_damaged_entry_is_translated_again(parsing, tmp_path):
    cached, own, wf, cache = parsing
    path = ROOT / "rules" / "common.smk"
    _translate(cached, path, wf, 0)
    (entry,) = cache.iterdir()
    entry.write_bytes(b"not marshal")
    assert _translate(cached, path, wf, 0) == _translate(own, path, wf, 0)


def test_another_parser_is_left_alone(monkeypatch, tmp_path):
    import snakemake.api  # noqa: F401
    from snakemake import workflow

    def other(*a, **k):
        return "", 0

    monkeypatch.setattr(workflow, "parse", other)
    assert parsecache.included_snakefiles(tmp_path) is False
    assert workflow.parse is other
