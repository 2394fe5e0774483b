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

    if not (hasattr(pdf_ps, "get_glyphs_subset") and hasattr(pdf_ps, "font_as_file")):
        pytest.skip("this matplotlib (< 3.9) subsets fonts without the functions cached")

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


def test_reused_figures_draw_the_same_pdfs(study_factory, tmp_path):
    """Subject reports drawn one after another in a process (their pages drawn on the
    previous report's emptied figures) are byte for byte the PDFs drawn on new figures,
    for recordings with different data (different rejections, limits, colour bars)."""
    from emgkit.config import load_config
    from emgkit.pipeline import process_recording
    from emgkit.report import pages
    from emgkit.report.subject import subject_report

    study = study_factory("bdf", 512.0, n_subjects=3, seed=5)
    config = load_config(study / "study.toml")
    recs = sorted(study.glob("sub-*/emg/sub-*_emg.bdf"))
    results = [process_recording(r, config) for r in recs]
    pages._FIGURES.clear()
    for i, (rec, res) in enumerate(zip(recs, results)):
        subject_report(rec, config, tmp_path / f"seq{i}.pdf", result=res,
                       recording_sha256="0" * 64)
    assert any(p["free"] for kept in pages._FIGURES.values() for p in kept)
    for i, (rec, res) in enumerate(zip(recs, results)):
        pages._FIGURES.clear()  # new figures
        subject_report(rec, config, tmp_path / f"new{i}.pdf", result=res,
                       recording_sha256="0" * 64)
        assert (tmp_path / f"seq{i}.pdf").read_bytes() == (tmp_path / f"new{i}.pdf").read_bytes()


def test_figure_reused_only_after_it_was_written(tmp_path):
    """Pages built before any is written (the group report) get a figure each; a written
    one is handed out again, emptied; ``reuse=False`` never keeps one."""
    import numpy as np

    from emgkit.report import pages

    def plot(ax, y):
        for a in np.ravel(ax):
            a.plot(y)
            a.set_yscale("log")
            a.set_title("t", loc="left")
            a.set_ylabel("µV", color="r")
        return ax[0].figure

    pages._FIGURES.clear()
    first = pages.figure_page("A", plot, 1, 2, reuse=True, y=[1, 10, 100])
    second = pages.figure_page("B", plot, 1, 2, reuse=True, y=[1, 2])
    assert first is not second
    with atomic_pdf(tmp_path / "a.pdf") as pdf:
        pdf.savefig(first)
    third = pages.figure_page("C", plot, 1, 2, reuse=True, y=[3, 4])
    assert third is first and len(third.axes) == 2
    for a in third.axes:
        assert len(a.lines) == 1 and a.get_yscale() == "log"
        assert a.get_ylim()[0] < 3 and a.get_ylim()[1] > 4  # autoscaled to the new data
    other = pages.figure_page("D", plot, 1, 2, y=[1, 2])
    with atomic_pdf(tmp_path / "b.pdf") as pdf:
        pdf.savefig(other)
    assert pages.figure_page("E", plot, 1, 2, y=[1, 2]) is not other


def test_text_cache_draws_the_same_bytes(tmp_path, monkeypatch):
    """Text shaped once and served from the process' cache is drawn byte for byte as
    shaped anew; outside emgkit's PDFs (a plain savefig) the cache is not used."""
    from matplotlib import _text_helpers
    from matplotlib.backends import backend_pdf

    def write(path):
        fig = Figure(figsize=(4, 3))
        a = fig.add_subplot()
        a.plot([0, 1, 2], [0, 10, 5])
        a.set_title("µV ± AV To fi")
        a.set_xlabel("time from onset (s)")
        with atomic_pdf(path) as pdf:
            pdf.savefig(fig)
            pdf.savefig(text_page("Title", [("Heading", "AV To µV\n  mono  1.5")]))

    style_module._LAYOUTS.clear()
    style_module._METRICS.clear()
    write(tmp_path / "first.pdf")
    n = len(style_module._LAYOUTS)
    assert n and style_module._METRICS
    write(tmp_path / "cached.pdf")  # every text from the cache
    assert len(style_module._LAYOUTS) == n
    plain = backend_pdf.RendererPdf.__mro__[1]
    assert plain.__module__ == backend_pdf.__name__
    monkeypatch.setattr(backend_pdf, "RendererPdf", plain)
    monkeypatch.setattr(_text_helpers, "layout", _text_helpers.layout.original)
    write(tmp_path / "uncached.pdf")
    first, cached = (tmp_path / "first.pdf").read_bytes(), (tmp_path / "cached.pdf").read_bytes()
    assert first == cached == (tmp_path / "uncached.pdf").read_bytes()
    monkeypatch.undo()
    style_module._LAYOUTS.clear()
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().set_title("outside")
    fig.savefig(tmp_path / "user.pdf")  # the style, but not a report: no caching
    assert not style_module._LAYOUTS


def test_reports_ignore_the_session_style(study_factory, tmp_path):
    """A notebook's matplotlib settings changed between two reports in one process
    (plt.style.use, rcParams) change neither report: pages reused from the first report
    kept its settings, and fresh pages took the session's (stranger audit)."""
    import matplotlib

    from emgkit.config import load_config
    from emgkit.pipeline import process_recording
    from emgkit.report import pages
    from emgkit.report.subject import subject_report

    study = study_factory("bdf", 512.0, n_subjects=1, seed=5)
    config = load_config(study / "study.toml")
    rec = sorted(study.glob("sub-*/emg/sub-*_emg.bdf"))[0]
    res = process_recording(rec, config)
    pages._FIGURES.clear()
    subject_report(rec, config, tmp_path / "a.pdf", result=res, recording_sha256="0" * 64)
    session = {"axes.facecolor": "#dddddd", "axes.grid": True, "xtick.direction": "in",
               "ytick.color": "red", "lines.linewidth": 3.0, "font.size": 14.0}
    with matplotlib.rc_context(session):
        subject_report(rec, config, tmp_path / "b.pdf", result=res,
                       recording_sha256="0" * 64)
        pages._FIGURES.clear()  # new figures made under the session's settings
        subject_report(rec, config, tmp_path / "c.pdf", result=res,
                       recording_sha256="0" * 64)
        assert matplotlib.rcParams["axes.facecolor"] == "#dddddd"  # the session's, kept
    a = (tmp_path / "a.pdf").read_bytes()
    assert a == (tmp_path / "b.pdf").read_bytes() == (tmp_path / "c.pdf").read_bytes()


def test_dollar_signs_in_labels_print_as_written(tmp_path):
    """Group labels such as "$5 fee" and "$10 fee" turned a text page into mathtext
    ("5*fee*(*vs*10 fee)" in italics; stranger audit): report text is never parsed as
    maths."""
    from pypdf import PdfReader

    path = tmp_path / "d.pdf"
    with atomic_pdf(path) as pdf:
        pdf.savefig(text_page("Cost $5 fee vs $10 fee",
                              [("Participants", "4 ($5 fee: 2, $10 fee: 2)")]))
    text = PdfReader(path).pages[0].extract_text()
    assert "Cost $5 fee vs $10 fee" in text and "4 ($5 fee: 2, $10 fee: 2)" in text
