"""Figures a journal accepts: every PDF emgkit writes embeds TrueType fonts (no Type 3) and
draws nothing outside its pages; numbers shown together share their digits; one outlier
cannot squash an axis; every figure and PDF goes through the one style module."""

import ast
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from emgkit._numbers import decimals_for, fmt_num, fmt_nums, fmt_p, format_column
from emgkit.cli import main
from emgkit.viz.style import RC, Figure, mark_outliers, robust_limits, style

pypdf = pytest.importorskip("pypdf")
PKG = Path(__file__).resolve().parents[2] / "emgkit"


def pdf_fonts(path):
    """(name, subtype, embedded) of every font on every page of a PDF, form XObjects
    included."""
    out = []

    def walk(resources, seen):
        if resources is None or id(resources) in seen:
            return
        seen.add(id(resources))
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            desc = font.get("/FontDescriptor")
            if font.get("/Subtype") == "/Type0":  # CID font: the descendant embeds
                desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            embedded = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            out.append((str(font.get("/BaseFont")), str(font.get("/Subtype")), embedded))
        for xobj in (resources.get("/XObject") or {}).values():
            xobj = xobj.get_object()
            if xobj.get("/Subtype") == "/Form":
                walk(xobj.get("/Resources"), seen)

    for page in pypdf.PdfReader(str(path)).pages:
        walk(page.get("/Resources"), set())
    return out


#: every module that writes a PDF (calls ``atomic_pdf``) and the kinds of PDF the fixture
#: below makes through it: a new PDF writer fails
#: :func:`test_every_pdf_writer_is_exercised` until it is added here and to the fixture
WRITERS = {"report/subject.py": {"subject", "report_recording"},
           "report/group.py": {"group"},
           "commands.py": {"timecourse"},
           "power/report.py": {"power"},
           "multiverse/report.py": {"specification_curve"}}
KINDS = sorted(set().union(*WRITERS.values()))


@pytest.fixture(scope="module")
def written(study_factory, tmp_path_factory):
    """Every kind of PDF emgkit writes, from one small simulated study (a trait page in
    the group report, a multiverse of two specifications), with the drawn extent of every
    page (matplotlib's tight bbox, inches) against its size, measured in the one class
    that saves every page (``report.pages._Pages``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from emgkit.report import pages as pages_module

    root = tmp_path_factory.mktemp("figs")
    study = root / "study"
    shutil.copytree(study_factory("bdf", 512.0, n_subjects=4, seed=5), study)
    toml = study / "study.toml"
    toml.write_text(toml.read_text() + '\n[report]\ntraits = ["trait"]\n')
    extents = []
    original = pages_module._Pages.savefig

    def recording(self, figure=None, **kwargs):
        original(self, figure, **kwargs)
        bbox = figure.get_tightbbox(FigureCanvasAgg(figure).get_renderer())
        w, h = figure.get_size_inches()
        title = figure.texts[0].get_text() if figure.texts else (
            figure._suptitle.get_text() if figure._suptitle else "?")
        extents.append((Path(self._file.fh.name).name, title, bbox, (w, h)))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pages_module._Pages, "savefig", recording)
        res = root / "res"
        assert main(["run", str(toml), "--out", str(res)]) == 0
        assert main(["report", str(study / "sub-02" / "emg" / "sub-02_task-mimicry_emg.bdf"),
                     "--config", str(toml), "--out", str(root / "sub-02_report.pdf")]) == 0
        assert main(["timecourse", str(res), "--at", "condition=happy", "--permutations",
                     "20", "--out", str(root / "tc")]) == 0
        assert main(["power", "--pilot", str(res / "group" / "trials.tsv"),
                     "--participants", str(study / "participants.tsv"), "--at",
                     "condition=happy", "--n-per-group", "4", "--trials-per-cell", "2",
                     "--simulations", "10", "--out", str(root / "pw")]) == 0
        toml.write_text(toml.read_text() + '\n[multiverse]\nsmooth = [0.025, 0.05]\n')
        assert main(["multiverse", str(toml), "--out", str(root / "mv")]) == 0
    pdfs = {"subject": res / "sub-01" / "report.pdf", "group": res / "group" / "group.pdf",
            "report_recording": root / "sub-02_report.pdf",
            "timecourse": root / "tc" / "timecourse.pdf", "power": root / "pw" / "power.pdf",
            "specification_curve": root / "mv" / "specification_curve.pdf"}
    found = set(root.rglob("*.pdf"))  # every PDF the commands wrote, each participant's too
    assert set(pdfs.values()) <= found
    return pdfs, extents, sorted(found)


def test_every_pdf_writer_is_exercised():
    """The modules that write PDFs are exactly those the fixture runs."""
    callers = set()
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "atomic_pdf":
                callers.add(rel)
    assert callers == set(WRITERS), callers


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("kind", KINDS)
def test_every_pdf_embeds_truetype_fonts(written, kind):
    pdfs, _, _ = written
    fonts = pdf_fonts(pdfs[kind])
    assert fonts, f"{kind}: no fonts found"
    type3 = [f for f in fonts if f[1] == "/Type3"]
    assert not type3, f"{kind}.pdf uses Type 3 fonts: {type3}"
    assert all(embedded for _, _, embedded in fonts), fonts
    assert {sub for _, sub, _ in fonts} <= {"/Type0", "/TrueType"}


def test_no_written_pdf_has_type3_fonts(written):
    """Every PDF under the fixture's folders (all participants' reports included)."""
    _, _, found = written
    bad = {p.name: f for p in found for f in pdf_fonts(p) if f[1] == "/Type3" or not f[2]}
    assert not bad, bad


def test_nothing_drawn_outside_the_page(written):
    _, extents, found = written
    n_pages = sum(len(pypdf.PdfReader(str(p)).pages) for p in found)
    assert len(extents) == n_pages  # every page of every PDF was measured
    tol = 0.02  # inches
    outside = [(name, title[:60], (round(b.x0, 2), round(b.y0, 2), round(b.x1, 2),
                                   round(b.y1, 2)), size)
               for name, title, b, size in extents
               if b.x0 < -tol or b.y0 < -tol or b.x1 > size[0] + tol or b.y1 > size[1] + tol]
    assert not outside, outside


def test_subject_report_is_one_orientation_with_columns_explained(written):
    pdfs, _, _ = written
    reader = pypdf.PdfReader(str(pdfs["subject"]))
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height)))
             for p in reader.pages}
    assert sizes == {(842, 595)}  # A4 landscape, every page
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    for needle in ("activity-to-floor ratio, dB", "share of the in-band raw power",
                   "Counts per condition × muscle", "Rejected trials"):
        assert needle in text, needle
    group = pypdf.PdfReader(str(pdfs["group"]))
    assert {round(float(p.mediabox.width)) for p in group.pages} == {842}


def test_user_saved_figure_embeds_truetype(tmp_path):
    """A figure a user saves with fig.savefig goes through the style too."""
    fig = Figure(figsize=(3.5, 2.5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title("µV, Δ, ±")
    fig.savefig(tmp_path / "f.pdf")
    fonts = pdf_fonts(tmp_path / "f.pdf")
    assert fonts and all(sub != "/Type3" and emb for _, sub, emb in fonts)
    with style():
        import matplotlib

        assert matplotlib.rcParams["pdf.fonttype"] == 42 == RC["ps.fonttype"]


def embedded_font_tables(path):
    """The sfnt table tags of every TrueType font file embedded in a PDF."""
    import io

    from fontTools.ttLib import TTFont

    out = []
    for page in pypdf.PdfReader(str(path)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            if font.get("/Subtype") != "/Type0":
                continue
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            data = desc["/FontFile2"].get_object().get_data()
            out.append(set(TTFont(io.BytesIO(data)).keys()))
    return out


def test_embedded_fonts_leave_out_layout_tables(tmp_path):
    """Inside the style the embedded subsets carry no OpenType layout tables (a PDF names
    its glyphs; subsetting GSUB/GPOS was most of embedding's time), still Type 42 and
    drawn the same; a plain matplotlib figure outside the style is subsetted as before."""
    from matplotlib.figure import Figure as MplFigure

    from emgkit.viz.style import LAYOUT_TABLES

    def draw(fig):
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1])
        ax.set_title("fi ffl AV To µV ±")  # ligature and kerning candidates
        return fig

    draw(Figure(figsize=(3.5, 2.5))).savefig(tmp_path / "lean.pdf")
    tables = embedded_font_tables(tmp_path / "lean.pdf")
    assert tables and all(not (t & set(LAYOUT_TABLES)) for t in tables)
    assert {"glyf", "loca", "cmap", "hmtx"} <= set.intersection(*tables)
    assert pdf_fonts(tmp_path / "lean.pdf")[0][1] == "/Type0"
    # outside emgkit's style: matplotlib's own subsetting, layout tables kept
    with __import__("matplotlib").rc_context({"pdf.fonttype": 42}):
        draw(MplFigure(figsize=(3.5, 2.5))).savefig(tmp_path / "plain.pdf")
    assert any(t & {"GSUB", "GPOS"} for t in embedded_font_tables(tmp_path / "plain.pdf"))


def test_figures_and_pdfs_go_through_the_style_module():
    """No module but the style builds a bare matplotlib Figure, and none but the pages
    module opens a PdfPages."""
    allowed = {"Figure": {"viz/style.py"}, "PdfPages": {"report/pages.py"}}
    found = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("matplotlib"):
                for alias in node.names:
                    if alias.name in allowed and rel not in allowed[alias.name]:
                        found.append((rel, node.module, alias.name))
    assert not found, found


# -- numbers ---------------------------------------------------------------------------

def test_numbers_shown_together_share_their_decimals():
    assert fmt_nums([0.5, 1.24, 2.7]) == ["0.50", "1.24", "2.70"]
    assert fmt_nums([0.109, -0.143, 0.362]) == ["0.109", "-0.143", "0.362"]
    assert fmt_nums([12.345, 10.1, 15.0]) == ["12.3", "10.1", "15.0"]
    assert decimals_for([]) == 2
    # the smallest keeps two significant digits next to large neighbours
    assert format_column("den_df", [3.95, 129.0, 128.98]) == ["4.0", "129.0", "129.0"]


def test_fmt_num_edge_cases():
    assert fmt_num(float("nan")) == "–" and fmt_num(None) == "–"
    assert fmt_num(12) == "12" and fmt_num(np.int64(3)) == "3"
    assert fmt_num(1.5e-7) == "1.50e-07" and fmt_num(2.5e6) == "2.50e+06"
    assert fmt_num(-0.0004, decimals=2) == "0.00"  # no "-0.00"
    assert fmt_num(math.inf) == "∞"


def test_p_values_in_apa_style():
    assert fmt_p(0.0) == "< .001" and fmt_p(2.96e-41) == "< .001"
    assert fmt_p(0.0423) == ".042" and fmt_p(1.0) == "1.000"
    assert fmt_p(0.05, prefix=True) == "p = .050" and fmt_p(1e-5, prefix=True) == "p < .001"
    assert format_column("p_adj", [0.0, 0.5]) == ["< .001", ".500"]


def test_table_columns():
    assert format_column("trials", [24.0, 23.0]) == ["24", "23"]  # whole numbers
    assert format_column("muscle", ["a", "b"]) == ["a", "b"]
    wide = format_column("F", [0.012, 900.0])  # four orders apart: per value
    assert wide == ["0.0120", "900"]


def test_group_summary_sentences_share_decimals(written):
    """Each model sentence prints b and its CI with one number of decimals, p in APA."""
    import re

    pdfs, _, _ = written
    text = " ".join(p.read_text() for p in pdfs["group"].parent.glob("*/summary.txt"))
    found = re.findall(r"b = (-?[\d.]+), 95 % CI \[(-?[\d.]+), (-?[\d.]+)\]", text)
    assert found
    for numbers in found:
        assert len({len(x.split(".")[1]) if "." in x else 0 for x in numbers}) == 1, numbers
    assert not re.search(r"p = 0\.", text)


# -- robust limits -----------------------------------------------------------------------

def test_robust_limits_ignore_one_outlier():
    rng = np.random.default_rng(0)
    v = np.append(rng.normal(1.0, 0.1, 40), 4.5)
    lo, hi = robust_limits(v)
    assert hi < 2.0 and lo < v[:-1].min() and hi > v[:-1].max()
    clean = robust_limits(v[:-1])  # without outliers: the data's range plus padding
    span = np.ptp(v[:-1])
    assert clean == pytest.approx((v[:-1].min() - 0.05 * span, v[:-1].max() + 0.05 * span))


def test_robust_limits_keep_a_shifted_group():
    """A condition that differs as a whole is not an outlier; one trial within it is."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 0.1, 30), rng.normal(2.5, 0.1, 6)
    v = np.concatenate([a, b, [9.0]])
    g = ["a"] * 30 + ["b"] * 6 + ["a"]
    lo, hi = robust_limits(v, g)
    assert hi > b.max() and hi < 9.0 and lo < a.min()
    assert robust_limits([np.nan, np.nan]) == (0.0, 1.0)
    assert robust_limits([2.0, 2.0, 2.0]) == pytest.approx((1.99, 2.01))


def test_mark_outliers_draws_at_the_edge():
    fig = Figure()
    ax = fig.add_subplot()
    n = mark_outliers(ax, [0, 1, 2], [0.5, 5.0, -3.0], (0.0, 1.0))
    assert n == 2
    offsets = np.vstack([c.get_offsets() for c in ax.collections])
    assert sorted(offsets[:, 1]) == [0.0, 1.0]


def test_robust_limits_take_in_a_value_just_beyond():
    """A value just past the robust range widens the axis (no edge marker for 2.19 on an
    axis ending at 2.17); only a far one is marked."""
    v = np.append(np.linspace(0.8, 1.2, 30), 1.7)  # robust range: up to 1.59
    lo, hi = robust_limits(v)
    assert hi > 1.7 and lo < 0.8
    assert robust_limits(v, k=2.0)[1] < 1.7  # twice the robust span away: marked
    far = np.append(v[:-1], 9.0)
    assert robust_limits(far)[1] < 2.0


def test_table_estimates_share_decimals_with_their_ci():
    """An estimate, its SE and CI limits print with one number of decimals ("0.443", not
    "0.4432" beside "0.936"); SNR columns of several muscles too; p stays APA."""
    import pandas as pd

    from emgkit.report.pages import table_cells

    df = pd.DataFrame({"term": ["a", "b"], "estimate": [0.689, -0.392], "se": [0.122, 0.132],
                       "p": [0.0, 0.2], "ci_low": [0.4432, -0.6568],
                       "ci_high": [0.936, -0.128], "snr_db_corrugator": [6.52, 7.97],
                       "snr_db_zygomaticus": [8.7, 14.8], "trials": [48.0, 46.0]})
    cells = table_cells(df)
    assert cells[0] == ["a", "0.689", "0.122", "< .001", "0.443", "0.936", "6.52", "8.70",
                        "48"]
    assert cells[1][4:8] == ["-0.657", "-0.128", "7.97", "14.80"]
    # whole-number families stay whole, and values orders of magnitude apart keep their own
    ints = table_cells(pd.DataFrame({"ci_low": [1.0, 2.0], "ci_high": [3.0, 4.0]}))
    assert ints == [["1", "3"], ["2", "4"]]


def _images(page):
    xobjs = (page.get("/Resources") or {}).get_object().get("/XObject") or {}
    return [k for k, v in xobjs.items() if v.get_object().get("/Subtype") == "/Image"]


def test_group_report_is_vector_with_diagnostics_as_titled(written):
    """Every group page is vector (the model diagnostics too, no embedded PNG) and the
    diagnostics page has the random-effects panel its title promises, in the config's
    muscle order; the trait page is there."""
    pdfs, _, _ = written
    reader = pypdf.PdfReader(str(pdfs["group"]))
    assert not [i for i, p in enumerate(reader.pages) if _images(p)]
    texts = [" ".join(p.extract_text().split()) for p in reader.pages]
    diag = [t for t in texts if "Model diagnostics (" in t]
    assert [re.search(r"Model diagnostics \((\S+)\)", t).group(1) for t in diag] == [
        "muscle-corrugator", "muscle-zygomaticus", "muscle-depressor"]
    for t in diag:
        for needle in ("Residuals vs fitted", "Normal Q-Q of residuals",
                       "Normal Q-Q of random intercepts", "residual (ratio)",
                       "random intercept (ratio)", "fitted score (ratio)"):
            assert needle in t, needle
    assert any("Mean response against trait" in t for t in texts)


def test_specification_curve_table_pages_and_p_values(written):
    """The summary table fits its page with the condition column (no column groups),
    explains its short headers, and prints shares as percentages."""
    pdfs, _, _ = written
    texts = [" ".join(p.extract_text().split())
             for p in pypdf.PdfReader(str(pdfs["specification_curve"])).pages]
    tables = [t for t in texts if t.startswith("How each contrast holds")
              or "How each contrast holds" in t]
    assert tables and all("condition" in t and "sig_same_sign" in t for t in tables)
    assert not any("columns 1/" in t for t in tables)
    assert "primary_est" in tables[0] and "%" in tables[0]


def test_trial_images_embedded_at_their_own_resolution(written):
    """The single-trial images are embedded as their data (≤ 500 block-mean columns, one
    row per trial), not resampled to 300 dpi in the PDF (a third of the page's bytes and
    of its drawing time)."""
    pdfs, _, _ = written
    reader = pypdf.PdfReader(str(pdfs["subject"]))
    sizes = []
    for page in reader.pages:
        xobjs = (page.get("/Resources") or {}).get_object().get("/XObject") or {}
        for name in _images(page):
            img = xobjs[name].get_object()
            sizes.append((int(img["/Width"]), int(img["/Height"])))
    trials = __import__("pandas").read_csv(pdfs["subject"].parent / "trials.tsv", sep="\t")
    data = [s for s in sizes if s[1] == trials["trial"].nunique()]  # the colour bars: 1 wide
    assert data and all(w <= 500 for w, _ in data), sizes
