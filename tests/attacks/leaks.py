"""What must never be in a public file: free text, identifiers, machine paths, failed notebooks,
and an order that links the release to the submissions.

Every public file is turned into the text an attacker can read from it, recursively: archives
(zip, DOCX) member by member, notebooks string by string (sources, outputs, metadata), HTML with
its embedded text data URIs decoded, PDF text and metadata, PNG text chunks, Parquet values and
schema metadata, SPSS/Stata values, labels and notes. The texts are then searched for

* respondents' free text: any stretch of ≥ 20 characters shared with an answer in the raw
  export's open-answer, "other" and contact columns, or with a value typed into a closed
  question that is none of its options (whitespace and case folded);
* identifiers: the export's response ids, e-mail and IP addresses and contacts, verbatim;
  other e-mail and IPv4 shapes are reported as warnings;
* absolute machine paths (/work/, /tmp/, /home/, /root/, /Users/, C:\\);
* failed notebooks (``*.failed.ipynb``) among the public files.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .extract import pdf_text

WINDOW = 20
ABS_PATH_RE = re.compile(
    r"(?<![\w.~-])(/work/|/tmp/|/home/|/root/|/Users/|/var/folders/|[A-Za-z]:\\\\?(?:Users|work|tmp)\\)[^\s\"'<>)\]]{0,80}"
)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
IPV4_RE = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d.])")
DATA_URI_RE = re.compile(r"data:([\w/+.-]+)(;charset=[\w-]+)?;base64,([A-Za-z0-9+/=]+)")
TOKEN_RE = re.compile(r"[\w.%+@-]{5,}")
PHONE_RE = re.compile(r"\+?\d[\d \-()]{5,}\d")
UESC_RE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass
class Leak:
    kind: str  # free_text | identifier | abs_path | failed_notebook | email_shape | ip_shape
    where: str
    snippet: str
    severity: str = "fail"


def _window_hashes(n: str) -> np.ndarray:
    """Polynomial hash of every WINDOW-character window of n (uint64, wrapping)."""
    c = np.frombuffer(n.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    m = len(c) - WINDOW + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(m, dtype=np.uint64)
    base = np.uint64(1_000_003)
    with np.errstate(over="ignore"):
        for j in range(WINDOW):
            h = h * base + c[j : j + m]
    return h


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).casefold().strip()


# ------------------------------------------------------------------------- text of a file


def _json_strings(obj, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.append(str(k))
            _json_strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _json_strings(v, out)


def _png_text(data: bytes) -> str:
    out = []
    i = 8
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        ctype = data[i + 4 : i + 8]
        chunk = data[i + 8 : i + 8 + length]
        if ctype == b"tEXt":
            out.append(chunk.replace(b"\x00", b": ").decode("latin-1"))
        elif ctype == b"zTXt":
            k, _, rest = chunk.partition(b"\x00")
            with contextlib.suppress(zlib.error):
                out.append(k.decode("latin-1") + ": " + zlib.decompress(rest[1:]).decode("latin-1"))
        elif ctype == b"iTXt":
            out.append(chunk.replace(b"\x00", b" ").decode("utf-8", errors="replace"))
        i += 12 + length
    return "\n".join(out)


def _frame_text(df: pd.DataFrame) -> str:
    parts = [" ".join(map(str, df.columns))]
    for c in df.columns:
        s = df[c]
        if s.dtype == object or str(s.dtype) in ("string", "category"):
            parts.append("\n".join(str(x) for x in s.dropna().unique()))
    return "\n".join(parts)


def texts(name: str, data: bytes, depth: int = 0):
    """(where, text) for everything an attacker can read in one file."""
    low = name.lower()
    if low.endswith((".zip", ".docx", ".xlsx", ".odt")) and depth < 4:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    if not info.is_dir():
                        yield from texts(f"{name}!{info.filename}", z.read(info), depth + 1)
        except zipfile.BadZipFile:
            yield name, data.decode("utf-8", errors="replace")
        return
    if low.endswith(".pdf"):
        yield name, pdf_text(data)
        try:
            from pypdf import PdfReader

            meta = PdfReader(io.BytesIO(data)).metadata or {}
            yield f"{name} (metadata)", "\n".join(f"{k}: {v}" for k, v in meta.items())
        except Exception as e:  # noqa: BLE001 - a PDF pypdf cannot read still had its text read
            yield f"{name} (metadata)", f"unreadable metadata: {e}"
        return
    if low.endswith(".png"):
        yield f"{name} (text chunks)", _png_text(data)
        return
    if low.endswith((".jpg", ".jpeg", ".gif", ".woff", ".woff2", ".ttf", ".otf", ".ico")):
        return
    if low.endswith(".parquet"):
        import pyarrow.parquet as pq

        t = pq.read_table(io.BytesIO(data))
        meta = t.schema.metadata or {}
        yield (
            f"{name} (schema metadata)",
            "\n".join(k.decode("utf-8", "replace") + ": " + v.decode("utf-8", "replace") for k, v in meta.items()),
        )
        yield f"{name} (values)", _frame_text(t.to_pandas())
        return
    if low.endswith((".sav", ".dta")):
        import tempfile

        import pyreadstat

        with tempfile.NamedTemporaryFile(suffix=Path(low).suffix) as tmp:
            tmp.write(data)
            tmp.flush()
            reader = pyreadstat.read_sav if low.endswith(".sav") else pyreadstat.read_dta
            df, meta = reader(tmp.name)
        lab = [
            str(meta.file_label or ""),
            " ".join(map(str, meta.column_labels or [])),
            json.dumps(meta.variable_value_labels, ensure_ascii=False, default=str),
            " ".join(map(str, getattr(meta, "notes", []) or [])),
        ]
        yield f"{name} (labels)", "\n".join(lab)
        yield f"{name} (values)", _frame_text(df)
        return
    text = data.decode("utf-8", errors="replace")
    if low.endswith(".ipynb"):
        try:
            strings: list[str] = []
            _json_strings(json.loads(text), strings)
            text = "\n".join(strings)
        except json.JSONDecodeError:
            pass
    if low.endswith((".html", ".htm", ".svg", ".js", ".json")):
        # decode embedded text payloads; drop binary ones
        def repl(m: re.Match) -> str:
            mime = m.group(1)
            if mime.startswith("text/") or mime in ("application/json", "image/svg+xml", "application/javascript"):
                try:
                    return " " + base64.b64decode(m.group(3)).decode("utf-8", errors="replace") + " "
                except ValueError:
                    return " "
            return " "

        text = DATA_URI_RE.sub(repl, text)
        text = UESC_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
        import html as _html

        text = _html.unescape(text)
    yield name, text


# ------------------------------------------------------------------------ what to look for


@dataclass
class Secrets:
    windows: dict[str, str]  # normalised 20-char window -> the answer it came from (column)
    identifiers: dict[str, str]  # verbatim identifier -> column
    emails: set[str]
    phones: set[str]  # contacts as digits only
    hashes: np.ndarray = None  # hashes of the windows (see _window_hashes)

    def __post_init__(self) -> None:
        if self.hashes is None:
            hs = [_window_hashes(w) for w in self.windows]
            self.hashes = np.unique(np.concatenate(hs)) if hs else np.zeros(0, dtype=np.uint64)


def secrets_from_export(export: Path, codebook: Path | None, public_texts: list[str] = ()) -> Secrets:
    """Free text and identifiers of the raw export (the internal oracle of what must not leak).

    Windows that also occur in the public repository's own text (the questionnaire, the coding
    rules, the report's sources: ``public_texts``) are no respondent's secret and are left out."""
    df = pd.read_csv(export, dtype=str, keep_default_na=False)
    free_cols: list[str] = []
    ident_cols: list[str] = []
    labels: dict[str, set[str]] = {}
    sep = ";"
    if codebook is not None and codebook.is_file():
        cb = yaml.safe_load(codebook.read_text(encoding="utf-8"))
        sep = (cb.get("meta") or {}).get("multi_separator", ";")
        for c in cb.get("columns", []):
            if c.get("role") in ("identifier", "admin") and c.get("type") == "text":
                ident_cols.append(c["column"])
        for q in cb.get("questions", []):
            if q.get("type") == "text":
                free_cols.append(q["column"])
            if q.get("other_column"):
                free_cols.append(q["other_column"])
            labs = set()
            for o in q.get("options", []) or []:
                labs.add(str(o.get("label_ru", "")))
                labs.update(map(str, o.get("aliases", []) or []))
            labels[q["column"]] = labs
    else:
        free_cols = [c for c in df.columns if "Другое" in c or "коммент" in c.lower()]
    windows: dict[str, str] = {}

    def add_text(t: str, col: str) -> None:
        n = norm(t)
        for i in range(0, max(0, len(n) - WINDOW + 1)):
            windows.setdefault(n[i : i + WINDOW], col)

    for c in free_cols + ident_cols:
        if c in df.columns:
            for t in df[c]:
                if len(t) >= WINDOW:
                    add_text(t, c)
    # free text typed into a closed question: a value that is none of its options
    for c, labs in labels.items():
        if c in df.columns and labs:
            for t in df[c]:
                parts = [p.strip() for p in t.split(sep)] if t else []
                if any(p not in labs and not p.isdigit() for p in parts) and len(t) >= WINDOW:
                    add_text(t, c)
    if public_texts:
        pub = "\n".join(norm(t) for t in public_texts)
        windows = {w: c for w, c in windows.items() if w not in pub}
    idents: dict[str, str] = {}
    emails: set[str] = set()
    phones: set[str] = set()
    for c in ident_cols:
        if c in df.columns:
            for t in df[c]:
                t = t.strip()
                if len(t) < 5:
                    continue
                for tok in TOKEN_RE.findall(t):
                    if not re.search(r"[\d@]", tok):
                        continue  # a plain word ("Telegram") is no identifier
                    idents[tok] = c
                    if "@" in tok:
                        emails.add(tok.lower())
                digits = re.sub(r"\D", "", t)
                if len(digits) >= 7 and not re.search(r"[A-Za-z@]", t):
                    phones.add(digits)
    return Secrets(windows, idents, emails, phones)


def scan_text(where: str, text: str, sec: Secrets | None) -> list[Leak]:
    out: list[Leak] = []
    for m in ABS_PATH_RE.finditer(text):
        out.append(Leak("abs_path", where, m.group(0)[:120]))
    if sec is not None and sec.windows:
        n = norm(text)
        hashes = _window_hashes(n)
        cand = np.flatnonzero(np.isin(hashes, sec.hashes)) if len(hashes) else []
        W = sec.windows
        hits, last_end = 0, -1
        for i in cand:
            i = int(i)
            w = n[i : i + WINDOW]
            if w not in W or i < last_end:
                continue
            j = i + WINDOW
            while j < len(n) and n[j + 1 - WINDOW : j + 1] in W:
                j += 1
            last_end = j
            out.append(Leak("free_text", where, f"{n[i:j][:120]!r} (export column {W[w][:60]!r})"))
            hits += 1
            if hits >= 20:
                break
        if sec.identifiers:
            seen = set()
            for tok in TOKEN_RE.findall(text):
                if tok in sec.identifiers and tok not in seen:
                    seen.add(tok)
                    out.append(Leak("identifier", where, f"{tok} (export column {sec.identifiers[tok][:40]!r})"))
            for m in PHONE_RE.finditer(text):
                d = re.sub(r"\D", "", m.group(0))
                if d in sec.phones and d not in seen:
                    seen.add(d)
                    out.append(Leak("identifier", where, f"{m.group(0)} (a contact in the export)"))
    for m in EMAIL_RE.finditer(text):
        e = m.group(0).lower()
        if sec is None or e not in sec.emails:
            out.append(Leak("email_shape", where, m.group(0), "warn"))
    for m in IPV4_RE.finditer(text):
        ip = m.group(0)
        if sec is None or ip not in sec.identifiers:
            out.append(Leak("ip_shape", where, ip, "warn"))
    return out


def scan(root: Path, files: list[str], sec: Secrets | None) -> list[Leak]:
    out: list[Leak] = []
    for rel in files:
        if re.search(r"\.failed\.", rel) or rel.endswith(".failed"):
            out.append(Leak("failed_notebook", rel, "a failed run's artifact in a public folder"))
        p = root / rel
        for where, text in texts(rel, p.read_bytes()):
            if text:
                out.extend(scan_text(where, text, sec))
    return out
