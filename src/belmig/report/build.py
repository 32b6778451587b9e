"""The report stage: check the text against the ledger, write generated tables, render.

``run_checks`` / ``check`` fail the build (ReportCheckError) when the prose holds a number that
is not a ledger value (or a number in words), uses a key the ledger lacks, states a claim whose
guard no longer holds or whose words say more than its condition, uses a quantifier without a
guard, or refers to a figure, table or section that does not exist; each problem names the
line, the sentence, the condition and the values.
``build`` writes ``report/_generated/*.md`` (appendix tables from processed data),
``report/_variables.yml`` (for Quarto users; public values only), the value diff against the
approved snapshot, the reviewers' values page, and renders PDF, HTML and DOCX with a provenance
stamp. Every file it reads or writes is passed in by the rule (rules/report.smk).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from belmig.core import paths
from belmig.core.ledger import Entry
from belmig.report import render, valuediff

HEADLINE_KEYS = (
    "reasons_exit.political",
    "reasons_exit.economic",
    "reasons_lithuania.visa",
    "legal_status.residence_permit",
    "legal_status.humanitarian_visa",
    "income_regular.yes",
    "support_programs.no",
    "discrimination.no",
    "war_impact.negative",
    "support_needs.language",
    "health_used.yes",
    "diaspora_known.yes",
    "diaspora_involved.yes",
    "return_plans.yes",
)

# The processed tables the appendix is generated from: parameter name -> how to read it.
TABLE_INPUTS = (
    "ingest",
    "flow",
    "diagnostics",
    "summary",
    "bases",
    "groups",
    "reproduction",
    "estimates",
    "levels",
    "multi_bases",
    "frame",
)


class ReportCheckError(RuntimeError):
    pass


def numeric_values(entries: Mapping[str, Entry]) -> dict[str, float]:
    return {
        k: e.value for k, e in entries.items() if isinstance(e.value, (int, float)) and not isinstance(e.value, bool)
    }


@dataclass
class CheckResult:
    source: str
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def message(self) -> str:
        from belmig.report import checks

        head = f"{self.source}: {len(self.errors)} problem(s)" if self.errors else f"{self.source}: no problem"
        if self.warnings:
            head += f", {len(self.warnings)} warning(s)"
        return head + ":\n" + checks.format_problems(self.errors, self.warnings)


def included_texts(qmd_text: str, base: Path, generated: Mapping[str, str] | None = None) -> dict[str, str]:
    """Text of every file the report includes (the generated tables from `generated` when given,
    else from disk, else nothing: their ids are then unknown and references to them are errors)."""
    out = {}
    for m in render.INCLUDE_RE.finditer(qmd_text):
        name = m.group(1)
        short = Path(name).name
        if generated is not None and short in generated:
            out[name] = generated[short]
        elif (base / name).exists():
            out[name] = (base / name).read_text(encoding="utf-8")
    return out


def run_checks(
    qmd: Path,
    entries: Mapping[str, Entry],
    *,
    allowlist: Path,
    guards_path: Path,
    lexicon_path: Path,
    codebook: Any | None = None,
    report_cfg: Mapping[str, Any] | None = None,
    generated: Mapping[str, str] | None = None,
    generated_dir: Path | None = None,
) -> CheckResult:
    """Every check of one edition (see ``belmig.report.checks.check_report``)."""
    from belmig.report import checks, guards, lexicon

    cfg = {"lint_numbers": True, "enforce_claims": True, **(report_cfg or {})}
    source = paths.rel(qmd) if Path(qmd).resolve().is_relative_to(paths.ROOT) else str(qmd)
    ed = checks.Edition.read(qmd, allowlist, source)
    allow = yaml.safe_load(Path(allowlist).read_text(encoding="utf-8")) if cfg["lint_numbers"] else None
    g = guards.load(guards_path)
    lex = lexicon.Lexicon.cached(lexicon_path)
    if generated is None and generated_dir is not None:
        generated = {p.name: p.read_text(encoding="utf-8") for p in Path(generated_dir).glob("*.md")}
    errors, warnings = checks.check_report(
        ed.text,
        allowlist=allow,
        values=numeric_values(entries) if cfg["enforce_claims"] else None,
        ledger_keys=set(entries),
        codebook=codebook,
        source=source,
        guards=g,
        lexicon=lex,
        lang=ed.lang,
        included=included_texts(ed.text, Path(qmd).parent, generated),
    )
    return CheckResult(source, errors, warnings)


def check(
    qmd: Path,
    entries: Mapping[str, Entry],
    allowlist: Path,
    report_cfg: Mapping[str, Any],
    *,
    guards_path: Path,
    lexicon_path: Path,
    generated: Mapping[str, str] | None = None,
    codebook: Any | None = None,
) -> CheckResult:
    """Run every check (with `codebook`, the key grammar too, as ``make check`` does); raise
    ReportCheckError listing every problem (warnings are returned)."""
    result = run_checks(
        qmd,
        entries,
        allowlist=allowlist,
        guards_path=guards_path,
        lexicon_path=lexicon_path,
        codebook=codebook,
        report_cfg=report_cfg,
        generated=generated,
    )
    if result.errors:
        raise ReportCheckError(result.message())
    return result


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "not a git checkout"


def provenance(raw_export: Path, cfg: Mapping[str, Any], lock: Path | None = None) -> list[dict[str, str]]:
    """Commit and checksums of the inputs, printed on the cover and in the HTML."""
    cfg_bytes = json.dumps(cfg, sort_keys=True, ensure_ascii=False).encode("utf-8")
    lock = lock or paths.ROOT / "requirements.lock"
    return [
        {"label": "repository commit", "value": git_commit(paths.ROOT)},
        {"label": "raw export sha256", "value": sha256(raw_export)},
        {"label": "lock file sha256", "value": sha256(lock)},
        {"label": "configuration sha256", "value": hashlib.sha256(cfg_bytes).hexdigest()},
    ]


def kept_note(outputs: Sequence[Path | None]) -> str:
    """What a failed build leaves: "the last good report/report.pdf, … were kept" (update() outputs)."""
    kept = [
        paths.rel(p) if Path(p).resolve().is_relative_to(paths.ROOT) else str(p)
        for p in outputs
        if p is not None and Path(p).exists()
    ]
    if not kept:
        return "nothing was rendered"
    return f"nothing was rendered; the last good {', '.join(kept)} {'was' if len(kept) == 1 else 'were'} kept"


def render_edition(
    qmd: Path,
    entries: Mapping[str, Entry],
    publication: Any,
    raw_export: Path,
    cfg: Mapping[str, Any],
    *,
    out_pdf: Path | None,
    out_html: Path | None,
    out_docx: Path | None = None,
    lock: Path | None = None,
    codebook: Any | None = None,
    alt_texts: Sequence[Path] | None = None,
    build_dir: Path | None = None,
    ast: Any | None = None,
) -> render.Expanded:
    """Render one edition as the build does: the text prints "–" for a value disclosure control
    withholds (`publication`, :func:`belmig.privacy.publish.marked`), with the provenance stamp.
    The build and ``make preview`` both call this, so the preview shows what the build writes
    (`ast`: the preview's section cache, :class:`belmig.report.pandocast.SectionCache`)."""
    from belmig.privacy import publish

    return render.render(
        qmd,
        publish.marked(entries, publication),
        out_pdf=out_pdf,
        out_html=out_html,
        out_docx=out_docx,
        provenance=provenance(raw_export, cfg, lock),
        codebook=codebook,
        alt_files=alt_texts or (),
        build_dir=build_dir,
        ast=ast,
    )


def frame_label(cb: Any, frame: Mapping[str, Any]) -> str:
    """How the alternative frame is named in the tables: "Vilnius city vs the rest"."""
    q = cb[frame["question"]]
    return " and ".join(q.option(k).label_en for k in frame["keep"]) + " vs the rest"


def multi_keys(cb: Any, used_keys: list[str]) -> list[str]:
    """The report's ``pct`` keys of multiple-choice options (the bases table shows them both ways)."""
    from belmig.core.keys import parse

    out = []
    for k in used_keys:
        key = parse(k)
        if (
            key.family == "pct"
            and len(key.parts) == 2
            and key.parts[0] in cb.by_id
            and cb[key.parts[0]].type == "multi"
        ):
            out.append(k)
    return out


def generated_tables(
    tables_in: Mapping[str, Path],
    entries: Mapping[str, Entry],
    used_keys: list[str],
    min_cell: int,
    codebook: Any,
    frame: Mapping[str, Any],
    publication: Any = None,
    release_summary: Path | None = None,
    chart_records: Sequence[Path] = (),
) -> dict[str, str]:
    """Appendix tables as Markdown, from the processed data the rule passes in (`tables_in`:
    ingest (the ingest report), flow, diagnostics, summary, bases, groups, reproduction, estimates,
    levels, multi_bases, frame).

    With `publication` (:class:`belmig.privacy.publish.Publication`), the tables print "–" for
    the values disclosure control withholds, and "protection.md" (the appendix section
    "Protecting respondents") says what it did, from `release_summary` (the release's decisions)
    and `chart_records` (the charts' JSON records)."""
    import pandas as pd

    from belmig.privacy import publish
    from belmig.report import public, tables

    withheld = frozenset(publish.withheld_keys(publication))
    missing = [k for k in TABLE_INPUTS if k not in tables_in]
    if missing:
        raise ValueError(f"the report stage needs the table input(s) {missing}")
    t = {k: Path(v) for k, v in tables_in.items()}
    summary = json.loads(t["summary"].read_text(encoding="utf-8"))
    est = pd.read_parquet(t["estimates"])
    str_cols = {"question": str, "option": str, "level": str}
    generated = {
        "cleaning_flow.md": tables.cleaning_flow_md(pd.read_csv(t["flow"])),
        "weighting.md": tables.weighting_md(pd.read_csv(t["diagnostics"]), summary, min_cell=min_cell),
        "audit.md": tables.audit_md(
            pd.read_csv(t["bases"], keep_default_na=False),
            pd.read_csv(t["groups"], keep_default_na=False),
            min_cell=min_cell,
            codebook=codebook,
        ),
        "reproduction.md": tables.reproduction_md(
            pd.read_csv(t["reproduction"], dtype={"printed": str, "recomputed": str}, keep_default_na=False),
            withheld=withheld,
        ),
        "weighted_vs_unweighted.md": tables.weighted_vs_unweighted_md(
            est, codebook, list(HEADLINE_KEYS), min_cell=min_cell, withheld=withheld
        ),
        "levels.md": tables.levels_md(
            pd.read_csv(t["levels"], dtype=str_cols, keep_default_na=False, na_values={"n": [""]}),
            codebook,
            min_cell=min_cell,
        ),
        "frame.md": tables.frame_md(
            est,
            pd.read_csv(t["frame"], dtype=str_cols, keep_default_na=False),
            codebook,
            list(HEADLINE_KEYS),
            frame=frame_label(codebook, frame),
        ),
        "multi_bases.md": tables.multi_bases_md(
            pd.read_csv(t["multi_bases"]), codebook, multi_keys(codebook, used_keys)
        ),
        "values.md": tables.values_md(
            publish.apply(public.public_entries(entries, used_keys), publication), used_keys, min_cell=min_cell
        ),
        "data_source.md": tables.data_source_md(json.loads(t["ingest"].read_text(encoding="utf-8"))),
    }
    if publication is not None:  # "Protecting respondents": what disclosure control did in this build
        from belmig.privacy import explain

        rs = Path(release_summary) if release_summary is not None else None
        summary_r = json.loads(rs.read_text(encoding="utf-8")) if rs is not None and rs.is_file() else None
        charts = [json.loads(Path(f).read_text(encoding="utf-8")) for f in chart_records]
        generated["protection.md"] = explain.protection_md(publication, summary_r, charts, codebook)
    return {name: md if md.endswith("\n") else md + "\n" for name, md in generated.items()}


def write_generated(out_dir: Path, generated: Mapping[str, str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, md in generated.items():
        render._atomic_write(out_dir / name, md)


def build(
    qmd: Path,
    entries: Mapping[str, Entry],
    raw_export: Path,
    cfg: Mapping[str, Any],
    out_pdf: Path,
    out_html: Path,
    out_docx: Path | None,
    *,
    tables_in: Mapping[str, Path],
    codebook_path: Path,
    guards_path: Path,
    lexicon_path: Path,
    allowlist: Path,
    approved: Path,
    out_diff: Path,
    out_variables: Path,
    out_values_page: Path | None = None,
    out_public: Path | None = None,
    lock: Path | None = None,
    editions_used: Mapping[str, list[str]] | None = None,
    publication: Path | None = None,
    release_summary: Path | None = None,
    chart_records: Sequence[Path] = (),
    alt_texts: Sequence[Path] | None = None,
    out_generated: Path | None = None,
    out_build: Path | None = None,
) -> tuple[str, ...]:
    """Check, generate, render. Raises ReportCheckError before anything is written when a check
    fails; a failed render keeps the previous PDF/HTML/DOCX (render.RenderError says so).

    With `publication` (``public_values.json``, rule ``protect_values``) only the values
    disclosure control allows leave the build: the text, the tables, ``_variables.yml``, the
    values page and the public ledger print "–" for a withheld value
    (:func:`belmig.privacy.publish.apply`). The checks run on the full ledger, which stays
    internal. `alt_texts`: the charts' ``chartNN.alt.txt`` (the rule's inputs; default: those in
    ``figures/``). `out_generated` (the appendix tables; where the text's ``{{< include
    _generated/… >}}`` point, so next to `qmd`) and `out_build` (intermediate files) are the rule's
    ``directory()`` outputs; default ``report/_generated`` and ``report/_build``."""
    from belmig.core import codebook as cb_mod
    from belmig.privacy import publish
    from belmig.report import checks, guards, public, values_page

    out_generated = Path(out_generated) if out_generated is not None else qmd.parent / "_generated"
    if out_generated.resolve() != (qmd.parent / "_generated").resolve():
        raise ValueError(
            f"out_generated {out_generated} is not {qmd.parent / '_generated'}, where {qmd.name} includes its tables from"
        )
    cb = cb_mod.load(codebook_path)
    text = qmd.read_text(encoding="utf-8")
    g = guards.load(guards_path)
    used = checks.used_keys(text, guards=g)
    all_used = list(dict.fromkeys([*used, *(k for ks in (editions_used or {}).values() for k in ks)]))
    pub = publish.load(publication) if publication is not None else None
    generated = generated_tables(
        tables_in, entries, used, cfg["privacy"]["min_cell"], cb, cfg["weighting"]["alternative_frame"], pub,
        release_summary, chart_records,
    )  # fmt: skip
    try:
        result = check(
            qmd,
            entries,
            allowlist,
            cfg["report"],
            guards_path=guards_path,
            lexicon_path=lexicon_path,
            generated=generated,
            codebook=cb,
        )
    except ReportCheckError as exc:
        raise ReportCheckError(f"{exc}\n({kept_note([out_pdf, out_html, out_docx])}.)") from None
    if result.warnings:
        print(result.message())
    write_generated(out_generated, generated)
    shown = publish.apply(public.public_entries(entries, all_used), pub)
    render.write_quarto_variables(shown, out_variables)
    valuediff.write_diff(entries, approved, qmd, out_diff, codebook=cb, guards=g)
    if out_public is not None:
        from dataclasses import asdict

        from belmig.core import atomic

        atomic.write_json(out_public, [asdict(shown[k]) for k in sorted(shown)])
    if out_values_page is not None:
        values_page.write(out_values_page, shown, all_used, cb, commit=git_commit(paths.ROOT))
    expanded = render_edition(
        qmd,
        entries,
        pub,
        raw_export,
        cfg,
        out_pdf=out_pdf,
        out_html=out_html,
        out_docx=out_docx,
        lock=lock,
        codebook=cb,
        alt_texts=alt_texts,
        build_dir=out_build,
    )
    return expanded.used_keys
