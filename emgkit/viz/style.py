"""The one figure style of emgkit: fonts a journal accepts (embedded TrueType, never Type 3),
column widths, line widths, a colour-blind-safe palette, condition colours that stay the same
on every page, axis labels per baseline mode, robust axis limits, and the axes helper.

Every plot is built on :class:`Figure` (a :class:`matplotlib.figure.Figure`), never on
pyplot's global state, so batch code leaks no figures; the subclass adds ``_repr_png_`` so a
returned figure shows as an image in a notebook, and saves itself inside :func:`style` so a
PDF a user writes with ``fig.savefig("x.pdf")`` embeds its fonts like emgkit's reports do
(:func:`emgkit.report.pages.atomic_pdf` draws and writes every page inside :func:`style`).
"""

from __future__ import annotations

import contextvars
import io
from contextlib import contextmanager

import matplotlib
import numpy as np
from matplotlib.figure import Figure as _MplFigure

from ..errors import ConfigError

#: figure widths (inches) of common journals: single column (Elsevier 90 mm, Nature 89 mm,
#: APA/Psychophysiology 3.5 in), one and a half, and double column (Elsevier 190 mm,
#: Nature 183 mm)
WIDTHS = {"single": 3.5, "onehalf": 5.5, "double": 7.2}

#: Okabe & Ito (2008) colour-blind-safe palette (black left out: it is the reference colour)
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442",
           "#999999"]
#: emotions keep their colour on every page (happy and angry far apart: green and vermillion)
_FIXED = {"happy": "#009E73", "angry": "#D55E00", "sad": "#0072B2", "neutral": "#999999",
          "fear": "#CC79A7", "disgust": "#E69F00", "surprise": "#56B4E9"}

#: the rcParams of every emgkit figure. ``pdf.fonttype``/``ps.fonttype`` 42 embed the
#: (subsetted) DejaVu TrueType fonts instead of Type 3 bitmaps-as-procedures, which journals
#: reject; ``svg.fonttype = "none"`` keeps SVG text editable.
RC = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    # zlib level 4: the content streams 4 % larger than at 6, compressed in a third of
    # the time (a twentieth of a subject report's drawing)
    "pdf.compression": 4,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.monospace": ["DejaVu Sans Mono"],
    "mathtext.fontset": "dejavusans",
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.2,
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "savefig.dpi": 300,  # rasterised parts (trial images) at print resolution
}


#: the weight of titles and headings: the regular face, set larger. Every face used in a
#: PDF is subsetted and embedded (fontTools, a few tenths of a second each on this machine),
#: so report pages use two faces (DejaVu Sans and DejaVu Sans Mono), not four.
HEADING = {"weight": "normal"}


#: OpenType layout tables (ligatures, kerning pairs, positioning) left out of the font
#: subsets emgkit's PDFs embed: a PDF names every glyph it draws, so a viewer never uses them,
#: while subsetting them (fontTools decompiles DejaVu's large GSUB/GPOS) is most of the time
#: of embedding a face — about a tenth of a subject report's drawing
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH")
_LEAN_FONTS = contextvars.ContextVar("emgkit_lean_fonts", default=False)
_CACHE_FONTS = contextvars.ContextVar("emgkit_cache_fonts", default=False)


class _LeanSubset:
    """``fontTools.subset`` as matplotlib's PDF/PS font subsetting sees it: inside
    :func:`style` its ``Options`` also drop :data:`LAYOUT_TABLES`; elsewhere (a user's own
    matplotlib figures) it is ``fontTools.subset`` unchanged."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def Options(self, *args, **kwargs):
        options = self._module.Options(*args, **kwargs)
        if _LEAN_FONTS.get():
            options.drop_tables += [t for t in LAYOUT_TABLES if t not in options.drop_tables]
        return options


#: font subsets embedded in PDFs written inside ``style(cache_fonts=True)`` (emgkit's
#: reports, :func:`emgkit.report.pages.atomic_pdf`) in this process: (font file, face,
#: glyphs) -> (the subset font's bytes, original -> subset glyph indices). Every report of
#: a run embeds nearly the same glyphs, so a worker subsets each face once instead of once
#: per PDF (fontTools: about a tenth of a second per face)
_SUBSETS = {}
_SUBSETS_MAX = 64
#: glyphs every cached subset also carries (printable ASCII, and the
#: signs emgkit's pages print), so that reports whose texts differ by a letter or a digit
#: embed the same subset and share its cache entry (a few kB per face)
_COMMON_TEXT = "".join(map(chr, range(32, 127))) + "−±×µ²·–—…▲▼◀≥≤"


class _SubsetBytes:
    """A cached subset as ``font_as_file`` returns it (the font's bytes)."""

    def __init__(self, data):
        self.data = data


class _CachedSubset:
    """What ``get_glyphs_subset`` yields: ``font`` and ``glyph_index_map``."""

    def __init__(self, data, glyph_index_map):
        self.font = _SubsetBytes(data)
        self.glyph_index_map = glyph_index_map


def _common_glyphs(fontfile):
    """Glyph indices of :data:`_COMMON_TEXT` in ``fontfile`` (those it has)."""
    from matplotlib.font_manager import get_font

    font = get_font(fontfile)
    return {g for g in (font.get_char_index(ord(c)) for c in _COMMON_TEXT) if g}


def _install_subset_cache(pdf_ps):
    """Route ``get_glyphs_subset``/``font_as_file`` through :data:`_SUBSETS` inside
    ``style(cache_fonts=True)`` (once; elsewhere, e.g. PostScript, which needs the subset
    as a font object, matplotlib's own functions unchanged)."""
    original_subset, original_as_file = pdf_ps.get_glyphs_subset, pdf_ps.font_as_file
    if getattr(original_subset, "_emgkit", False):
        return

    @contextmanager
    def get_glyphs_subset(fontfile, glyphs):
        if not (_LEAN_FONTS.get() and _CACHE_FONTS.get()):
            with original_subset(fontfile, glyphs) as subset:
                yield subset
            return
        glyphs = set(glyphs) | _common_glyphs(fontfile)
        key = (str(getattr(fontfile, "path", fontfile)), getattr(fontfile, "face_index", 0),
               frozenset(glyphs))
        if key not in _SUBSETS:
            with original_subset(fontfile, glyphs) as subset:
                data = original_as_file(subset.font).getvalue()
                if len(_SUBSETS) >= _SUBSETS_MAX:
                    _SUBSETS.pop(next(iter(_SUBSETS)))
                _SUBSETS[key] = (data, dict(subset.glyph_index_map))
        data, index_map = _SUBSETS[key]
        yield _CachedSubset(data, dict(index_map))

    def font_as_file(font):
        if isinstance(font, _SubsetBytes):
            return io.BytesIO(font.data)
        return original_as_file(font)

    get_glyphs_subset._emgkit = True
    pdf_ps.get_glyphs_subset, pdf_ps.font_as_file = get_glyphs_subset, font_as_file


#: text laid out and measured in PDFs written inside ``style(cache_fonts=True)`` in this
#: process, per (text, font files, size, ...): the same tick labels, titles, axis labels
#: and methods paragraphs recur on every page and in every report, and shaping them again
#: (FreeType and libraqm, for the measuring and again for the drawing) was a fifth of a
#: subject report's drawing
_LAYOUTS = {}
_METRICS = {}
_TEXT_MAX = 5000  # a subject report shapes ~250 distinct texts, a group report ~400
#: the size (pt) of the text the cached PDF renderer is drawing (read by the layout cache)
_DRAWING = contextvars.ContextVar("emgkit_drawing_text", default=None)


def _hashable(value):
    """``value`` as part of a cache key (lists of OpenType features become tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def _remember(cache, key, value):
    if len(cache) >= _TEXT_MAX:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


def _install_text_cache():
    """Serve matplotlib's PDF renderer's text shaping from :data:`_LAYOUTS` and
    :data:`_METRICS` inside ``style(cache_fonts=True)`` (once). Outside it, and for any
    other caller of ``matplotlib._text_helpers.layout`` (PostScript, text paths), nothing
    changes."""
    from matplotlib import _text_helpers
    from matplotlib.backends import backend_pdf

    if getattr(backend_pdf.RendererPdf, "_emgkit", False) \
            or not hasattr(_text_helpers, "layout"):
        return
    original_layout = _text_helpers.layout

    def layout(string, font, **options):
        # options: this matplotlib's (``features``/``language`` since 3.10, ``kern_mode``
        # before), passed on as given and part of the key
        size = _DRAWING.get()
        if size is None:  # not drawn by the PDF renderer below
            return original_layout(string, font, **options)
        key = (string, font.fname, getattr(font, "face_index", 0), size,
               tuple(sorted((k, _hashable(v)) for k, v in options.items())))
        items = _LAYOUTS.get(key)
        if items is None:  # the PDF renderer reads the items only, not the loaded glyph
            items = _remember(_LAYOUTS, key, list(original_layout(string, font, **options)))
        return iter(items)

    class RendererPdf(backend_pdf.RendererPdf):
        _emgkit = True

        def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
            if not _CACHE_FONTS.get() or ismath:
                return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            token = _DRAWING.set(prop.get_size_in_points())
            try:
                return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
            finally:
                _DRAWING.reset(token)

        def get_text_width_height_descent(self, s, prop, ismath):
            if not _CACHE_FONTS.get() or ismath \
                    or matplotlib.rcParams["pdf.use14corefonts"]:
                return super().get_text_width_height_descent(s, prop, ismath)
            from matplotlib import font_manager

            files = tuple(font_manager.fontManager._find_fonts_by_props(prop))
            key = (s, tuple(str(f) for f in files), prop.get_size_in_points())
            found = _METRICS.get(key)
            if found is None:
                found = _remember(_METRICS, key, super().get_text_width_height_descent(
                    s, prop, ismath))
            return found

    layout.original = original_layout
    _text_helpers.layout = layout
    backend_pdf.RendererPdf = RendererPdf


def _install_lean_subset():
    """Route matplotlib's font subsetting through :class:`_LeanSubset` and the subset
    cache (once; a no-op when this matplotlib subsets fonts some other way)."""
    try:
        from matplotlib.backends import _backend_pdf_ps as pdf_ps
    except ImportError:  # pragma: no cover - matplotlib without the module
        return
    module = getattr(pdf_ps, "subset", None)
    if module is not None and not isinstance(module, _LeanSubset) \
            and hasattr(module, "Options"):
        pdf_ps.subset = _LeanSubset(module)
    if hasattr(pdf_ps, "get_glyphs_subset") and hasattr(pdf_ps, "font_as_file"):
        _install_subset_cache(pdf_ps)
    _install_text_cache()


@contextmanager
def style(*, cache_fonts=False, from_defaults=False):
    """Apply :data:`RC` while figures are drawn and written (restored afterwards); the
    fonts embedded meanwhile leave out :data:`LAYOUT_TABLES`. ``cache_fonts``: PDFs
    written meanwhile reuse this process' font subsets (:data:`_SUBSETS`; for emgkit's
    reports, which are PDFs only). ``from_defaults``: start from matplotlib's defaults, not
    this session's settings (reports: the same PDF whatever style a notebook set, and
    figures reused between reports never keep an earlier report's settings)."""
    _install_lean_subset()
    token = _LEAN_FONTS.set(True)
    cache = _CACHE_FONTS.set(True) if cache_fonts else None
    try:
        with matplotlib.rc_context():
            if from_defaults:
                matplotlib.rcdefaults()  # backend and interactive mode are kept
            matplotlib.rcParams.update(RC)
            yield
    finally:
        if cache is not None:
            _CACHE_FONTS.reset(cache)
        _LEAN_FONTS.reset(token)


class Figure(_MplFigure):
    """A :class:`matplotlib.figure.Figure` in emgkit's style that Jupyter shows as a PNG."""

    def savefig(self, *args, **kwargs):
        with style():
            return super().savefig(*args, **kwargs)

    def _repr_png_(self):
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


def new_figure(figsize, **kwargs):
    """A :class:`Figure` created inside :func:`style`: its figure-level settings (face
    colour, dpi, layout engine) are the style's. Axes added later read the rcParams in force
    when they are added, so plot colours are passed explicitly (:data:`PALETTE`)."""
    with style():
        return Figure(figsize=figsize, **kwargs)


def robust_limits(values, groups=None, *, k=4.0, pad=0.05):
    """Axis limits that one outlier cannot squash: the median ± ``k`` robust SDs (1.4826 ×
    MAD), shrunk to the data where the data lie inside.

    Parameters
    ----------
    values : array-like
        Values on the axis (NaNs ignored), in the axis' unit.
    groups : array-like | None
        A label per value (e.g. the condition): limits are computed per group and united,
        so a group that differs from the others as a whole is never cut off, only a value
        far from its own group's median.
    k : float
        Robust SDs from the (group) median beyond which a value counts as an outlier.
    pad : float
        Margin added on both sides, as a fraction of the span.

    Returns
    -------
    (lo, hi) : tuple of float
        The limits; values outside them are outliers (see :func:`mark_outliers`).
    """
    v = np.asarray(values, float)
    g = np.zeros(len(v)) if groups is None else np.asarray(groups)
    ok = np.isfinite(v)
    v, g = v[ok], g[ok]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = np.inf, -np.inf
    for level in dict.fromkeys(g.tolist()):
        x = v[g == level]
        med = float(np.median(x))
        sd = 1.4826 * float(np.median(np.abs(x - med)))
        if sd == 0:  # half the values equal: fall back to the spread of all values
            sd = 1.4826 * float(np.median(np.abs(v - np.median(v)))) or float(np.std(v))
        lo = min(lo, max(x.min(), med - k * sd))
        hi = max(hi, min(x.max(), med + k * sd))
    # a value just beyond the robust range squashes nothing: the axis takes it in when
    # that widens it by at most a half (only a far outlier is drawn at the edge)
    span = hi - lo
    if v.max() > hi and v.max() - lo <= 1.5 * span:
        hi = float(v.max())
    if v.min() < lo and hi - v.min() <= 1.5 * span:
        lo = float(v.min())
    span = (hi - lo) or (abs(hi) * 0.1 or 1.0)
    return lo - pad * span, hi + pad * span


def mark_outliers(ax, x, y, lim, *, color="k", filled=True, size=20, label=False):
    """Draw the points of ``(x, y)`` outside ``lim`` as triangles just inside the axis
    edge (so neither marker nor label crosses the frame), optionally with each value
    printed beside its triangle.

    Parameters
    ----------
    ax : Axes
    x, y : array-like
        Positions in data units.
    lim : (float, float)
        The axis limits (:func:`robust_limits`).
    color : colour
    filled : bool
        Filled triangles (kept trials) or hollow ones (rejected).
    size : float
        Marker area, pt².
    label : bool
        Print each value (:func:`emgkit._numbers.fmt_num`) beside its triangle.

    Returns
    -------
    int
        The number of points marked, so a caption can say so.
    """
    from matplotlib.transforms import offset_copy

    from .._numbers import fmt_num

    x, y = np.asarray(x, float), np.asarray(y, float)
    lo, hi = lim
    inset = np.sqrt(size) / 2 + 2  # points between the frame and the marker's centre
    n = 0
    for mask, edge, marker, dy in ((y > hi, hi, "^", -inset), (y < lo, lo, "v", inset)):
        if mask.any():
            shifted = offset_copy(ax.transData, fig=ax.figure, y=dy, units="points")
            ax.scatter(x[mask], np.full(int(mask.sum()), edge), marker=marker, s=size,
                       zorder=3, edgecolors=color, transform=shifted, clip_on=False,
                       facecolors=color if filled else "none")
            if label:
                for xi, v in zip(x[mask], y[mask]):
                    ax.annotate(fmt_num(v), (xi, edge), xytext=(inset, dy), fontsize=7,
                                textcoords="offset points", va="center", ha="left")
            n += int(mask.sum())
    return n


#: the value meaning "no change from baseline" per baseline mode (a reference line)
NO_CHANGE = {"subtract": 0.0, "ratio": 1.0, "percent": 0.0, "logratio": 0.0, "zscore": 0.0}


def no_change_line(ax, mode):
    """Draw the "no change from baseline" reference line for ``mode`` (if known)."""
    if mode in NO_CHANGE:
        ax.axhline(NO_CHANGE[mode], color="0.45", lw=0.7, ls="--", zorder=0)


#: axis label per baseline mode
UNITS = {"subtract": "Δ µV", "ratio": "ratio to baseline", "percent": "% change",
          "logratio": "log10 ratio", "zscore": "z (baseline SD)"}


def condition_colors(conditions):
    """Return a stable condition -> colour mapping (same colour on every page)."""
    out, k = {}, 0
    for c in conditions:
        if c.lower() in _FIXED:
            out[c] = _FIXED[c.lower()]
        else:
            out[c] = PALETTE[k % len(PALETTE)]
            k += 1
    return out


def axes_row(ax, n, figsize):
    """Return (figure, n axes): the given ``ax`` (checked to hold ``n`` axes) or a new row."""
    if ax is not None:
        axes = np.atleast_1d(ax).ravel()
        if len(axes) < n:
            raise ConfigError(f"ax: {n} axes are needed (one per muscle), got {len(axes)}.")
        return axes[0].figure, axes
    fig = new_figure(figsize, layout="constrained")
    return fig, np.atleast_1d(fig.subplots(1, n, sharex=True, squeeze=False)).ravel()


def block_means(times, values, max_points=600):
    """Means over consecutive blocks of samples along the last axis, so that a trace has
    at most ``max_points`` points (a page cannot show more); returns (times, values) with
    each block's mean time (``max_points=None``: unchanged). NaNs propagate within a
    block."""
    n = len(times)
    k = max(1, -(-n // max_points)) if max_points else 1
    if k == 1:
        return times, values
    m = n // k
    head = values[..., :m * k].reshape(*values.shape[:-1], m, k).mean(-1)
    t = times[:m * k].reshape(m, k).mean(-1)
    if m * k < n:  # the last partial block
        head = np.concatenate([head, values[..., m * k:].mean(-1, keepdims=True)], axis=-1)
        t = np.append(t, times[m * k:].mean())
    return t, head


def min_max_trace(times, values, columns=1500):
    """A dense trace reduced to its minimum and maximum per column (``2 × columns``
    points): drawn as a line it covers the same pixels as all samples would."""
    n = len(times)
    k = max(1, n // columns)
    if k <= 2:
        return times, values
    m = n // k
    v = values[:m * k].reshape(m, k)
    lo_first = v.argmin(1) < v.argmax(1)  # keep the order in which they occur
    first = np.where(lo_first, v.min(1), v.max(1))
    second = np.where(lo_first, v.max(1), v.min(1))
    t = times[:m * k].reshape(m, k)
    return (np.column_stack([t[:, 0], t[:, -1]]).ravel(),
            np.column_stack([first, second]).ravel())
