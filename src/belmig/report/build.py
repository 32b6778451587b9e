"""The report stage: check the text against the ledger, write generated tables, render.

``run_checks`` / ``check`` fail the build (ReportCheckError) when the prose holds a number that
is not a ledger value (or a number in words), uses a key the ledger lacks, states a claim whose
guard no longer holds or whose words say more than its condition, uses a quantifier without a
guard, or refers to a figure, table or section that does not exist; each problem names the
line, the sentence, the condition and the values.
``write_appendix`` (rule tabulate_appendix) writes ``report/_generated/*.md`` (appendix tables
from processed data), ``report/_variables.yml`` (for Quarto users; public values only), the
public ledger and the reviewers' values page; ``build`` (rule render_report) checks the text,
writes the value diff against the approved snapshot, and renders PDF, HTML and DOCX with a
provenance stamp. Every file they read or write is passed in by the rule (rules/report.smk).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from belmig.core import paths
from belmig.core.ledger import Entry
from belmig.core.schema import parse_yaml
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


def generated_key(name: str) -> str:
    """The key of an included file in the generated tables (``belmig.report.parity.generated_key``)."""
    from belmig.report import parity

    return parity.generated_key(name)


def read_generated(generated_dir: Path) -> dict[str, str]:
    """Every generated table file below `generated_dir`, by :func:`generated_key` ("lt/levels.md")."""
    from belmig.report import parity

    return parity.read_generated(generated_dir)


def included_texts(qmd_text: str, base: Path, generated: Mapping[str, str] | None = None) -> dict[str, str]:
    """Text of every file the report includes (the generated tables from `generated` when given,
    by :func:`generated_key`, else from disk, else nothing: their ids are then unknown and
    references to them are errors). Each edition includes its own language's tables."""
    out = {}
    for m in render.INCLUDE_RE.finditer(qmd_text):
        name = m.group(1)
        key = generated_key(name)
        if generated is not None and key in generated:
            out[name] = generated[key]
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
    source = paths.shown(qmd)
    ed = checks.Edition.read(qmd, allowlist, source)
    allow = parse_yaml(Path(allowlist).read_text(encoding="utf-8")) if cfg["lint_numbers"] else None
    g = guards.load(guards_path)
    lex = lexicon.Lexicon.cached(lexicon_path)
    if generated is None and generated_dir is not None:
        generated = read_generated(generated_dir)
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
        kinds={k: e.kind for k, e in entries.items()},
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
    kept = [paths.shown(p) for p in outputs if p is not None and Path(p).exists()]
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
    gate: Callable[[], None] | None = None,
    stylesheet: Path | None = None,
) -> render.Expanded:
    """Render one edition as the build does: the text prints "–" for a value disclosure control
    withholds (`publication`, :func:`belmig.privacy.publish.marked`), with the provenance stamp.
    The build and ``make preview`` both call this, so the preview shows what the build writes
    (`ast`: the preview's section cache, :class:`belmig.report.pandocast.SectionCache`; `gate`:
    see :func:`belmig.report.render.while_checking`)."""
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
        gate=gate,
        stylesheet=stylesheet,
    )


def frame_label(cb: Any, frame: Mapping[str, Any], lang: str = "en", words: Any = None) -> str:
    """How the alternative frame is named in the tables: "Vilnius city vs the rest" (in `lang`;
    `words`: that edition's :class:`belmig.report.tables.Words`, default from report/)."""
    from belmig.report import tables

    w = words if words is not None else tables.words(lang)
    q = cb[frame["question"]]
    return w("frame.label", keep=w("common.and").join(q.option(k).label(lang) for k in frame["keep"]))


def words_files(paths_: Sequence[Path]) -> dict[str, Path]:
    """The tables' words files by language: report/tables.yaml -> "en", tables.lt.yaml -> "lt"."""
    out = {}
    for p in paths_:
        parts = Path(p).name.split(".")
        out[parts[1] if len(parts) == 3 else "en"] = Path(p)
    return out


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
    words: Mapping[str, Path] | None = None,
    protection_words: Mapping[str, Path] | None = None,
) -> dict[str, str]:
    """Appendix tables as Markdown, from the processed data the rule passes in (`tables_in`:
    ingest (the ingest report), flow, diagnostics, summary, bases, groups, reproduction, estimates,
    levels, multi_bases, frame), in every language of `words` (language -> its words file,
    ``report/tables[.<lang>].yaml``; default: English, Lithuanian and Russian from report/).
    Keys: "levels.md" for English, "lt/levels.md", "ru/levels.md" for the other editions (the
    files below ``report/_generated/`` each edition includes).

    With `publication` (:class:`belmig.privacy.publish.Publication`), the tables print "–" for
    the values disclosure control withholds, and "protection.md" (the appendix section
    "Protecting respondents") says what it did, from `release_summary` (the release's decisions)
    and `chart_records` (the charts' JSON records), in each edition's words (`protection_words`:
    language -> ``report/protection.<lang>.yaml``; English is :data:`belmig.privacy.explain.WORDS_EN`)."""
    import pandas as pd

    from belmig.privacy import publish
    from belmig.report import public, tables

    withheld = frozenset(publish.withheld_keys(publication))
    missing = [k for k in TABLE_INPUTS if k not in tables_in]
    if missing:
        raise ValueError(f"the report stage needs the table input(s) {missing}")
    word_files = dict(words) if words is not None else {lg: tables.words_path(lg) for lg in tables.LANGS}
    if "en" not in word_files:
        raise ValueError("the appendix tables need the English words (report/tables.yaml)")
    t = {k: Path(v) for k, v in tables_in.items()}
    summary = json.loads(t["summary"].read_text(encoding="utf-8"))
    est = pd.read_parquet(t["estimates"])
    est.attrs = {}  # none is read here; pandas deep-copied them on every selection (1.4 s of 2.8)
    str_cols = {"question": str, "option": str, "level": str}
    flow = pd.read_csv(t["flow"])
    diagnostics = pd.read_csv(t["diagnostics"])
    bases = pd.read_csv(t["bases"], keep_default_na=False)
    groups = pd.read_csv(t["groups"], keep_default_na=False)
    repro = pd.read_csv(t["reproduction"], dtype={"printed": str, "recomputed": str}, keep_default_na=False)
    plan = pd.read_csv(t["levels"], dtype=str_cols, keep_default_na=False, na_values={"n": [""]})
    frame_df = pd.read_csv(t["frame"], dtype=str_cols, keep_default_na=False)
    multi = pd.read_csv(t["multi_bases"])
    shown = publish.apply(public.public_entries(entries, used_keys), publication)
    ingest = json.loads(t["ingest"].read_text(encoding="utf-8"))
    protection = None
    if publication is not None:  # "Protecting respondents": what disclosure control did in this build
        from belmig.privacy import explain

        rs = Path(release_summary) if release_summary is not None else None
        summary_r = json.loads(rs.read_text(encoding="utf-8")) if rs is not None and rs.is_file() else None
        charts = [json.loads(Path(f).read_text(encoding="utf-8")) for f in chart_records]
        pw = dict(protection_words or {})

        def protection(lang: str) -> str:
            w = explain.words(lang, pw.get(lang)) if lang != "en" else explain.WORDS_EN
            return explain.protection_md(publication, summary_r, charts, codebook, lang, w)

    out: dict[str, str] = {}
    for lang, path in word_files.items():
        w = tables.words(lang, path)
        frame_name = frame_label(codebook, frame, lang, w)
        generated = {
            "cleaning_flow.md": tables.cleaning_flow_md(flow, lang=w, codebook=codebook),
            "weighting.md": tables.weighting_md(diagnostics, summary, min_cell=min_cell, lang=w, codebook=codebook),
            "audit.md": tables.audit_md(bases, groups, min_cell=min_cell, codebook=codebook, lang=w),
            "reproduction.md": tables.reproduction_md(repro, withheld=withheld, lang=w, codebook=codebook),
            "weighted_vs_unweighted.md": tables.weighted_vs_unweighted_md(
                est, codebook, list(HEADLINE_KEYS), min_cell=min_cell, withheld=withheld, lang=w
            ),
            "levels.md": tables.levels_md(plan, codebook, min_cell=min_cell, lang=w),
            "frame.md": tables.frame_md(
                est, frame_df, codebook, list(HEADLINE_KEYS), frame=frame_name, withheld=withheld, lang=w
            ),
            "multi_bases.md": tables.multi_bases_md(multi, codebook, multi_keys(codebook, used_keys), lang=w),
            "values.md": tables.values_md(shown, used_keys, min_cell=min_cell, lang=w),
            "data_source.md": tables.data_source_md(ingest, lang=w),
        }
        if protection is not None:
            generated["protection.md"] = protection(lang)
        prefix = "" if lang == "en" else f"{lang}/"
        out.update({prefix + name: md if md.endswith("\n") else md + "\n" for name, md in generated.items()})
    return out


def write_generated(out_dir: Path, generated: Mapping[str, str]) -> None:
    """Write the generated tables (keys as :func:`generated_tables` gives them: "lt/levels.md")
    below `out_dir`; files of an earlier build that are no longer generated are removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, md in generated.items():
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        render._atomic_write(out_dir / name, md)
    for old in out_dir.rglob("*.md"):
        if old.relative_to(out_dir).as_posix() not in generated:
            old.unlink()


def write_appendix(
    text_keys: Path,
    entries: Mapping[str, Entry],
    cfg: Mapping[str, Any],
    *,
    tables_in: Mapping[str, Path],
    codebook_path: Path,
    publication: Path | None,
    out_generated: Path,
    out_variables: Path,
    out_public: Path,
    out_values_page: Path,
    release_summary: Path | None = None,
    chart_records: Sequence[Path] = (),
    tables_words: Sequence[Path] | None = None,
    protection_words: Sequence[Path] | None = None,
) -> tuple[str, ...]:
    """What the report shows besides its text (rule tabulate_appendix): the appendix tables
    (``report/_generated/*.md`` in English, ``_generated/<lang>/*.md`` in each edition's words from
    `tables_words`, ``report/tables[.<lang>].yaml``), ``report/_variables.yml`` (for Quarto
    users), the public ledger and the reviewers' values page. They depend on which keys the text uses (`text_keys`,
    ``report_keys.json``: :mod:`belmig.report.textkeys`), not on its wording, so rewording a
    sentence does not rewrite them (and does not re-render the other editions, which include the
    same tables).

    With `publication` (``public_values.json``, rule ``protect_values``) only the values
    disclosure control allows leave the build: the tables, ``_variables.yml``, the values page and
    the public ledger print "–" for a withheld value (:func:`belmig.privacy.publish.apply`)."""
    from belmig.core import atomic, codebook as cb_mod
    from belmig.privacy import publish
    from belmig.report import public, textkeys, values_page

    cb = cb_mod.load(codebook_path)
    used = textkeys.read(text_keys)["used"]
    pub = publish.load(publication) if publication is not None else None
    generated = generated_tables(
        tables_in, entries, used, cfg["privacy"]["min_cell"], cb, cfg["weighting"]["alternative_frame"], pub,
        release_summary, chart_records, words_files(tables_words) if tables_words is not None else None,
        words_files(protection_words or []),
    )  # fmt: skip
    write_generated(Path(out_generated), generated)
    shown = publish.apply(public.public_entries(entries, used), pub)
    render.write_quarto_variables(shown, out_variables)
    atomic.write_json(out_public, [shown[k].as_dict() for k in sorted(shown)])
    values_page.write(out_values_page, shown, used, cb, commit=git_commit(paths.ROOT))
    return tuple(used)


def build(
    qmd: Path,
    entries: Mapping[str, Entry],
    raw_export: Path,
    cfg: Mapping[str, Any],
    out_pdf: Path,
    out_html: Path,
    out_docx: Path | None,
    *,
    codebook_path: Path,
    guards_path: Path,
    lexicon_path: Path,
    allowlist: Path,
    approved: Path,
    out_diff: Path,
    generated_dir: Path,
    text_keys: Path | None = None,
    lock: Path | None = None,
    publication: Path | None = None,
    alt_texts: Sequence[Path] | None = None,
    out_build: Path | None = None,
    stylesheet: Path | None = None,
) -> tuple[str, ...]:
    """Check and render (side by side, :func:`belmig.report.render.while_checking`). Raises ReportCheckError when a
    check fails, and then no output is replaced and the value diff is not written (only the
    intermediate files in `out_build`); a failed render keeps the previous PDF/HTML/DOCX
    (render.RenderError says so).

    The appendix tables come from `generated_dir` (rule tabulate_appendix, :func:`write_appendix`;
    the text includes them from ``_generated/`` beside `qmd`). With `text_keys`, the keys file those
    tables were made for must hold exactly the keys the text uses. With `publication`
    (``public_values.json``) the text prints "–" for a value disclosure control withholds. The
    checks run on the full ledger, which stays internal. `alt_texts`: the charts'
    ``chartNN.alt.txt`` (the rule's inputs; default: those in ``figures/``). `out_build`
    (intermediate files) is the rule's ``directory()`` output, default ``report/_build``."""
    from belmig.core import codebook as cb_mod
    from belmig.privacy import publish
    from belmig.report import guards, textkeys

    generated_dir = Path(generated_dir)
    if generated_dir.resolve() != (qmd.parent / "_generated").resolve():
        raise ValueError(
            f"generated_dir {generated_dir} is not {qmd.parent / '_generated'}, where {qmd.name} includes its tables from"
        )
    made_for = textkeys.read(text_keys)["used"] if text_keys is not None else None

    # The checks' process starts first and loads what it reads itself (the codebook, the guards,
    # the tables: ~0.05 s), on the core the render's own loading leaves idle.
    def checks() -> None:
        if (
            made_for is not None
            and made_for != textkeys.used_keys(qmd.read_text(encoding="utf-8"), guards_path)["used"]
        ):
            raise ReportCheckError(
                f"{paths.rel(text_keys) if Path(text_keys).resolve().is_relative_to(paths.ROOT) else text_keys} "
                f"lists other keys than {qmd.name} uses (the tables were made for another text): run "
                f"snakemake again, which rewrites it when it parses\n({kept_note([out_pdf, out_html, out_docx])}.)"
            )
        cb = cb_mod.load(codebook_path)
        generated = read_generated(generated_dir)  # every language's tables: the text includes its own
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
        valuediff.write_diff(entries, approved, qmd, out_diff, codebook=cb, guards=guards.load(guards_path))

    def render_fn(gate):
        return render_edition(
            qmd,
            entries,
            publish.load(publication) if publication is not None else None,
            raw_export,
            cfg,
            out_pdf=out_pdf,
            out_html=out_html,
            out_docx=out_docx,
            lock=lock,
            codebook=cb_mod.load(codebook_path),
            alt_texts=alt_texts,
            build_dir=out_build,
            gate=gate,
            stylesheet=stylesheet,
        )

    expanded = render.while_checking(checks, render_fn)
    return expanded.used_keys


def main(argv: list[str] | None = None) -> int:
    """``python -m belmig.report.build tables ...`` (rule tabulate_appendix)."""
    import argparse
    import sys

    from belmig.core import ledger

    ap = argparse.ArgumentParser(prog="python -m belmig.report.build")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tables", help="the appendix tables, _variables.yml, public ledger and values page")
    for name in ("text-keys", "ledger", "codebook", "public", "release-summary", "out-generated",
                 "out-variables", "out-public", "out-values-page"):  # fmt: skip
        t.add_argument(f"--{name}", type=Path, required=True)
    for name in TABLE_INPUTS:
        t.add_argument(f"--{name.replace('_', '-')}", dest=f"table_{name}", type=Path, required=True)
    t.add_argument("--charts", type=Path, nargs="*", default=[], help="the charts' JSON records")
    t.add_argument("--words", type=Path, nargs="+", required=True, help="report/tables[.<lang>].yaml of every edition")
    t.add_argument(
        "--protection-words", type=Path, nargs="*", default=[], help="report/protection.<lang>.yaml of each edition"
    )
    t.add_argument("--config", required=True, help="the pipeline configuration as JSON")
    a = ap.parse_args(argv)
    used = write_appendix(
        a.text_keys,
        ledger.load(a.ledger),
        json.loads(a.config),
        tables_in={name: getattr(a, f"table_{name}") for name in TABLE_INPUTS},
        codebook_path=a.codebook,
        publication=a.public,
        out_generated=a.out_generated,
        out_variables=a.out_variables,
        out_public=a.out_public,
        out_values_page=a.out_values_page,
        release_summary=a.release_summary,
        chart_records=a.charts,
        tables_words=a.words,
        protection_words=a.protection_words,
    )
    print(f"appendix tables for {len(used)} keys -> {a.out_generated}; values page -> {a.out_values_page}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
