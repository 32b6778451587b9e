"""Every published number an attacker can read, as a tidy table of facts.

Readers, one per kind of public file: the Quarto variables YAML, notebook outputs (ipynb and
their HTML), the report's HTML (tables, prose, and the number links aligned with the public
report template), PDF text, DOCX text and tables, chart JSON, alt text and SVG descriptions,
and archives (recursively). A fact is one printed value with what its key or its place says it
means: ``stat`` (pct, count, n, mean, wpct, wmean, p, ...), ``question``, ``option``, ``by``,
``level``, ``weighted``, the printed ``text`` and its ``decimals``, and where it was read.

Tables that print a ledger key next to its value (and a "Base n" or "n" column) yield the base
too, as a derived ``n``/``nby`` fact: a report that drops the variables file but keeps a values
table with bases still publishes the bases.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import yaml

from belmig.core.keys import level_from_segment  # a merged level in a key: male__other = male+other

from .structure import Structure

# ------------------------------------------------------------------------------------ keys

DATA_PREFIXES = (
    "pctby",
    "nby",
    "countby",
    "meanby",
    "wpctby",
    "wmeanby",
    "pct",
    "count",
    "n",
    "mean",
    "wpct",
    "wmean",
    "wci",
    "wci_mean",
    "pby",
    "other",
)
INFO_PREFIXES = ("flow", "weight", "ext", "pub", "audit", "repro", "charts", "ingest")
_PREFIX = "|".join(sorted(DATA_PREFIXES + INFO_PREFIXES, key=len, reverse=True))
_SEG = r"[A-Za-z0-9_+]+"
KEY_RE = re.compile(rf"(?<![\w.])(?:{_PREFIX})(?:\.{_SEG})+")
KEY_FULL = re.compile(rf"(?:{_PREFIX})(?:\.{_SEG})+")
NUM_RE = re.compile(r"^[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?$")
_NUM_IN_TEXT = r"[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"


def _pair_re(space: str) -> re.Pattern:
    """A key, then (within 40 characters of `space`, "|", ":" or "=") the number printed for it."""
    return re.compile(
        rf"(?<![\w.])((?:{_PREFIX})(?:\.{_SEG})+)[`'\"]?[{space}|:=]{{1,40}}({_NUM_IN_TEXT})(?![\d.,]*[–-]\d)"
    )


TEXT_PAIR_RE = _pair_re(r"\s")
# A PDF's key and its value are on one line (a table row, a sentence as laid out): a key that ends
# a line is not paired with the number that starts the next one, which is as often the page's
# number in the footer (pypdf, used when pdftotext is missing, puts the footer right after the
# last line of the page).
PDF_PAIR_RE = _pair_re(r" \t")


def parse_key(key: str) -> dict:
    """What a ledger-style key says: stat, question, option, by, level, weighted."""
    parts = key.split(".")
    head, rest = parts[0], parts[1:]
    out = {"stat": head, "question": "", "option": "", "by": "", "level": "", "weighted": head.startswith("w")}
    if head in ("pct", "count", "wpct", "wci") and len(rest) == 2:
        out.update(question=rest[0], option=rest[1])
    elif head in ("n", "mean", "wmean", "wci_mean") and len(rest) == 1:
        out.update(question=rest[0])
    elif head in ("pctby", "countby", "wpctby") and len(rest) == 4:
        out.update(by=rest[0], level=level_from_segment(rest[1]), question=rest[2], option=level_from_segment(rest[3]))
    elif head in ("nby", "meanby", "wmeanby") and len(rest) == 3:
        out.update(by=rest[0], level=level_from_segment(rest[1]), question=rest[2])
    elif head == "pby" and len(rest) in (2, 3):
        out.update(by=rest[0], question=rest[1], option=level_from_segment(rest[2]) if len(rest) == 3 else "")
    elif head == "other" and len(rest) == 2:
        out.update(question=rest[0], option=rest[1])
    else:
        out.update(question=".".join(rest))
    # Normalise the by-statistics to the stat they are (pctby -> pct within a level).
    out["stat"] = {
        "pctby": "pct",
        "countby": "count",
        "wpctby": "wpct",
        "nby": "n",
        "meanby": "mean",
        "wmeanby": "wmean",
    }.get(head, head)
    out["weighted"] = out["stat"] in ("wpct", "wmean", "wci", "wci_mean")
    return out


def parse_number(text: str) -> tuple[float | None, int | None]:
    """A printed number and its decimals; (None, None) when the text is not one number."""
    t = str(text).strip().replace("\u2212", "-").replace("\xa0", "").rstrip("%").strip()
    if not t or not NUM_RE.match(t):
        return None, None
    t = t.replace(",", "")
    dec = len(t.split(".")[1]) if "." in t else 0
    try:
        return float(t), dec
    except ValueError:
        return None, None


@dataclass
class Fact:
    key: str
    text: str
    value: float | None
    decimals: int | None
    stat: str
    question: str
    option: str
    by: str
    level: str
    weighted: bool
    file: str
    where: str
    derived: str = ""  # e.g. "base column of pct.x.y"


class Collector:
    def __init__(self) -> None:
        self.facts: list[Fact] = []
        self.suppressed: list[dict] = []  # cells a table or chart shows as suppressed

    def add(self, key: str, text: str, file: str, where: str, derived: str = "") -> None:
        key = key.strip().strip("`'\"")
        if not KEY_FULL.fullmatch(key):
            return
        value, dec = parse_number(text)
        meta = parse_key(key)
        self.facts.append(
            Fact(
                key,
                str(text).strip(),
                value,
                dec,
                meta["stat"],
                meta["question"],
                meta["option"],
                meta["by"],
                meta["level"],
                meta["weighted"],
                file,
                where,
                derived,
            )
        )

    def add_base(self, key: str, base_text: str, file: str, where: str) -> None:
        """A base printed beside a share (a "Base n" column): the n of the share's cell."""
        meta = parse_key(key)
        v, dec = parse_number(base_text)
        if v is None or dec not in (0, None) and not str(base_text).strip().endswith(".0"):
            return
        base = str(int(v))
        if meta["stat"] in ("pct", "wpct", "mean", "wmean") and meta["question"]:
            bkey = f"nby.{meta['by']}.{meta['level']}.{meta['question']}" if meta["by"] else f"n.{meta['question']}"
            self.add(bkey, base, file, where, derived=f"base of {key}")

    def frame(self) -> pd.DataFrame:
        cols = list(Fact.__dataclass_fields__)
        return pd.DataFrame([asdict(f) for f in self.facts], columns=cols)


# --------------------------------------------------------------------------- file readers


def flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += flatten(v, key + ".")
        else:
            out.append((key, v))
    return out


def read_variables_yaml(text: str, col: Collector, file: str) -> None:
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        return
    for key, v in flatten(data):
        if v is None or isinstance(v, (list, dict)):
            continue
        col.add(key, str(v), file, key)


_STRIP_RE = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+|<style.*?</style>|<script.*?</script>", re.S | re.I)


def html_tables_and_text(html: str) -> tuple[list[tuple[list[str], list[list[str]]]], str, list[str]]:
    """(tables as (header, rows), visible text, texts of the report's number links)."""
    from bs4 import BeautifulSoup

    html = _STRIP_RE.sub(" ", html)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(html, "html.parser")
    tables = []
    for t in soup.find_all("table"):
        rows = []
        header: list[str] = []
        for tr in t.find_all("tr"):
            cells = [c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])]
            if tr.find("th") is not None and not tr.find("td") and not header:
                header = cells
            else:
                rows.append(cells)
        tables.append((header, rows))
    links = [a.get_text(strip=True) for a in soup.find_all("a", class_="value")]
    return tables, soup.get_text(" "), links


BASE_HEADER = re.compile(r"^(base\s*n|n|base|unweighted n)$", re.I)


def read_table_rows(header: list[str], rows: list[list[str]], col: Collector, file: str, where: str) -> None:
    base_idx = next((i for i, h in enumerate(header) if BASE_HEADER.match(h.strip())), None)
    # pandas writes the index as an unnamed first header cell; rows then have the same width.
    for r_i, cells in enumerate(rows):
        for i, c in enumerate(cells):
            k = c.strip().strip("`")
            if not KEY_FULL.fullmatch(k):
                continue
            # The value is the cell right after the key (a range "a–b" there is an interval).
            val = cells[i + 1] if i + 1 < len(cells) else None
            if val is not None and parse_number(val)[0] is not None:
                col.add(k, val, file, f"{where} row {r_i + 1}")
            if base_idx is not None and base_idx < len(cells) and base_idx > i:
                col.add_base(k, cells[base_idx], file, f"{where} row {r_i + 1} (base column)")
            break


def read_text_pairs(text: str, col: Collector, file: str, where: str, pattern: re.Pattern = TEXT_PAIR_RE) -> None:
    for m in pattern.finditer(text):
        col.add(m.group(1), m.group(2), file, where)


SHORTCODE_RE = re.compile(r"\{\{<\s*var\s+([^\s>]+)\s*>\}\}")


def read_html(html: str, col: Collector, file: str, template: str | None = None) -> None:
    tables, text, links = html_tables_and_text(html)
    for i, (header, rows) in enumerate(tables):
        read_table_rows(header, rows, col, file, f"table {i + 1}")
    read_text_pairs(text, col, file, "text")
    if template and links:
        keys = SHORTCODE_RE.findall(template)
        # The i-th number link of the report is the i-th value shortcode of its (public) template.
        if len(keys) == len(links):
            for i, (k, v) in enumerate(zip(keys, links)):
                col.add(k, v, file, f"number link {i + 1} (template shortcode)")


def read_ipynb(text: str, col: Collector, file: str) -> None:
    nb = json.loads(text)
    for ci, cell in enumerate(nb.get("cells", [])):
        for oi, out in enumerate(cell.get("outputs", []) or []):
            where = f"cell {ci + 1} output {oi + 1}"
            data = out.get("data", {})
            if "text/html" in data:
                h = "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
                tables, txt, _ = html_tables_and_text(h)
                for ti, (header, rows) in enumerate(tables):
                    read_table_rows(header, rows, col, file, f"{where} table {ti + 1}")
            for key in ("text/plain", "text/markdown"):
                if key in data:
                    t = "".join(data[key]) if isinstance(data[key], list) else data[key]
                    read_text_pairs(t, col, file, where)
            if "text" in out:
                t = "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
                read_text_pairs(t, col, file, where)


def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext"):
        proc = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True)
        if proc.returncode == 0:
            return proc.stdout.decode("utf-8", errors="replace")
    from pypdf import PdfReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(p.extract_text() or "" for p in reader.pages)


PDF_ROW_RE = re.compile(
    rf"((?:{_PREFIX})(?:\.{_SEG})+)[ \t]+({_NUM_IN_TEXT}%?)[ \t]+(?:(?:{_NUM_IN_TEXT}[–-]{_NUM_IN_TEXT})|–)[ \t]+(\d[\d,]*)\s"
)


# A file of a translated edition (report.lt.pdf, chart02.ru.svg, ...): its numbers are in the
# language's format (decimal comma, no-break space between thousands). The attacker reads them.
EDITION_FILE_RE = re.compile(r"\.(?:lt|ru)\.(?:html?|pdf|docx|json|alt\.txt|svg)$", re.I)
_GROUP_RE = re.compile(r"(?<=\d)[\u00a0\u202f](?=\d{3}(?!\d))")
_DECIMAL_COMMA_RE = re.compile(r"(?<=\d),(?=\d)")


def delocalize(text: str) -> str:
    """An edition's numbers as the English files print them ("56,4 %" -> "56.4%", "1 234" -> "1234"),
    so that every reader below parses them; the edition's own words stay."""
    text = _GROUP_RE.sub("", text)
    text = _DECIMAL_COMMA_RE.sub(".", text)
    return re.sub(r"(?<=\d)[\u00a0\u202f]%", "%", text)


def read_pdf(data: bytes, col: Collector, file: str) -> str:
    text = pdf_text(data)
    if EDITION_FILE_RE.search(file):
        text = delocalize(text)
    # Long keys wrap inside table cells: join a line ending in "." or "_" with the next one.
    joined = re.sub(r"([A-Za-z0-9_+]\.|_)\n\s*", r"\1", text)
    read_text_pairs(joined, col, file, "text", PDF_PAIR_RE)
    for m in PDF_ROW_RE.finditer(joined):
        col.add_base(m.group(1), m.group(3), file, "values table (base column)")
    return text


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_parts(data: bytes) -> tuple[list[tuple[list[str], list[list[str]]]], str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if n.startswith("word/") and n.endswith(".xml")]
        tables, texts = [], []
        for n in names:
            root = ET.fromstring(z.read(n))
            for tbl in root.iter(f"{W}tbl"):
                rows = [
                    ["".join(t.text or "" for t in tc.iter(f"{W}t")) for tc in tr.iter(f"{W}tc")]
                    for tr in tbl.iter(f"{W}tr")
                ]
                if rows:
                    tables.append((rows[0], rows[1:]))
            for p in root.iter(f"{W}p"):
                texts.append("".join(t.text or "" for t in p.iter(f"{W}t")))
    return tables, "\n".join(texts)


def read_docx(data: bytes, col: Collector, file: str) -> str:
    tables, text = docx_parts(data)
    for i, (header, rows) in enumerate(tables):
        read_table_rows(header, rows, col, file, f"table {i + 1}")
    read_text_pairs(text, col, file, "text")
    return text


def _chart_key(by: str, level: str, q: str, opt: str) -> str:
    return f"pctby.{by}.{level}.{q}.{opt}" if by else f"pct.{q}.{opt}"


def read_chart_json(text: str, col: Collector, file: str) -> dict:
    spec = json.loads(text)
    q, by, level = spec.get("question") or "", spec.get("by") or "", spec.get("level") or ""
    for b in spec.get("bars", []) or []:
        opt = b.get("option") or ""
        if b.get("suppressed"):
            col.suppressed.append(
                {
                    "file": file,
                    "question": q,
                    "option": opt,
                    "by": by,
                    "level": level,
                    "where": f"bar {b.get('label', opt)}",
                }
            )
            continue
        key = b.get("ledger_key") or (_chart_key(by, level, q, opt) if q and opt else None)
        txt = b.get("text") or b.get("drawn")
        if key and txt is not None:
            col.add(key, str(txt), file, f"bar {b.get('label', opt)}")
    if spec.get("n") is not None and q:
        col.add(f"nby.{by}.{level}.{q}" if by else f"n.{q}", str(spec["n"]), file, "chart n")
    if spec.get("mean") is not None and q:
        m = spec["mean"]
        col.add(
            f"meanby.{by}.{level}.{q}" if by else f"mean.{q}",
            str(m.get("text", m) if isinstance(m, dict) else m),
            file,
            "chart mean",
        )
    return spec


ALT_PAIR_RE = re.compile(r"(?:^|[;:?)]\s)([^:;]+?): (\d+(?:\.\d+)?)%")
ALT_SUPP_RE = re.compile(r"(?:^|[;:?)]\s)([^:;]+?): not shown")
ALT_N_RE = re.compile(r"\bn = (\d[\d,]*)")
ALT_CHART_RE = re.compile(r"Chart (\d+)\.")


def read_alt_text(text: str, col: Collector, file: str, structure: Structure, spec: dict | None) -> None:
    """Alt text and SVG descriptions: "Label: 12.34%" pairs, mapped to options by their labels."""
    q, by, level = "", "", ""
    label_to_opt: dict[str, str] = {}
    if spec:
        q, by, level = spec.get("question") or "", spec.get("by") or "", spec.get("level") or ""
        for b in spec.get("bars", []) or []:
            label_to_opt[str(b.get("label", "")).strip()] = b.get("option") or ""
    else:
        m = ALT_CHART_RE.search(text)
        qq = structure.by_chart(int(m.group(1))) if m else None
        if qq is None:
            return
        q = qq.id
        label_to_opt = {v: k for k, v in qq.labels.items()}
        cond = re.search(r"Only respondents who answered “([^”]+)” to “([^”]+)”", text)
        if cond:
            for cand in structure.questions.values():
                if cand.text and cand.text.split(" (")[0] == cond.group(2).split(" (")[0]:
                    inv = {v: k for k, v in cand.labels.items()}
                    if cond.group(1) in inv:
                        by, level = cand.id, inv[cond.group(1)]
    body = text.split(": ", 1)[1] if ": " in text else text
    for m in ALT_PAIR_RE.finditer(body):
        opt = label_to_opt.get(m.group(1).strip())
        if opt:
            col.add(_chart_key(by, level, q, opt), m.group(2), file, f"alt text {m.group(1).strip()}")
    for m in ALT_SUPP_RE.finditer(body):
        opt = label_to_opt.get(m.group(1).strip())
        if opt:
            col.suppressed.append(
                {
                    "file": file,
                    "question": q,
                    "option": opt,
                    "by": by,
                    "level": level,
                    "where": f"alt text {m.group(1).strip()}",
                }
            )
    m = ALT_N_RE.search(text)
    if m and q:
        col.add(f"nby.{by}.{level}.{q}" if by else f"n.{q}", m.group(1), file, "alt text n")


SVG_DESC_RE = re.compile(r"<desc[^>]*>(.*?)</desc>", re.S)


# -------------------------------------------------------------------------------- driver

TEXT_SUFFIXES = (".html", ".htm", ".ipynb", ".yml", ".yaml", ".json", ".txt", ".csv", ".md", ".svg", ".rst", ".js")


def read_member(
    name: str,
    data: bytes,
    col: Collector,
    structure: Structure,
    template: str | None,
    chart_specs: dict[str, dict],
    depth: int = 0,
) -> None:
    """Dispatch one file (or archive member) to its reader."""
    low = name.lower()
    if EDITION_FILE_RE.search(low) and not low.endswith((".pdf", ".docx")):
        data = delocalize(data.decode("utf-8", errors="replace")).encode("utf-8")
    try:
        if low.endswith("_variables.yml") or low.endswith("_variables.yaml"):
            read_variables_yaml(data.decode("utf-8"), col, name)
        elif low.endswith(".ipynb"):
            read_ipynb(data.decode("utf-8"), col, name)
        elif low.endswith((".html", ".htm")):
            tmpl = template if low.endswith("report.html") else None
            read_html(data.decode("utf-8", errors="replace"), col, name, tmpl)
        elif low.endswith(".pdf"):
            read_pdf(data, col, name)
        elif low.endswith(".docx"):
            read_docx(data, col, name)
        elif re.search(r"chart\d+\.json$", low):
            chart_specs[Path(name).name.split(".")[0]] = read_chart_json(data.decode("utf-8"), col, name)
        elif low.endswith(".alt.txt"):
            stem = Path(name).name.split(".")[0]
            read_alt_text(data.decode("utf-8"), col, name, structure, chart_specs.get(stem))
        elif low.endswith(".svg"):
            stem = Path(name).name.split(".")[0]
            for d in SVG_DESC_RE.findall(data.decode("utf-8", errors="replace")):
                read_alt_text(d, col, name, structure, chart_specs.get(stem))
        elif low.endswith(".zip") and depth < 3:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    if not info.is_dir():
                        read_member(
                            f"{name}!{info.filename}", z.read(info), col, structure, template, chart_specs, depth + 1
                        )
    except (ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile, ET.ParseError, yaml.YAMLError) as e:
        col.facts.append(
            Fact("", f"unreadable: {type(e).__name__}: {e}", None, None, "error", "", "", "", "", False, name, "reader")
        )


def _order(rel: str) -> tuple[int, str]:
    # Chart JSON before alt text and SVG (they use its labels).
    return (0 if rel.endswith(".json") else 1, rel)


def extract(
    root: Path, files: list[str], structure: Structure, template: str | None = None
) -> tuple[pd.DataFrame, list[dict]]:
    """All published facts of the given public files (relative to ``root``)."""
    col = Collector()
    specs: dict[str, dict] = {}
    for rel in sorted(files, key=_order):
        p = root / rel
        if "data/release/" in rel:
            continue  # microdata are read by release.py, not as printed numbers
        read_member(rel, p.read_bytes(), col, structure, template, specs)
    return col.frame(), col.suppressed


def template_for(root: Path) -> str | None:
    """The report template of the public repository (shortcodes in print order), if at hand."""
    p = root / "report" / "report.qmd"
    return p.read_text(encoding="utf-8") if p.is_file() else None
