"""The report's editions, the files their checks read and the outputs they render, in one place.

English is ``report/report.qmd``; every other edition is ``report/report.<lang>.qmd`` with its
own number allowlist (``number-allowlist.<lang>.yaml``) and renders to ``report/report.<lang>.pdf``
and ``.html`` (intermediate files in ``report/_build.<lang>/``). Guards (``claims.yaml``) and the
lexicon (``lexicon.yaml``) are shared. The words of the text live in each edition; the few words
the renderer adds (contents title, running header, the language switcher, the provenance labels)
are in :data:`STRINGS`, which the edition's front matter overrides key by key.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from belmig.core import paths

LANGS = ("en", "ru", "lt")

# The words the renderer adds to an edition (front matter keys; the edition's own front matter
# wins). crossref.number-first: Lithuanian writes "5 pav.", "3 lentelė".
STRINGS: dict[str, dict[str, Any]] = {
    "en": {
        "toc-title": "Contents",
        "header-notice": "Synthetic reconstruction — not the original survey data",
        "language-name": "English",
        "editions-label": "Language",
        "crossref": {"number-first": False},
    },
    "lt": {
        "toc-title": "Turinys",
        "header-notice": "Sintetinė rekonstrukcija – ne originalūs apklausos duomenys",
        "language-name": "Lietuvių",
        "editions-label": "Kalba",
        "crossref": {"number-first": True},
    },
    "ru": {
        "toc-title": "Содержание",
        "header-notice": "Синтетическая реконструкция — не исходные данные опроса",
        "language-name": "Русский",
        "editions-label": "Язык",
        "crossref": {"number-first": False},
    },
}

# The labels of the provenance stamp (belmig.report.build.provenance) in each language.
PROVENANCE_LABELS = {
    "lt": {
        "repository commit": "repozitorijos versija (commit)",
        "raw export sha256": "pradinių duomenų failo sha256",
        "lock file sha256": "priklausomybių sąrašo (lock) sha256",
        "configuration sha256": "konfigūracijos sha256",
    },
    "ru": {
        "repository commit": "версия репозитория (commit)",
        "raw export sha256": "sha256 исходного файла данных",
        "lock file sha256": "sha256 списка зависимостей (lock)",
        "configuration sha256": "sha256 конфигурации",
    },
}


@dataclass(frozen=True)
class EditionFiles:
    lang: str
    qmd: Path
    allowlist: Path

    @property
    def suffix(self) -> str:
        return "" if self.lang == "en" else f".{self.lang}"


def edition(lang: str, report_dir: Path | None = None) -> EditionFiles:
    d = report_dir or paths.REPORT
    if lang not in LANGS:
        raise ValueError(f"unknown edition {lang!r}: one of {', '.join(LANGS)}")
    sfx = "" if lang == "en" else f".{lang}"
    return EditionFiles(lang, d / f"report{sfx}.qmd", d / f"number-allowlist{sfx}.yaml")


def existing(report_dir: Path | None = None) -> list[EditionFiles]:
    return [e for e in (edition(lang, report_dir) for lang in LANGS) if e.qmd.exists()]


def guards_path(report_dir: Path | None = None) -> Path:
    return (report_dir or paths.REPORT) / "claims.yaml"


def lexicon_path(report_dir: Path | None = None) -> Path:
    return (report_dir or paths.REPORT) / "lexicon.yaml"


def figure_path(n: str | int, lang: str = "en", *, per_language: bool | None = None) -> str:
    """The figure file of chart `n` in edition `lang`, as the report's text refers to it
    (relative to report/): ``../figures/chartNN.svg`` (English) or ``../figures/chartNN.<lang>.svg``.

    The one place that says where an edition's figures are: the render rules (rules/report.smk,
    through :func:`figure_inputs`) and the renderer (``render.localize_figures``) both ask it.
    The chart job draws every language of ``charts.languages`` from the same specs
    (rules/charts.smk); ``PER_LANGUAGE_FIGURES = False`` would point every edition at the English
    figures."""
    per_language = PER_LANGUAGE_FIGURES if per_language is None else per_language
    stem = f"chart{int(n):02d}"
    return f"../figures/{stem}.svg" if lang == "en" or not per_language else f"../figures/{stem}.{lang}.svg"


# rules/charts.smk draws figures/chartNN.<lang>.svg for the other editions (charts.languages).
PER_LANGUAGE_FIGURES = True


def figure_inputs(lang: str, charts: Sequence[str], ext: str = ".svg") -> list[str]:
    """The figure files of an edition, relative to the repository (rule render_edition's inputs):
    ``ext`` is ".svg", ".png" or ".alt.txt"."""
    return [figure_path(n, lang).removeprefix("../").removesuffix(".svg") + ext for n in charts]


def lang_of(tag: str | None) -> str:
    """The edition of a front-matter ``lang`` tag ("lt-LT" -> "lt"; none -> "en")."""
    base = (tag or "en").replace("_", "-").split("-")[0].lower()
    if base not in LANGS:
        raise ValueError(f"unknown edition language {tag!r}: one of {', '.join(LANGS)}")
    return base


def suffix(lang: str) -> str:
    return "" if lang == "en" else f".{lang}"


def build_dir_name(lang: str) -> str:
    """Folder of an edition's intermediate files under report/ (one per edition: they render at once)."""
    return "_build" + suffix(lang)


def outputs(lang: str, report_dir: Path | None = None) -> dict[str, Path]:
    """The files an edition renders: pdf, html (and docx for English)."""
    d = report_dir or paths.REPORT
    out = {"pdf": d / f"report{suffix(lang)}.pdf", "html": d / f"report{suffix(lang)}.html"}
    if lang == "en":
        out["docx"] = d / "report.docx"
    return out


def strings(lang: str) -> dict[str, Any]:
    return STRINGS[lang_of(lang)]


def localize_provenance(provenance: Sequence[Mapping[str, str]], lang: str) -> list[dict[str, str]]:
    labels = PROVENANCE_LABELS.get(lang_of(lang), {})
    return [{**p, "label": labels.get(p["label"], p["label"])} for p in provenance]


def switcher_html(lang: str, report_dir: Path | None = None) -> str:
    """The language switcher at the top of each HTML edition: links to the other editions
    (those whose source exists), the current one named, not linked."""
    present = [lg for lg in LANGS if edition(lg, report_dir).qmd.exists()] or [lang]
    items = []
    for lg in sorted(present, key=LANGS.index):
        name = html.escape(STRINGS[lg]["language-name"])
        if lg == lang:
            items.append(f'<strong lang="{lg}" aria-current="page">{name}</strong>')
        else:
            href = f"report{suffix(lg)}.html"
            items.append(f'<a href="{href}" hreflang="{lg}" lang="{lg}">{name}</a>')
    label = html.escape(STRINGS[lang]["editions-label"])
    return (
        f'<nav class="edition-switcher" aria-label="{label}" '
        'style="text-align:right;font-size:0.9em;margin:0 0 1em">'
        f"{label}: " + " · ".join(items) + "</nav>\n"
    )


# ----------------------------------------------------------------------------- render one edition


def render_edition(
    lang: str,
    *,
    qmd: Path,
    ledger_path: Path,
    public_values: Path,
    allowlist: Path,
    guards: Path,
    lexicon: Path,
    codebook_path: Path,
    generated_dir: Path,
    raw_export: Path,
    cfg: Mapping[str, Any],
    lock: Path,
    out_pdf: Path,
    out_html: Path,
    build_dir: Path,
    alt_files: Sequence[Path] = (),
    stylesheet: Path | None = None,
) -> tuple[str, ...]:
    """Check one translated edition (every check of ``make check``; parity with English is rule
    check_parity, so that an edit of the English text does not re-render this one), then render
    its PDF and HTML from the shared ledger, public values and generated tables. The checks run
    beside the render (``render.while_checking``); when one fails, ``build.ReportCheckError`` is
    raised and no output is replaced (only the intermediate files in `build_dir` are written)."""
    from belmig.core import codebook, ledger
    from belmig.privacy import publish
    from belmig.report import build, render

    entries = ledger.load(ledger_path)
    cb = codebook.load(codebook_path)

    pub = publish.load(public_values)

    def checks() -> None:
        from belmig.report import keycheck, parity

        result = build.run_checks(
            qmd,
            entries,
            allowlist=allowlist,
            guards_path=guards,
            lexicon_path=lexicon,
            codebook=cb,
            report_cfg=cfg["report"],
            generated_dir=generated_dir,
        )
        text = qmd.read_text(encoding="utf-8")
        foreign = [str(p) for p in parity.foreign_includes(text, lang, paths.shown(qmd))]
        unreviewed = keycheck.unreviewed_keys(
            text, pub.decisions if pub else (), publish.INFO_FAMILIES, paths.shown(qmd)
        )
        if result.errors or unreviewed or foreign:
            said = [result.message() if result.errors else "", *(str(p) for p in unreviewed), *foreign]
            raise build.ReportCheckError("\n".join(m for m in said if m))
        if result.warnings:
            print(result.message())

    expanded = render.while_checking(  # the checks run beside the render; failing, they keep the last outputs
        checks,
        lambda gate: render.render(
            qmd,
            publish.marked(entries, pub),  # the text prints "–" for a withheld value
            out_pdf=out_pdf,
            out_html=out_html,
            provenance=build.provenance(raw_export, cfg, lock),
            build_dir=build_dir,
            alt_files=alt_files,
            gate=gate,
            stylesheet=stylesheet,
        ),
    )
    return expanded.used_keys


def main(argv: list[str] | None = None) -> int:
    """``python -m belmig.report.editions render --lang lt ...`` (rule render_edition)."""
    import argparse
    import json
    import sys

    from belmig.report import build, render

    ap = argparse.ArgumentParser(prog="python -m belmig.report.editions")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="check and render one translated edition")
    r.add_argument("--lang", required=True, choices=[lg for lg in LANGS if lg != "en"])
    for name in ("qmd", "ledger", "public", "allowlist", "claims", "lexicon", "codebook",
                 "generated", "raw", "lock", "css", "out-pdf", "out-html", "build-dir"):  # fmt: skip
        r.add_argument(f"--{name}", type=Path, required=True)
    r.add_argument("--config", required=True, help="the pipeline configuration as JSON")
    r.add_argument("--alt", type=Path, nargs="*", default=[], help="the figures' alt-text files")
    a = ap.parse_args(argv)
    try:
        used = render_edition(
            a.lang,
            qmd=a.qmd,
            ledger_path=a.ledger,
            public_values=a.public,
            allowlist=a.allowlist,
            guards=a.claims,
            lexicon=a.lexicon,
            codebook_path=a.codebook,
            generated_dir=a.generated,
            raw_export=a.raw,
            cfg=json.loads(a.config),
            lock=a.lock,
            out_pdf=a.out_pdf,
            out_html=a.out_html,
            build_dir=a.build_dir,
            alt_files=a.alt,
            stylesheet=a.css,
        )
    except build.ReportCheckError as exc:  # a render error says what it kept itself
        print(f"{exc}\n({build.kept_note([a.out_pdf, a.out_html])}.)", file=sys.stderr)
        return 1
    except render.RenderError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"{a.qmd}: {len(used)} ledger values; rendered {a.out_pdf} and {a.out_html}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
