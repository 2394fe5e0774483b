"""How report PDFs are drawn fast without changing what they show: font subsets made once
per process, no garbage collection while a PDF is drawn, figures reused per process."""

import gc

import pytest

from emgkit.report.pages import atomic_pdf, text_page
from emgkit.viz import style as style_module
from emgkit.viz.style import Figure

pypdf = pytest.importorskip("pypdf")


def _fonts(path):
    out = {}
    for page in pypdf.PdfReader(str(path)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            out[str(font["/BaseFont"])] = desc["/FontFile2"].get_object().get_data()
    return out


def test_font_subsets_made_once_per_process(tmp_path, monkeypatch):
    """The second report PDF with the same glyphs embeds the cached subset (fontTools not
    called again): the same font bytes, still TrueType, text still extractable; a text
    with one more letter still gets its own correct subset."""
    from matplotlib.backends import _backend_pdf_ps as pdf_ps

    def write(path, text):
        with atomic_pdf(path) as pdf:
            pdf.savefig(text_page("Title", [("Heading", text)]))

    style_module._SUBSETS.clear()
    write(tmp_path / "a.pdf", "µV ± 0.5 abc")
    n = len(style_module._SUBSETS)
    assert n >= 1
    calls = []
    original = pdf_ps.subset.Subsetter

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(pdf_ps.subset._module, "Subsetter", counting)
    write(tmp_path / "b.pdf", "µV ± 0.5 cab")  # the same glyphs (ASCII is always in)
    assert not calls and len(style_module._SUBSETS) == n
    assert _fonts(tmp_path / "a.pdf") == _fonts(tmp_path / "b.pdf")
    write(tmp_path / "c.pdf", "µV ± 0.5 cab ∞")  # a glyph beyond the common ones
    assert calls and len(style_module._SUBSETS) == n + 1
    text = pypdf.PdfReader(str(tmp_path / "c.pdf")).pages[0].extract_text()
    assert "µV ± 0.5 cab ∞" in text


def test_user_postscript_is_not_served_from_the_cache(tmp_path):
    """PostScript needs the subset as a font object: a figure saved as EPS inside the
    style is subsetted by matplotlib as before."""
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().set_title("µV abc")
    fig.savefig(tmp_path / "x.eps")
    assert b"/FontType 42" in (tmp_path / "x.eps").read_bytes()


def test_gc_paused_while_drawing_and_restored(tmp_path):
    seen = []
    assert gc.isenabled()
    with atomic_pdf(tmp_path / "a.pdf") as pdf:
        seen.append(gc.isenabled())
        pdf.savefig(text_page("x", [(None, "y")]))
    assert seen == [False] and gc.isenabled()
    with pytest.raises(RuntimeError), atomic_pdf(tmp_path / "b.pdf"):
        raise RuntimeError("boom")
    assert gc.isenabled() and not (tmp_path / "b.pdf").exists()
    gc.disable()
    try:  # a caller's disabled collector stays disabled
        with atomic_pdf(tmp_path / "c.pdf") as pdf:
            pdf.savefig(text_page("x", [(None, "y")]))
        assert not gc.isenabled()
    finally:
        gc.enable()
