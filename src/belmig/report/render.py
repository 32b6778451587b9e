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
import os
import re
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from belmig.core import atomic, paths
from belmig.core.ledger import Entry
from belmig.report import docxmedia, pandocd
from belmig.report.pandocast import PandocError, SectionCache, self_contained
from belmig.report.shortcodes import INCLUDE_RE, VAR_PERCENT_RE

# Fixed PDF timestamp: the publication date of the 2022 report (no build time in outputs).
PDF_TIMESTAMP = int(dt.datetime(2022, 11, 3, tzinfo=dt.UTC).timestamp())


class RenderError(RuntimeError):
    pass


@dataclass(frozen=True)
class Expanded:
    markdown: str
    used_keys: tuple[str, ...]


def expand_includes(text: str, base: Path, _depth: int = 0, includes: Mapping[str, str] | None = None) -> str:
    """Inline Quarto ``{{< include path >}}`` lines (paths relative to `base`; `includes`: texts
    to use instead of the files, by the path as written)."""
    if _depth > 5:
        raise RenderError("includes nested more than 5 deep")

    def sub(m: re.Match) -> str:
        if includes is not None and m.group(1) in includes:
            return includes[m.group(1)]
        target = (base / m.group(1)).resolve()
        if not target.exists():
            raise RenderError(f"{base}: include {m.group(1)!r} not found ({target})")
        return expand_includes(target.read_text(encoding="utf-8"), target.parent, _depth + 1)

    return INCLUDE_RE.sub(sub, text)


VALUES_PAGE = "notebooks/executed/values.html"
FIG_RE = re.compile(
    r"!\[(?P<cap>[^\]]*)\]\((?P<src>[^)\s]*?/figures/(?P<stem>chart\d+)(?:\.[a-z]{2})?\.svg)\)\{(?P<attrs>[^}]*)\}"
)


def value_link(entry: Entry, link_prefix: str | None) -> str:
    """Markdown for one value: its text, linked to its anchor on the reviewers' values page
    (``notebooks/executed/values.html#<key>``); plain text when `link_prefix` is None (DOCX)."""
    text = entry.text.replace("\\", "\\\\").replace("<", "\\<").replace("*", "\\*").replace("_", "\\_")
    if link_prefix is None:
        return f"[{text}]{{.value}}"
    return f"[{text}]({link_prefix}{VALUES_PAGE}#{entry.key}){{.value}}"


def substitute_values(
    text: str, ledger: Mapping[str, Entry], link_prefix: str | None, source: str, lang: str = "en"
) -> Expanded:
    """Replace every ``{{< var key >}}`` with the value's text, as the edition's locale prints it
    (``belmig.report.locale``: the ledger's digits with the locale's separators; a ``%`` after
    the shortcode takes the locale's spacing, "56.4%" in English, "56,4 %" in lt and ru)."""
    from dataclasses import replace

    from belmig.report import locale

    suffix = locale.percent_suffix(lang)
    used: list[str] = []
    lines = text.split("\n")
    for i, line in enumerate(lines):

        def sub(m: re.Match, lineno=i + 1) -> str:
            key = m.group(1)
            if key not in ledger:
                raise RenderError(f"{source}:{lineno}: {{{{< var {key} >}}}} is not in the value ledger")
            used.append(key)
            entry = ledger[key]
            entry = replace(entry, text=locale.localize_text(entry.text, lang))
            return value_link(entry, link_prefix) + (suffix if m.group("pct") else "")

        lines[i] = VAR_PERCENT_RE.sub(sub, line)
    return Expanded("\n".join(lines), tuple(dict.fromkeys(used)))


def localize_figures(markdown: str, lang: str, *, per_language: bool | None = None) -> str:
    """Point every chart image of the text at the edition's own figure (:func:`figure_path`)."""

    from belmig.report.editions import figure_path

    def sub(m: re.Match) -> str:
        src = m.group("src")
        new = figure_path(m.group("stem")[len("chart") :], lang, per_language=per_language)
        prefix = src[: src.index("/figures/")] + "/"
        return m.group(0).replace(f"]({src})", f"]({prefix}{new.removeprefix('../')})", 1)

    return FIG_RE.sub(sub, markdown)


_REF_THEN_PERIOD_RE = re.compile(r"(?<![\w@])(-?@(?P<kind>fig|tbl)-[\w:-]*\w)\.(?=\s|$)", re.M)


def absorb_abbreviation_period(text: str) -> str:
    """Where a reference prints number first and ends with an abbreviation ("5 pav.", "3 lent."),
    a sentence ending right after it takes the abbreviation's period ("parodyta @tbl-x." reads
    "parodyta 3 lent.", not "3 lent.."). Needs ``crossref.number-first`` in the front matter."""
    cr = (front_matter(text) or {}).get("crossref") or {}
    if cr.get("number-first") is not True:
        return text
    ends = {k: str(cr.get(f"{k}-prefix", "")).endswith(".") for k in ("fig", "tbl")}
    return _REF_THEN_PERIOD_RE.sub(lambda m: m.group(1) if ends[m.group("kind")] else m.group(0), text)


def with_defaults(text: str, defaults: Mapping[str, object]) -> str:
    """`text` with its YAML front matter completed by `defaults` (the edition's strings table):
    keys the front matter sets win, mappings are merged one level deep (``crossref``)."""
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    fm = (_load_yaml(m.group(1)) if m else None) or {}
    merged = dict(defaults)
    for k, v in fm.items():
        merged[k] = {**merged[k], **v} if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    body = text[m.end() :] if m else text
    return "---\n" + yaml.safe_dump(merged, allow_unicode=True, sort_keys=False, width=10_000) + "---\n" + body


def add_alt_text(markdown: str, figures_dir: Path, alt_files: Mapping[str, Path] | None = None) -> str:
    """Give every chart image the alt text of ``figures/chartNN.alt.txt`` (values included);
    `alt_files`: the alt-text files by name (``chart01.alt.txt``), as the rule passes them."""

    def sub(m: re.Match) -> str:
        name = Path(m.group("src")).name.removesuffix(".svg") + ".alt.txt"
        alt_file = Path((alt_files or {}).get(name) or figures_dir / name)
        if "fig-alt=" in m.group("attrs") or not alt_file.exists():
            return m.group(0)
        alt = " ".join(alt_file.read_text(encoding="utf-8").split()).replace("\\", "").replace('"', "&quot;")
        return f'![{m.group("cap")}]({m.group("src")}){{{m.group("attrs")} fig-alt="{alt}"}}'

    return FIG_RE.sub(sub, markdown)


_PLACEHOLDER = "BELMIGIMG{:03d}END"  # an image's stand-in in the HTML's Markdown (inline_chart_images)
_PLACEHOLDER_RE = re.compile(r"BELMIGIMG\d{3}END")  # any of them


def inline_chart_images(markdown: str, report_dir: Path) -> tuple[str, dict[str, str]]:
    """The HTML's chart images as data: URIs with short placeholders, and the base64 to put back.

    The HTML shows the SVG the PDF prints (vector, text as paths; a quarter smaller than the
    200-dpi PNG, which only the DOCX uses): the editions' charts need no PNG.

    pandoc's --embed-resources leaves a data: URI as it is and re-serialises the page around it,
    so a placeholder swapped for the base64 afterwards gives the same bytes as pandoc's own
    embedding (tests/test_report_filters.py), in half the time: the preview's save → HTML."""
    import base64

    images: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        svg = (report_dir / m.group("src")).with_suffix(".svg")
        if not svg.is_file():
            return m.group(0)
        key = _PLACEHOLDER.format(len(images))
        images[key] = base64.b64encode(svg.read_bytes()).decode("ascii")
        return f"![{m.group('cap')}](data:image/svg+xml;base64,{key}){{{m.group('attrs')}}}"

    return FIG_RE.sub(sub, markdown), images


def put_back_images(page: str, images: Mapping[str, str]) -> str:
    """`page` with each placeholder of :func:`inline_chart_images` (its first occurrence) replaced
    by its base64, in one pass over the page (18 replacements each copied the 1.5 MB page)."""
    todo = dict(images)
    return _PLACEHOLDER_RE.sub(lambda m: todo.pop(m.group(0), m.group(0)), page)


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
    import importlib.util

    # found without importing pypandoc (its import is ~0.07 s of urllib, http and platform)
    spec = importlib.util.find_spec("pypandoc")
    where = list((spec and spec.submodule_search_locations) or [])
    bundled = Path(where[0]) / "files" / "pandoc" if where else None
    if bundled is not None and bundled.exists():
        binary = str(bundled)
    else:
        import pypandoc

        binary = pypandoc.get_pandoc_path()
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    version = out.split()[1]
    if int(version.split(".")[0]) < 3:
        raise RenderError(f"pandoc {version} at {binary} is too old: the report needs pandoc 3 (pypandoc_binary)")
    return binary


def _pandoc(
    args: list[str], input_text: str, output: Path | None = None, source: str = "markdown", warm: str | None = None
) -> str:
    """Run pandoc (`source` → args[0]); returns stdout, or writes `output` when given.

    `warm` (a build's render): the name of a warm worker in the render server
    (belmig.report.pandocd), which re-reads only the sections an edit changed and gives the same
    bytes; the command line runs when it declines."""
    if warm is not None and source == "markdown":
        out = pandocd.convert(pandoc_binary(), args, input_text, key=warm, output=output, epoch=PDF_TIMESTAMP)
        if out is not None:
            return out
    cmd = [pandoc_binary(), f"--from={source}", f"--to={args[0]}", *args[1:]]
    if output is not None:
        cmd.append(f"--output={output}")
    # the DOCX's creation date (docProps/core.xml) is the PDF's fixed one, not the build's clock
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(PDF_TIMESTAMP)}
    proc = subprocess.run(cmd, input=input_text, capture_output=True, text=True, encoding="utf-8", env=env)
    if proc.returncode != 0:
        raise RenderError(f"pandoc failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def front_matter(text: str) -> dict:
    """The YAML front matter (not to be modified: parsed once per text, make preview re-renders)."""
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    return _load_yaml(m.group(1)) if m else {}


@lru_cache(maxsize=16)
def _load_yaml(text: str):
    return yaml.safe_load(text)


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
    build_dir: Path | None = None,
    includes: Mapping[str, str] | None = None,
    alt_files: Sequence[Path] = (),
    ast: SectionCache | None = None,
    gate: Callable[[], None] | None = None,
    stylesheet: Path | None = None,
) -> Expanded:
    """Render one edition of the report; returns the expanded Markdown and the ledger keys it used.

    The edition's language is its front matter's ``lang`` (``belmig.report.editions``): values
    print in its locale, its figures are ``figure_path(n, lang)``, the strings the front matter
    leaves out (contents title, running header, "5 pav." order...) come from the edition's strings
    table, and the HTML gets a switcher to the other editions.
    Every output is rendered to a temporary file first and replaces the previous one only when
    all of them succeeded: a failed render keeps the last good PDF, HTML and DOCX, and the
    RenderError says so. Intermediate files go to `build_dir` (``report/_build`` for English,
    ``report/_build.<lang>`` for the other editions: editions render at the same time).

    `ast` (``make preview``): a :class:`belmig.report.pandocast.SectionCache`; pandoc then reads
    only the sections that changed since the last render. The HTML's stylesheet is embedded here,
    not by pandoc's ``--embed-resources`` (same bytes: tests/test_preview_fast.py).

    `stylesheet`: the HTML's CSS (default ``style.css`` beside `qmd`). `gate` is called once every output has rendered to its temporary file and before any replaces
    the previous one: when it raises (the text's checks failed while the render ran,
    :func:`while_checking`), nothing is replaced and its error propagates."""

    from belmig.report import editions

    report_dir = qmd.parent
    raw = qmd.read_text(encoding="utf-8")
    lang = editions.lang_of(front_matter(raw).get("lang"))
    build_dir = build_dir or report_dir / editions.build_dir_name(lang)
    build_dir.mkdir(parents=True, exist_ok=True)
    source = paths.shown(qmd)
    if lang != "en":  # the appendix tables' numbers in the edition's format
        from belmig.report import locale

        includes = {
            m.group(1): locale.localize_table(
                (includes or {}).get(m.group(1)) or (report_dir / m.group(1)).read_text(encoding="utf-8"), lang
            )
            for m in INCLUDE_RE.finditer(raw)
            if (includes and m.group(1) in includes) or (report_dir / m.group(1)).is_file()
        }
    text = with_defaults(expand_includes(raw, report_dir, includes=includes), editions.strings(lang))
    text = localize_figures(text, lang)
    text = absorb_abbreviation_period(text)
    figures_dir = figures_dir or paths.FIGURES
    # Links are relative to the report's folder (report/report.pdf, report/report.html).
    expanded = substitute_values(text, ledger, "../", source, lang)
    alts = {Path(p).name: Path(p) for p in alt_files}
    markdown = add_alt_text(expanded.markdown, figures_dir, alts)
    docx_markdown = (
        add_alt_text(substitute_values(text, ledger, None, source, lang).markdown, figures_dir, alts)
        if out_docx is not None
        else ""
    )
    lua = str(report_dir / "filters" / "crossref.lua")
    provenance = editions.localize_provenance(provenance, lang)
    meta = ["--metadata-file", str(_provenance_file(build_dir, provenance))]
    switcher = build_dir / "switcher.html"
    _atomic_write(switcher, editions.switcher_html(lang, qmd.parent))
    stem = qmd.stem
    # a build (no section cache of its own) converts in the warm workers of this edition
    warm_key = str(qmd.resolve()) if ast is None else None
    outputs = {k: v for k, v in (("pdf", out_pdf), ("html", out_html), ("docx", out_docx)) if v is not None}
    tmp = {k: v.with_name(f".{v.name}.rendering") for k, v in outputs.items()}

    def read(md: str) -> tuple[str, str]:
        """What pandoc's writer reads: the text, or its AST from the section cache."""
        if ast is None:
            return md, "markdown"
        try:
            return ast.document(md), "json"
        except PandocError as exc:
            raise RenderError(str(exc)) from None

    # The three pandoc processes start together: with the warm Typst server (compile_pdf) the
    # PDF's chain is no longer the longest, and a DOCX started after the PDF's pandoc was
    # (paired text edits: 3.09 s against 3.46 s, medians of 6).
    def pdf() -> None:
        doc, source_format = read(markdown)
        typ = _pandoc(
            [
                "typst",
                "--standalone",
                "--wrap=none",  # a paragraph one line (the same PDF; pandoc's line filling costs ~0.04 s)
                f"--template={report_dir / 'template.typ'}",
                f"--lua-filter={lua}",
                *meta,
            ],
            doc,
            source=source_format,
            warm=warm_key,
        )
        typ_path = build_dir / f"{stem}.typ"
        _atomic_write(typ_path, typ)
        try:
            compile_pdf(typ_path, tmp["pdf"], warm=ast is None)
        except Exception as exc:  # typst raises its own error type with the diagnostics
            raise RenderError(f"typst could not compile {paths.rel(typ_path)}: {exc}") from None

    def html_out() -> None:
        html_md, images = inline_chart_images(markdown, report_dir)
        css = stylesheet or report_dir / "style.css"  # the rule passes it (its input)
        args = [
            "html5",
            "--standalone",
            "--wrap=none",  # a paragraph one line (the same page; line filling was ~0.1 s of the writer)
            "--embed-resources",
            f"--css={css}",
            f"--lua-filter={lua}",
            "--toc",
            "--toc-depth=2",
            f"--resource-path={report_dir}",
            f"--include-before-body={switcher}",
            *meta,
        ]
        doc, source_format = read(html_md)
        # the page without --embed-resources and the stylesheet embedded here: the same bytes
        # (tests/test_preview_fast.py), 0.35 s less of pandoc; pandoc embeds when this cannot
        linked = _pandoc([a for a in args if a != "--embed-resources"], doc, source=source_format, warm=warm_key)
        html_text = self_contained(linked, str(css), css.read_text(encoding="utf-8"))
        if html_text is None:
            html_text = _pandoc(args, doc, source=source_format)
        html_text = put_back_images(html_text, images)
        tmp["html"].write_text(html_text, encoding="utf-8")

    def docx() -> None:
        # the charts as stand-ins of their size, put back in the archive after pandoc (docxmedia)
        sources = [m.group("src") for m in FIG_RE.finditer(docx_markdown)]
        found = docxmedia.stand_ins(docx_markdown, sources, report_dir, build_dir / "docx-media")
        resources, originals = found or (report_dir, {})
        _pandoc(
            ["docx", f"--lua-filter={lua}", f"--resource-path={resources}", "--toc", "--toc-depth=2", *meta],
            docx_markdown,
            output=tmp["docx"],
            warm=warm_key,
        )
        if originals:
            try:
                docxmedia.put_back(tmp["docx"], originals)
            except (docxmedia.StandInError, OSError) as exc:
                raise RenderError(f"{paths.shown(out_docx)}: the charts could not be put back: {exc}") from None

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
        kept = [paths.shown(p) for p in outputs.values() if p.exists()]
        note = (
            f"the last good {', '.join(kept)} {'was' if len(kept) == 1 else 'were'} kept"
            if kept
            else "nothing was written"
        )
        raise RenderError(f"{source}: rendering failed; {note}.\n" + "\n".join(errors))
    if gate is not None:
        try:
            gate()
        except BaseException:
            for t in tmp.values():
                t.unlink(missing_ok=True)
            raise
    for k, path in outputs.items():
        atomic.write_via(path, lambda t, src=tmp[k]: src.replace(t))
    return Expanded(markdown, expanded.used_keys)


R = TypeVar("R")


def while_checking(checks: Callable[[], Any], render_fn: Callable[[Callable[[], None]], R]) -> R:
    """Render while the text's checks run, and keep the render only when they pass.

    `checks` runs beside the render (it raises ReportCheckError when the text is not supported):
    in a forked process when this one has no other thread (a build's job: the checks' 0.45 s of
    Python no longer share one interpreter lock with the render's preparation, which started
    pandoc ~0.5 s later), else in a thread. `render_fn(gate)` renders to temporary files meanwhile
    and calls ``gate()`` before it replaces any output (:func:`render`'s `gate`): the gate waits for
    the checks and re-raises their error, so a text that fails a check still writes nothing. A
    check's error is reported before a render's: it names the sentence to mend."""
    wait = _checks_in_child(checks) if hasattr(os, "fork") and threading.active_count() == 1 else None
    if wait is None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="checks") as pool:
            checked = pool.submit(checks)
            try:
                return render_fn(lambda: checked.result())
            except RenderError:
                checked.result()  # a failed check is the error to show
                raise
    try:
        return render_fn(wait)
    except RenderError:
        wait()  # a failed check is the error to show
        raise
    finally:
        wait(reap_only=True)


def _checks_in_child(checks: Callable[[], Any]):
    """Run `checks` in a forked process; returns ``wait()``, which re-raises what it raised (the
    exception itself when it pickles, else a RuntimeError with its traceback). None: no fork."""
    import pickle
    import sys

    r, w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing buffered is written twice
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:  # the checks' process: run them, report, and leave without the parent's exit handlers
        code = 0
        try:
            os.close(r)
            try:
                checks()
                outcome = ("ok", None)
            except BaseException as exc:  # noqa: BLE001 (every error goes back to the parent)
                try:
                    pickle.dumps(exc)
                    outcome = ("error", exc)
                except Exception:
                    import traceback

                    outcome = ("error", RuntimeError(traceback.format_exc()))
            data = pickle.dumps(outcome)
            with os.fdopen(w, "wb") as f:
                f.write(data)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    state: dict[str, Any] = {}

    def wait(reap_only: bool = False) -> None:
        if "outcome" not in state:
            with os.fdopen(r, "rb") as f:
                data = f.read()
            os.waitpid(pid, 0)
            state["outcome"] = pickle.loads(data) if data else ("error", RuntimeError("the checks' process died"))
        if reap_only:
            return
        kind, exc = state["outcome"]
        if kind == "error":
            raise exc

    return wait


def compile_pdf(typ_path: Path, out: Path, *, warm: bool = True) -> None:
    """Typst: `typ_path` to the PDF `out`. A build's job asks the warm server
    (belmig.report.typstd: a recompile of an edited text reuses the last layout, ~0.1 s instead of
    ~1 s) and compiles here when there is none; ``make preview`` (`warm` False) keeps its own
    compiler in its process. The same PDF either way."""
    if warm:
        from belmig.report import typstd

        try:
            return typstd.compile_pdf(typ_path, paths.ROOT, out, PDF_TIMESTAMP)
        except typstd.Unavailable:
            pass
    _typst_compiler(typ_path).compile(output=str(out), timestamp=PDF_TIMESTAMP)


_COMPILERS: dict[tuple[str, str], object] = {}
_COMPILERS_LOCK = threading.Lock()


def _typst_compiler(typ_path: Path):
    """A Typst compiler for `typ_path`, kept for the process: the fonts are loaded once and a
    recompile reuses what did not change (``make preview``). Same PDF as ``typst.compile``."""
    import typst

    key = (str(typ_path), str(paths.ROOT))
    with _COMPILERS_LOCK:
        if key not in _COMPILERS:
            _COMPILERS[key] = typst.Compiler(
                str(typ_path), root=str(paths.ROOT), font_paths=[], ignore_system_fonts=True
            )
        return _COMPILERS[key]


def _provenance_file(build_dir: Path, provenance: list[dict[str, str]]) -> Path:
    path = build_dir / "provenance.yaml"
    _atomic_write(path, yaml.safe_dump({"provenance": provenance}, allow_unicode=True, sort_keys=False))
    return path
