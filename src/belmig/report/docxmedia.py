"""The DOCX's chart images, without pandoc's cost for them.

pandoc's DOCX writer decodes each PNG it embeds (for its size and resolution) and deflates it into
the archive: the 18 chart PNGs (1.4 MB) were ~34 ms of every DOCX conversion (63 against 97 ms for
a page of the 18 charts alone), a text edit's too, and the DOCX was the render's last output to
finish in half of the edits. Here pandoc embeds stand-ins: for each chart a 1-bit PNG of the same
pixel size and resolution (with a text chunk naming the chart, so that no two are alike), in a
folder laid out as the report's (``--resource-path``), so that each image keeps its path in the
document (its ``descr``). pandoc reads nothing of an image but its size and resolution, so it lays
the stand-ins out exactly as the charts; :func:`put_back` then writes the archive again with each
stand-in's entry holding its chart's own bytes, stored (a PNG is compressed already: deflating it
again saved 13 % of its bytes for those 34 ms). Every other entry is pandoc's, as it wrote it.

:func:`stand_ins` declines (None: pandoc embeds the charts itself) a text with an image that is
not one of the charts, or a chart whose PNG it cannot read.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from belmig.core import atomic

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MARK = b"belmig stand-in"  # the stand-ins' tEXt keyword (never left in a written DOCX)


class StandInError(RuntimeError):
    pass


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_geometry(data: bytes) -> tuple[int, int, bytes | None] | None:
    """(width, height, the pHYs chunk's data or None) of a PNG; None when it is not one."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 33:
        return None
    width, height = struct.unpack(">II", data[16:24])
    pos, phys = 8, None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"pHYs":
            phys = data[pos + 8 : pos + 8 + length]
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return width, height, phys


def stand_in(width: int, height: int, phys: bytes | None, name: str) -> bytes:
    """A 1-bit grey PNG of `width` × `height` pixels (all black) with the resolution `phys`,
    named `name` in a text chunk."""
    rows = b"\0" * (height * (1 + (width + 7) // 8))  # each row: filter type 0, then the bits
    return b"".join(
        [
            PNG_SIGNATURE,
            _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)),
            _chunk(b"pHYs", phys) if phys is not None else b"",
            _chunk(b"tEXt", MARK + b"\0" + name.encode("utf-8")),
            _chunk(b"IDAT", zlib.compress(rows, 9)),
            _chunk(b"IEND", b""),
        ]
    )


def stand_ins(
    markdown: str, sources: Iterable[str], report_dir: Path, folder: Path
) -> tuple[Path, dict[bytes, Path]] | None:
    """Write the stand-ins of the charts `sources` (their paths as the text has them, the SVGs the
    filter turns into PNGs for the DOCX) below `folder`; returns the resource path to give pandoc
    and each stand-in's bytes with its chart's PNG. None: the text has another image (or a chart's
    PNG cannot be read), and pandoc embeds the images itself."""
    sources = list(sources)
    if markdown.count("![") != len(sources):
        return None
    resources = folder / "report"
    originals: dict[bytes, Path] = {}
    for src in sources:
        png = src[: -len(".svg")] + ".png" if src.endswith(".svg") else src
        if os.path.isabs(png) or not png.endswith(".png"):
            return None
        real = Path(os.path.normpath(report_dir / png))
        target = Path(os.path.normpath(resources / png))
        if not target.is_relative_to(folder):
            return None
        try:
            geometry = png_geometry(real.read_bytes())
        except OSError:
            return None
        if geometry is None:
            return None
        data = stand_in(*geometry, png)
        originals[data] = real
        target.parent.mkdir(parents=True, exist_ok=True)
        if not (target.is_file() and target.read_bytes() == data):
            atomic.write_bytes(target, data)
    resources.mkdir(parents=True, exist_ok=True)
    return resources, originals


def put_back(docx: Path, originals: Mapping[bytes, Path]) -> int:
    """Rewrite the archive `docx` with each stand-in's entry holding its chart's PNG (stored);
    returns how many entries it replaced. Raises StandInError when a stand-in is left or the
    archive cannot be read."""
    import zipfile  # (the module is imported when the Snakefile parses; zipfile only here)

    try:
        with zipfile.ZipFile(docx) as zin:
            entries = [(info, zin.read(info)) for info in zin.infolist()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise StandInError(f"{docx.name}: {exc}") from None
    tmp = docx.with_name(f".{docx.name}.media")
    replaced = 0
    try:
        with zipfile.ZipFile(tmp, "w") as zout:
            for info, data in entries:
                real = originals.get(data) if info.filename.startswith("word/media/") else None
                out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                out.external_attr = info.external_attr
                out.compress_type = info.compress_type
                if real is not None:
                    data = real.read_bytes()
                    out.compress_type = zipfile.ZIP_STORED
                    replaced += 1
                elif info.filename.startswith("word/media/") and MARK in data:
                    raise StandInError(f"{docx.name}: {info.filename} is a stand-in for no chart")
                zout.writestr(out, data)
        os.replace(tmp, docx)
    finally:
        tmp.unlink(missing_ok=True)
    return replaced
