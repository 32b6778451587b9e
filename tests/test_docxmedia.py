"""belmig.report.docxmedia: pandoc lays out stand-ins of the charts, the DOCX gets the charts.

A speed-up only: the DOCX made with the stand-ins and the charts put back holds, entry for entry,
what pandoc writes when it embeds the charts itself.
"""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from belmig.core import paths
from belmig.report import docxmedia, render

LUA = paths.REPORT / "filters" / "crossref.lua"


def _chart(path: Path, size: tuple[int, int], colour: str, dpi: int = 200) -> None:
    img = Image.new("RGBA", size, colour)
    img.putpixel((1, 1), (0, 0, 0, 255))
    img.save(path, dpi=(dpi, dpi))


def test_a_stand_in_has_its_chart_s_size_and_resolution_and_decodes():
    buf = io.BytesIO()
    Image.new("RGBA", (1259, 337), "white").save(buf, format="PNG", dpi=(200, 200))
    width, height, phys = docxmedia.png_geometry(buf.getvalue())
    assert (width, height) == (1259, 337)
    data = docxmedia.stand_in(width, height, phys, "../figures/chart01.png")
    assert docxmedia.png_geometry(data) == (1259, 337, phys)
    img = Image.open(io.BytesIO(data))
    img.load()  # a valid PNG, not only its header
    assert img.size == (1259, 337) and img.mode == "1" and round(img.info["dpi"][0]) == 200
    assert docxmedia.MARK in data and docxmedia.stand_in(width, height, phys, "../figures/chart02.png") != data
    assert docxmedia.png_geometry(b"GIF89a....") is None


def _document(tmp_path: Path) -> tuple[Path, str, list[str]]:
    report, figures = tmp_path / "report", tmp_path / "figures"
    report.mkdir()
    figures.mkdir()
    for n, (size, colour) in enumerate((((900, 300), "red"), ((640, 480), "blue")), start=1):
        _chart(figures / f"chart{n:02d}.png", size, colour)
        (figures / f"chart{n:02d}.svg").write_text("<svg/>")
    md = "".join(
        f'![Chart {n}](../figures/chart{n:02d}.svg){{#fig-chart{n:02d} fig-alt="values {n}"}}\n\nSee @fig-chart{n:02d}.\n\n'
        for n in (1, 2)
    )
    return report, md, [m.group("src") for m in render.FIG_RE.finditer(md)]


def _docx(md: str, resources: Path, out: Path) -> Path:
    subprocess.run(
        [render.pandoc_binary(), "--from=markdown", "--to=docx", f"--lua-filter={LUA}",
         f"--resource-path={resources}", f"--output={out}"],
        input=md, text=True, check=True, env={"SOURCE_DATE_EPOCH": "1667433600", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return out


def _entries(docx: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(docx) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_the_docx_with_stand_ins_put_back_holds_what_pandoc_embeds_itself(tmp_path):
    report, md, sources = _document(tmp_path)
    assert len(sources) == 2
    own = _entries(_docx(md, report, tmp_path / "own.docx"))
    resources, originals = docxmedia.stand_ins(md, sources, report, tmp_path / "stand-ins")
    assert resources == tmp_path / "stand-ins" / "report"
    assert (tmp_path / "stand-ins" / "figures" / "chart01.png").is_file()  # the report's layout
    ours = _docx(md, resources, tmp_path / "ours.docx")
    assert docxmedia.put_back(ours, originals) == 2
    assert _entries(ours) == own  # the same entries, names and order: the layout, the charts
    media = [n for n in own if n.startswith("word/media/")]
    assert sorted(_entries(ours)[n] for n in media) == sorted(
        (tmp_path / "figures" / f"chart{n:02d}.png").read_bytes() for n in (1, 2)
    )
    with zipfile.ZipFile(ours) as z:
        assert z.testzip() is None
        assert {i.compress_type for i in z.infolist() if i.filename in media} == {zipfile.ZIP_STORED}


def test_stand_ins_decline_a_text_with_another_image_or_an_unreadable_chart(tmp_path):
    report, md, sources = _document(tmp_path)
    assert docxmedia.stand_ins(md + "![A logo](logo.png)\n", sources, report, tmp_path / "s") is None
    (tmp_path / "figures" / "chart02.png").write_bytes(b"not a png")
    assert docxmedia.stand_ins(md, sources, report, tmp_path / "s") is None
    (tmp_path / "figures" / "chart02.png").unlink()
    assert docxmedia.stand_ins(md, sources, report, tmp_path / "s") is None


def test_a_stand_in_left_in_the_docx_is_an_error(tmp_path):
    report, md, sources = _document(tmp_path)
    resources, originals = docxmedia.stand_ins(md, sources, report, tmp_path / "stand-ins")
    ours = _docx(md, resources, tmp_path / "ours.docx")
    one = dict(list(originals.items())[:1])  # the other chart's stand-in has no chart to go back
    with pytest.raises(docxmedia.StandInError, match="is a stand-in for no chart"):
        docxmedia.put_back(ours, one)
    assert any(docxmedia.MARK in v for v in _entries(ours).values())  # pandoc's archive, as it was
    (tmp_path / "broken.docx").write_bytes(b"PK not a zip")
    with pytest.raises(docxmedia.StandInError):
        docxmedia.put_back(tmp_path / "broken.docx", originals)
