"""Render report/report.qmd to PDF (pandoc → Typst → typst compiler) and self-contained HTML.

The Quarto CLI is not available offline, so this does what Quarto would, with plain pandoc:

1. expand ``{{< include file >}}`` and replace every ``{{< var key >}}`` with the ledger's
   formatted text, linked to the executed-notebook cell that computed it;
2. pandoc with ``report/filters/crossref.lua`` (cross-references, interview blocks, claim
   spans) and ``report/template.typ`` → ``report/report.typ`` → PDF with Typst's embedded
   fonts only (same PDF on every machine; fixed timestamp);
3. pandoc → self-contained HTML (PNG figures, ``report/style.css``), optionally DOCX.

The source stays Quarto-compatible: a user with Quarto can run ``quarto render report.qmd``
after the pipeline has written ``report/_variables.yml``.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from belmig.core import atomic, paths
from belmig.core.ledger import Entry

# The one definition of a value shortcode (the lint and the value diff use it too). Any
# non-space key matches, so a malformed key fails as "not in the ledger" instead of passing through.
VAR_RE = re.compile(r"\{\{<\s*var\s+([^\s>]+)\s*>\}\}")
INCLUDE_RE = re.compile(r"^\{\{<\s*include\s+(\S+)\s*>\}\}\s*$", re.M)
# Fixed PDF timestamp: the publication date of the 2022 report (no build time in outputs).
PDF_TIMESTAMP = int(dt.datetime(2022, 11, 3, tzinfo=dt.UTC).timestamp())


class RenderError(RuntimeError):
    pass


@dataclass(frozen=True)
class Expanded:
    markdown: str
    used_keys: tuple[str, ...]


def expand_includes(text: str, base: Path, _depth: int = 0) -> str:
    """Inline Quarto ``{{< include path >}}`` lines (paths relative to `base`)."""
    if _depth > 5:
        raise RenderError("includes nested more than 5 deep")

    def sub(m: re.Match) -> str:
        target = (base / m.group(1)).resolve()
        if not target.exists():
            raise RenderError(f"{base}: include {m.group(1)!r} not found ({target})")
        return expand_includes(target.read_text(encoding="utf-8"), target.parent, _depth + 1)

    return INCLUDE_RE.sub(sub, text)


VALUES_PAGE = "notebooks/executed/values.html"
FIG_RE = re.compile(r"!\[(?P<cap>[^\]]*)\]\((?P<src>[^)\s]*?/figures/(?P<stem>chart\d+)\.svg)\)\{(?P<attrs>[^}]*)\}")


def value_link(entry: Entry, link_prefix: str | None) -> str:
    """Markdown for one value: its text, linked to its anchor on the reviewers' values page
    (``notebooks/executed/values.html#<key>``); plain text when `link_prefix` is None (DOCX)."""
    text = entry.text.replace("\\", "\\\\").replace("<", "\\<").replace("*", "\\*").replace("_", "\\_")
    if link_prefix is None:
        return f"[{text}]{{.value}}"
    return f"[{text}]({link_prefix}{VALUES_PAGE}#{entry.key}){{.value}}"


def substitute_values(text: str, ledger: Mapping[str, Entry], link_prefix: str | None, source: str) -> Expanded:
    used: list[str] = []
    lines = text.split("\n")
    for i, line in enumerate(lines):

        def sub(m: re.Match, lineno=i + 1) -> str:
            key = m.group(1)
            if key not in ledger:
                raise RenderError(f"{source}:{lineno}: {{{{< var {key} >}}}} is not in the value ledger")
            used.append(key)
            return value_link(ledger[key], link_prefix)

        lines[i] = VAR_RE.sub(sub, line)
    return Expanded("\n".join(lines), tuple(dict.fromkeys(used)))


def add_alt_text(markdown: str, alt_texts: Path | Sequence[Path]) -> str:
    """Give every chart image the alt text of its ``chartNN.alt.txt`` (values included).

    `alt_texts`: the alt-text files (the rule's inputs), or a folder holding them."""
    if isinstance(alt_texts, Path):
        folder = alt_texts
        by_stem = {p.name.removesuffix(".alt.txt"): p for p in folder.glob("*.alt.txt")}
    else:
        by_stem = {Path(p).name.removesuffix(".alt.txt"): Path(p) for p in alt_texts}

    def sub(m: re.Match) -> str:
        alt_file = by_stem.get(m.group("stem"))
        if "fig-alt=" in m.group("attrs") or alt_file is None or not alt_file.exists():
            return m.group(0)
        alt = " ".join(alt_file.read_text(encoding="utf-8").split()).replace("\\", "").replace('"', "&quot;")
        return f'![{m.group("cap")}]({m.group("src")}){{{m.group("attrs")} fig-alt="{alt}"}}'

    return FIG_RE.sub(sub, markdown)


def inline_chart_images(markdown: str, report_dir: Path) -> tuple[str, dict[str, str]]:
    """The HTML's chart images as data: URIs with short placeholders, and the base64 to put back.

    pandoc's --embed-resources leaves a data: URI as it is and re-serialises the page around it,
    so a placeholder swapped for the base64 afterwards gives the same bytes as pandoc's own
    embedding (tests/test_report_filters.py), in half the time: the preview's save → HTML."""
    import base64

    images: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        png = (report_dir / m.group("src")).with_suffix(".png")  # the HTML shows the PNG (crossref.lua)
        if not png.is_file():
            return m.group(0)
        key = f"BELMIGIMG{len(images):03d}END"
        images[key] = base64.b64encode(png.read_bytes()).decode("ascii")
        return f"![{m.group('cap')}](data:image/png;base64,{key}){{{m.group('attrs')}}}"

    return FIG_RE.sub(sub, markdown), images


def write_quarto_variables(ledger: Mapping[str, Entry], path: Path) -> None:
    """report/_variables.yml for Quarto users: the ledger's texts nested by the key's dots."""
    tree: dict = {}
    for key in sorted(ledger):
        node = tree
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = ledger[key].text
    _atomic_write(path, yaml.safe_dump(tree, allow_unicode=True, sort_keys=True, default_style=None))


def _atomic_write(path: Path, text: str) -> None:
    atomic.write_text(path, text)


@lru_cache(maxsize=1)
def pandoc_binary() -> str:
    """The pandoc shipped by pypandoc_binary (pinned in the lock), never one found on PATH.

    pypandoc's own lookup searches PATH lazily and is not thread-safe: with a system pandoc 2.x
    installed, concurrent conversions picked it and failed on --embed-resources.
    """
    import pypandoc

    bundled = Path(pypandoc.__file__).parent / "files" / "pandoc"
    binary = str(bundled) if bundled.exists() else pypandoc.get_pandoc_path()
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    version = out.split()[1]
    if int(version.split(".")[0]) < 3:
        raise RenderError(f"pandoc {version} at {binary} is too old: the report needs pandoc 3 (pypandoc_binary)")
    return binary


def _pandoc(args: list[str], input_text: str, output: Path | None = None) -> str:
    """Run pandoc (markdown → args[0]); returns stdout, or writes `output` when given."""
    cmd = [pandoc_binary(), "--from=markdown", f"--to={args[0]}", *args[1:]]
    if output is not None:
        cmd.append(f"--output={output}")
    proc = subprocess.run(cmd, input=input_text, capture_output=True, text=True, encoding="utf-8")
    if proc.returncode != 0:
        raise RenderError(f"pandoc failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def front_matter(text: str) -> dict:
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    return yaml.safe_load(m.group(1)) if m else {}


def render(
    qmd: Path,
    ledger: Mapping[str, Entry],
    *,
    out_pdf: Path | None,
    out_html: Path | None,
    provenance: list[dict[str, str]],
    out_docx: Path | None = None,
    codebook=None,
    figures_dir: Path | None = None,
    alt_texts: Sequence[Path] | None = None,
    build_dir: Path | None = None,
) -> Expanded:
    """Render the report; returns the expanded Markdown and the ledger keys it used.

    Every output is rendered to a temporary file first and replaces the previous one only when
    all of them succeeded: a failed render keeps the last good PDF, HTML and DOCX, and the
    RenderError says so. Intermediate files go to `build_dir` (default ``report/_build/``, the
    rule's ``directory()`` output)."""
    import typst

    report_dir = qmd.parent
    build_dir = build_dir or report_dir / "_build"
    source = paths.rel(qmd) if qmd.resolve().is_relative_to(paths.ROOT) else str(qmd)
    text = expand_includes(qmd.read_text(encoding="utf-8"), report_dir)
    alts = alt_texts if alt_texts is not None else (figures_dir or paths.FIGURES)
    # Links are relative to the report's folder (report/report.pdf, report/report.html).
    expanded = substitute_values(text, ledger, "../", source)
    markdown = add_alt_text(expanded.markdown, alts)
    docx_markdown = add_alt_text(substitute_values(text, ledger, None, source).markdown, alts)
    lua = str(report_dir / "filters" / "crossref.lua")
    meta = ["--metadata-file", str(_provenance_file(build_dir, provenance))]
    stem = qmd.stem
    outputs = {k: v for k, v in (("pdf", out_pdf), ("html", out_html), ("docx", out_docx)) if v is not None}
    tmp = {k: v.with_name(f".{v.name}.rendering") for k, v in outputs.items()}

    def pdf() -> None:
        typ = _pandoc(
            ["typst", "--standalone", f"--template={report_dir / 'template.typ'}", f"--lua-filter={lua}", *meta],
            markdown,
        )
        typ_path = build_dir / f"{stem}.typ"
        _atomic_write(typ_path, typ)
        try:
            typst.compile(
                str(typ_path),
                output=str(tmp["pdf"]),
                root=str(paths.ROOT),
                font_paths=[],
                ignore_system_fonts=True,
                timestamp=PDF_TIMESTAMP,
            )
        except Exception as exc:  # typst raises its own error type with the diagnostics
            raise RenderError(f"typst could not compile {paths.rel(typ_path)}: {exc}") from None

    def html_out() -> None:
        html_md, images = inline_chart_images(markdown, report_dir)
        html_text = _pandoc(
            [
                "html5",
                "--standalone",
                "--embed-resources",
                f"--css={report_dir / 'style.css'}",
                f"--lua-filter={lua}",
                "--toc",
                "--toc-depth=2",
                f"--resource-path={report_dir}",
                *meta,
            ],
            html_md,
        )
        for key, b64 in images.items():
            html_text = html_text.replace(key, b64, 1)
        tmp["html"].write_text(html_text, encoding="utf-8")

    def docx() -> None:
        _pandoc(
            ["docx", f"--lua-filter={lua}", f"--resource-path={report_dir}", "--toc", "--toc-depth=2", *meta],
            docx_markdown,
            output=tmp["docx"],
        )

    pandoc_binary()  # resolve once, before the threads
    jobs = {"pdf": pdf, "html": html_out, "docx": docx}
    jobs = {k: jobs[k] for k in outputs}
    errors = []
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        futures = {k: pool.submit(j) for k, j in jobs.items()}
        for fut in futures.values():
            try:
                fut.result()
            except RenderError as exc:
                errors.append(str(exc))
    if errors:
        for t in tmp.values():
            t.unlink(missing_ok=True)
        kept = [
            paths.rel(p) if p.resolve().is_relative_to(paths.ROOT) else str(p) for p in outputs.values() if p.exists()
        ]
        note = (
            f"the last good {', '.join(kept)} {'was' if len(kept) == 1 else 'were'} kept"
            if kept
            else "nothing was written"
        )
        raise RenderError(f"{source}: rendering failed; {note}.\n" + "\n".join(errors))
    for k, path in outputs.items():
        atomic.write_via(path, lambda t, src=tmp[k]: src.replace(t))
    return Expanded(markdown, expanded.used_keys)


def _provenance_file(build_dir: Path, provenance: list[dict[str, str]]) -> Path:
    path = build_dir / "provenance.yaml"
    _atomic_write(path, yaml.safe_dump({"provenance": provenance}, allow_unicode=True, sort_keys=False))
    return path
