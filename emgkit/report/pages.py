"""Building blocks of PDF reports: text pages, table pages, and atomic PDF writing that
stops between pages on Ctrl-C/SIGTERM (:mod:`emgkit._interrupts`).

Every page is an emgkit :class:`~emgkit.viz.style.Figure` and every PDF is drawn and
written inside :func:`emgkit.viz.style.style` (embedded TrueType fonts, no Type 3); numbers
in tables go through :func:`emgkit._numbers.format_column`.

Drawing speed (issue 30: a subject PDF in under a second): page layouts are fixed, never
measured; :func:`figure_page` can reuse a written page's figure and axes within a process;
:func:`atomic_pdf` pauses the garbage collector and has the style reuse this process' font
subsets and shaped texts (:func:`emgkit.viz.style.style` with ``cache_fonts=True``), which
leaves every PDF byte for byte as drawn without them.
"""

from __future__ import annotations

import re
import textwrap
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages

from .. import _interrupts
from .._files import atomic_path
from .._numbers import format_column, shared_decimals
from ..viz.style import HEADING, Figure, style

A4 = (8.27, 11.69)
A4_LANDSCAPE = (11.69, 8.27)


def _wrap(para, width, mono):
    """Wrap one paragraph; a monospaced ``key:   value`` line continues under its value."""
    if not mono:
        return textwrap.wrap(para, width) or [""]
    indent = len(para) - len(para.lstrip())
    m = re.match(r"^(\s*\S.*?\s{2,})\S", para)
    hang = len(m.group(1)) if m and len(m.group(1)) < 0.4 * width else indent + 2
    return textwrap.wrap(para, width, initial_indent="", subsequent_indent=" " * hang,
                         drop_whitespace=False, break_on_hyphens=False) or [""]


def text_page(title, blocks, *, wrap=None, fontsize=9, landscape=False, columns=None):
    """A page of text: ``blocks`` is a list of (heading or None, text) pairs; lines that
    start with two spaces are set monospaced (tables, key: value lists).

    Parameters
    ----------
    title : str
    blocks : list of (str | None, str), or a list of such lists (one per column)
    wrap : int | None
        Characters per line of proportional text; default: what fits the column.
    fontsize : float
        pt.
    landscape : bool
    columns : list of float | None
        Widths of the columns as fractions of the text width (``blocks`` then holds one
        list of blocks per column); None: one column.
    """
    w, h = A4_LANDSCAPE if landscape else A4
    left, right, gutter = 0.7, 0.6, 0.35                 # inches
    fig = Figure(figsize=(w, h))
    top = h - 0.55
    fig.text(left / w, top / h, title, fontsize=15, **HEADING, va="top", parse_math=False)
    line_h = 0.193 * fontsize / 9                      # 1.55 × the font size, inches
    columns = columns or [1.0]
    per_column = blocks if len(columns) > 1 else [blocks]
    usable = w - left - right - gutter * (len(columns) - 1)
    x = left
    for frac, col_blocks in zip(columns, per_column):
        col_w = usable * frac
        prop_chars = wrap or int(col_w * 72 / (0.5 * fontsize))
        mono_chars = int(col_w * 72 / (0.602 * fontsize))
        y = top - 0.53
        for heading, text in col_blocks:
            if heading:
                fig.text(x / w, y / h, heading, fontsize=11, **HEADING, va="top", parse_math=False)
                y -= 0.29
            for para in str(text).split("\n"):
                mono = para.startswith("  ")
                for line in _wrap(para, mono_chars if mono else prop_chars, mono):
                    fig.text(x / w, y / h, line, fontsize=fontsize, va="top",
                             family="monospace" if mono else None, parse_math=False)
                    y -= line_h
            y -= 0.14
        x += col_w + gutter
    return fig



def text_pages(title, blocks, *, fontsize=9, landscape=False, bottom=0.5):
    """One-column text (as :func:`text_page`) flowed over as many pages as it needs.

    Parameters
    ----------
    title : str
        Title of the first page; the others say "(continued)".
    blocks : list of (str | None, str)
    fontsize : float
        pt.
    landscape : bool
    bottom : float
        Bottom margin (inches) below which no line is set.

    Returns
    -------
    list of matplotlib.figure.Figure
    """
    w, h = A4_LANDSCAPE if landscape else A4
    line_h = 0.193 * fontsize / 9
    usable = w - 0.7 - 0.6
    prop_chars = int(0.93 * usable * 72 / (0.5 * fontsize))  # slack: wide glyphs
    mono_chars = int(usable * 72 / (0.602 * fontsize))
    room = (h - 0.55 - 0.53) - bottom                  # inches below the title
    pages, current, used = [], [], 0.0
    for heading, text in blocks:
        lines = [line for para in str(text).split("\n")
                 for line in _wrap(para, mono_chars if para.startswith("  ") else prop_chars,
                                   para.startswith("  "))]
        head_h = 0.29 if heading else 0.0
        while lines:
            fit = int((room - used - head_h) // line_h)
            if fit < 1 and current:
                pages.append(current)
                current, used = [], 0.0
                continue
            fit = max(fit, 1)
            part, lines = lines[:fit], lines[fit:]
            current.append((heading, "\n".join(part)))
            used += head_h + len(part) * line_h + 0.14
            heading = f"{heading} (continued)" if heading and lines else heading
            head_h = 0.29 if heading else 0.0
            if lines:
                pages.append(current)
                current, used = [], 0.0
    if current or not pages:
        pages.append(current)
    return [text_page(title if i == 0 else f"{title} (continued)", part,
                      fontsize=fontsize, landscape=landscape, wrap=10 ** 6)
            for i, part in enumerate(pages)]

#: width of a monospaced character in em (DejaVu Sans Mono), with a little slack
_CHAR_EM = 0.62
#: smallest table font (pt) before columns are split over pages
_MIN_PT = 6.0


def _column_groups(widths, usable_pt, repeat=1):
    """Column index groups that each fit ``usable_pt`` at ``_MIN_PT`` (the first
    ``repeat`` columns kept in every group so rows stay identifiable)."""
    def chars(idx):
        return sum(widths[i] for i in idx) + 2 * (len(idx) - 1)

    keys = list(range(min(max(repeat, 1), len(widths))))
    groups, cur = [], list(keys)
    for i in range(len(keys), len(widths)):
        if chars(cur + [i]) * _CHAR_EM * _MIN_PT > usable_pt and len(cur) > len(keys):
            groups.append(cur)
            cur = [*keys, i]
        else:
            cur.append(i)
    groups.append(cur)
    return groups, [chars(g) for g in groups]


def _rule(fig, x, y, width):
    """A thin horizontal rule (figure fractions) under a table header."""
    from matplotlib.lines import Line2D

    fig.add_artist(Line2D([x, x + width], [y, y], lw=0.5, color="0.3"))


def table_cells(df, digits=3):
    """The table's cells as strings, column by column through
    :func:`emgkit._numbers.format_column` (shared decimals per column, and across an
    estimate, its SE and CI limits (:func:`emgkit._numbers.shared_decimals`); APA
    p-values)."""
    values = {str(c): df[c].tolist() for c in df.columns}
    shared = shared_decimals(values, digits)
    columns = [format_column(c, v, digits, decimals=shared.get(c)) for c, v in values.items()]
    return [list(row) for row in zip(*columns)] if columns else []


def table_pages(title, df, *, note=None, landscape=None, repeat=1):
    """Render a DataFrame as A4 pages of monospaced text that always fit the page.

    The font shrinks to fit (9 pt down to 6 pt); a table too wide for portrait goes
    landscape (``landscape=True`` always, as in a report of landscape pages), and one too
    wide for that is split into column groups (the first ``repeat`` columns repeated on every
    page, e.g. muscle, contrast and condition), so no column
    is ever cut off.
    """
    if df is None or len(df) == 0:
        return [text_page(title, [(None, note or "No rows.")], landscape=bool(landscape))]
    cells = table_cells(df)
    cols = [str(c) for c in df.columns]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    margin = 0.05
    groups, group_chars = _column_groups(widths, (1 - 2 * margin) * A4_LANDSCAPE[0] * 72,
                                         repeat)
    pages = []
    for g, (idx, n_chars) in enumerate(zip(groups, group_chars)):
        portrait_pt = (1 - 2 * margin) * A4[0] * 72 / (_CHAR_EM * n_chars)
        wide = portrait_pt < 7.0 if landscape is None else landscape
        size_pt = (1 - 2 * margin) * (A4_LANDSCAPE if wide else A4)[0] * 72 / (
            _CHAR_EM * n_chars)
        size = max(_MIN_PT, min(9.0, size_pt))
        page = A4_LANDSCAPE if wide else A4
        fmt = "  ".join(f"{{:<{widths[i]}}}" for i in idx)
        header = fmt.format(*(cols[i] for i in idx))
        lines = [fmt.format(*(r[i] for i in idx)) for r in cells]
        step = size * 1.45 / (page[1] * 72)                # line height, page fraction
        top = 0.91 - (0.015 * len(textwrap.wrap(note, 110)) + 0.01 if note else 0)
        per_page = max(1, int((top - 0.04 - 0.05) / step))
        n_pages = -(-len(lines) // per_page)
        part = f", columns {g + 1}/{len(groups)}" if len(groups) > 1 else ""
        for k in range(0, len(lines), per_page):
            fig = Figure(figsize=page)
            more = f" ({k // per_page + 1}/{n_pages}{part})" if n_pages > 1 or part else ""
            fig.text(margin, 0.95, title + more, fontsize=13, **HEADING, va="top", parse_math=False)
            y = 0.91
            if note:
                for line in textwrap.wrap(note, 110):
                    fig.text(margin, y, line, fontsize=8, va="top", parse_math=False)
                    y -= 0.015
                y -= 0.01
            # headers in the regular face with a rule below: a bold monospaced face
            # would be one more font to subset and embed in every PDF
            fig.text(margin, y, header, family="monospace", fontsize=size, va="top",
                     parse_math=False)
            y -= step * 1.05
            _rule(fig, margin, y, len(header) * _CHAR_EM * size / 72 / page[0])
            y -= step * 0.4
            for line in lines[k:k + per_page]:
                fig.text(margin, y, line, family="monospace", fontsize=size, va="top",
                         parse_math=False)
                y -= step
            pages.append(fig)
    return pages


def tables_page(title, tables, *, fontsize=8.0, vertical=False, min_fontsize=None):
    """Small tables on one landscape page, side by side (or one below the other with
    ``vertical=True``), or None when they do not fit (the caller then gives each its own
    :func:`table_pages`), so that a 12-row table does not stand alone on an empty page.

    Parameters
    ----------
    title : str
        The page title.
    tables : list of (str, DataFrame, str | None)
        Subtitle, table and an optional note (wrapped to the table's width, or to the
        page's when vertical) per table.
    fontsize : float
        Table font size (pt).
    vertical : bool
        Stack the tables instead of placing them side by side.
    min_fontsize : float | None
        Smallest font size (pt) to try, in half points below ``fontsize``, before giving
        up (None: ``fontsize`` only).

    Returns
    -------
    Figure | None
    """
    if min_fontsize is not None and min_fontsize < fontsize:
        for size in np.arange(fontsize, min_fontsize - 1e-9, -0.5):
            fig = tables_page(title, tables, fontsize=float(size), vertical=vertical)
            if fig is not None:
                return fig
        return None
    w, h = A4_LANDSCAPE
    margin, gap = 0.6, 0.45                                    # inches
    char_in = _CHAR_EM * fontsize / 72
    step = fontsize * 1.45 / 72                                # line height, inches
    note_step, note_char = 0.15, 0.5 * 7 / 72                  # 7 pt proportional
    blocks = []
    for sub, df, note in tables:
        cols = [str(c) for c in df.columns]
        cells = table_cells(df) if len(df) else []
        widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c)
                  for i, c in enumerate(cols)]
        fmt = "  ".join(f"{{:<{n}}}" for n in widths)
        lines = [fmt.format(*r) for r in cells] or ["(none)"]
        width = max(len(fmt.format(*cols)) * char_in, 2.5)
        note_w = (w - 2 * margin) if vertical else width
        note_lines = textwrap.wrap(note, int(note_w / note_char)) if note else []
        height = 0.3 + len(note_lines) * note_step + 0.05 + step * (1.3 + len(lines))
        blocks.append((sub, fmt.format(*cols), lines, note_lines, width, height))
    room_w, room_h = w - 2 * margin, h - 1.1 - 0.4
    if vertical:
        fits = max(b[4] for b in blocks) <= room_w and \
            sum(b[5] for b in blocks) + gap * (len(blocks) - 1) <= room_h
    else:
        fits = sum(b[4] for b in blocks) + gap * (len(blocks) - 1) <= room_w and \
            max(b[5] for b in blocks) <= room_h
    if not fits:
        return None
    fig = Figure(figsize=(w, h))
    fig.text(margin / w, 1 - 0.55 / h, title, fontsize=13, **HEADING, va="top", parse_math=False)
    x, y0 = margin, h - 1.1
    for sub, header, lines, note_lines, width, height in blocks:
        y = y0
        fig.text(x / w, y / h, sub, fontsize=10, **HEADING, va="top", parse_math=False)
        y -= 0.3
        for line in note_lines:
            fig.text(x / w, y / h, line, fontsize=7, va="top", parse_math=False)
            y -= note_step
        y -= 0.05
        fig.text(x / w, y / h, header, family="monospace", fontsize=fontsize, va="top",
                 parse_math=False)
        y -= step * 1.05
        _rule(fig, x / w, y / h, len(header) * char_in / w)
        y -= step * 0.4
        for line in lines:
            fig.text(x / w, y / h, line, family="monospace", fontsize=fontsize, va="top",
                     parse_math=False)
            y -= step
        if vertical:
            y0 -= height + gap
        else:
            x += width + gap
    return fig


def short_table_pages(title, df, *, note=None, fontsize=10.0, min_fontsize=7.0,
                      repeat=1):
    """A short table on one landscape page at the largest font from ``fontsize`` down to
    ``min_fontsize`` (pt) that fits, so that it does not sit small on an empty page; a
    longer or wider one as :func:`table_pages`.

    Returns
    -------
    list of Figure
    """
    if df is not None and len(df):
        page = tables_page(title, [("", df, note)], fontsize=fontsize, vertical=True,
                           min_fontsize=min_fontsize)
        if page is not None:
            return [page]
    return table_pages(title, df, note=note, landscape=True, repeat=repeat)


def figure_page(title, plot, nrows=1, ncols=1, *, landscape=True, bottom=0.65, reuse=False,
                **kwargs):
    """An A4 page with a title whose axes are drawn by ``plot(ax=axes, **kwargs)``.

    The margins are fixed (in inches: room for two-line axis labels, a title and a legend
    row above each panel) rather than computed by constrained layout, which measures every
    text on every page and costs more than drawing it. ``bottom`` (inches) leaves room
    for legends below the axes.

    ``reuse=True`` (for plots that leave no state :func:`_empty` does not reset, e.g. no
    axes shared with ``Axes.sharey``): the figure and its axes are reused within a process
    (:func:`_page_axes`): a page of the same plot and grid whose earlier figure has been
    written to a PDF is drawn on that figure, emptied, instead of on new axes.
    """
    import matplotlib

    w, h = A4_LANDSCAPE if landscape else A4
    # titles at a fixed height: no axes of a page has tick labels on top, and measuring
    # them for every title on every draw costs a tenth of a report
    with matplotlib.rc_context({"axes.titley": 1.0}):
        fig, axes = _page_axes((plot, nrows, ncols, w, h, bottom), reuse)
        plot(ax=axes if nrows > 1 and ncols > 1 else axes.ravel(), **kwargs)
    # a long title (e.g. a test's settings) wraps instead of running off the page
    title = "\n".join(textwrap.wrap(title, int((w - 0.8) * 72 / (0.62 * 12))))
    fig.suptitle(title, fontsize=12, **HEADING, y=1 - 0.25 / h, va="top",
                 parse_math=False)
    return fig


#: figures of :func:`figure_page` kept for reuse in this process, per (plot, grid, page
#: size): building a page's axes and their tick objects was a third of a subject report's
#: drawing. A figure is handed out again only after a PDF wrote it (``_Pages.savefig``
#: marks it free), so pages built before any is written (the group report) get their own.
_FIGURES = {}
#: figures kept per key (more are built, used once and not kept)
_PER_KEY = 4
_FIGURES_LOCK = threading.Lock()


def _page_axes(spec, reuse=True):
    """(figure, 2-D array of axes) for ``spec`` = (plot, nrows, ncols, width, height,
    bottom): a kept free figure, emptied (:func:`_empty`), or a new one (kept for reuse
    when ``reuse``)."""
    plot, nrows, ncols, w, h, bottom = spec
    plot = getattr(plot, "__func__", plot)  # a bound method: one entry per function
    key = (getattr(plot, "__module__", None), getattr(plot, "__qualname__", repr(plot)),
           nrows, ncols, w, h, bottom)
    with _FIGURES_LOCK:
        kept = _FIGURES.setdefault(key, []) if reuse else []
        page = next((p for p in kept if p["free"]), None)
        if page is not None:
            page["free"] = False
    if page is not None:
        _empty(page)
        return page["figure"], page["axes"]
    fig = Figure(figsize=(w, h))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    left, right, top, vgap, hgap = 1.0, 0.45, 1.0, 0.5, 0.9  # inches
    ax_h = (h - top - bottom - (nrows - 1) * vgap) / nrows
    ax_w = (w - left - right - (ncols - 1) * hgap) / ncols
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h,
                        bottom=bottom / h, hspace=vgap / ax_h, wspace=hgap / ax_w)
    page = {"figure": fig, "axes": axes, "free": False,
            "state": [(a, a.get_subplotspec(), a.get_position(original=True).frozen(),
                       a.get_anchor()) for a in axes.flat]}
    with _FIGURES_LOCK:
        if reuse and len(kept) < _PER_KEY:
            kept.append(page)
            fig._emgkit_page = page
    return fig, axes


def _empty(page):
    """Return a kept figure to the state :func:`_page_axes` built it in, keeping its axes
    and their tick objects: every artist a plot added is removed (axes it added, e.g.
    colour bars, too), the grid's positions, titles, labels, scales, locators,
    formatters and autoscaling are reset."""
    import matplotlib
    from matplotlib.ticker import AutoLocator, NullLocator, ScalarFormatter

    fig = page["figure"]
    own = {id(a) for a, *_ in page["state"]}
    for extra in [a for a in fig.axes if id(a) not in own]:
        extra.remove()
    for a, spec, pos, anchor in page["state"]:
        for artist in list(a._children):
            artist.remove()
        if a.legend_ is not None:
            a.legend_.remove()
        a.containers.clear()
        a._colorbars.clear()
        a.set_subplotspec(spec)
        a._set_position(pos, which="both")
        a.set_anchor(anchor)
        for t in (a.title, a._left_title, a._right_title):
            t.set_text("")
        for axis in (a.xaxis, a.yaxis):
            if axis.get_scale() != "linear":
                axis._set_axes_scale("linear")
            axis.set_major_locator(AutoLocator())
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_locator(NullLocator())
            axis.label.set_text("")
            axis.label.set_color(matplotlib.rcParams["axes.labelcolor"])
            axis.label.set_fontsize(matplotlib.rcParams["axes.labelsize"])
            axis.label.set_fontweight(matplotlib.rcParams["axes.labelweight"])
        a.xaxis.set_tick_params(which="both", labelbottom=True)
        a.yaxis.set_tick_params(which="both", labelleft=True)
        a.set_aspect("auto")
        a.ignore_existing_data_limits = True
        a.relim()
        a.set_xlim(0, 1, auto=True)  # not inverted (an image's y axis is), autoscaled
        a.set_ylim(0, 1, auto=True)
    fig.suptitle("")


class _Pages(PdfPages):
    """PdfPages that checks for a received signal before and after drawing each page: an
    interrupt whose exception matplotlib swallowed while drawing still stops the report."""

    def savefig(self, figure=None, **kwargs):
        _interrupts.check()
        super().savefig(figure, **kwargs)
        page = getattr(figure, "_emgkit_page", None)
        if page is not None:  # written: :func:`figure_page` may hand it out again
            page["free"] = True
        _interrupts.check()


@contextmanager
def atomic_pdf(path):
    """Yield a PdfPages writing to a temporary file that replaces ``path`` on success.

    On Ctrl-C or SIGTERM (between pages, or swallowed while a page was drawn) the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # no creation date: the same inputs give the same bytes; the style is active while
    # pages are built, drawn and while the fonts are embedded on closing
    with style(cache_fonts=True, from_defaults=True), _gc_paused(), atomic_path(path) as tmp, \
            _Pages(tmp, metadata={"CreationDate": None}) as pdf:
        yield pdf
        _interrupts.check()


@contextmanager
def _gc_paused():
    """No cyclic garbage collection while a PDF is built and drawn: matplotlib makes tens
    of thousands of short-lived artists, transforms and paths per report, whose
    collections (scanning every object of the process, the processed recording's too)
    took a tenth of a subject report's time; the garbage is collected after the PDF.
    Restores the collector's previous state."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
