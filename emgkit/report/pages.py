"""Building blocks of PDF reports: text pages, table pages, and atomic PDF writing."""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .._files import atomic_path

A4 = (8.27, 11.69)


def text_page(title, blocks, *, wrap=95, fontsize=9):
    """A page of text: ``blocks`` is a list of (heading or None, text) pairs."""
    fig = Figure(figsize=A4)
    y = 0.95
    fig.text(0.06, y, title, fontsize=15, weight="bold", va="top")
    y -= 0.045
    for heading, text in blocks:
        if heading:
            fig.text(0.06, y, heading, fontsize=11, weight="bold", va="top")
            y -= 0.025
        for para in str(text).split("\n"):
            lines = textwrap.wrap(para, wrap) or [""]
            for line in lines:
                fig.text(0.06, y, line, fontsize=fontsize, va="top", family="monospace"
                         if para.startswith("  ") else None)
                y -= 0.0165 * fontsize / 9
        y -= 0.012
    return fig


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "–"
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


def table_pages(title, df, *, rows_per_page=38, note=None):
    """Render a DataFrame as one or more A4 pages of monospaced text."""
    if df is None or len(df) == 0:
        return [text_page(title, [(None, note or "No rows.")])]
    cells = [[_fmt(v) for v in row] for row in df.itertuples(index=False)]
    cols = [str(c) for c in df.columns]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*r) for r in cells]
    header = fmt.format(*cols)
    size = max(5.0, min(9.0, 9.0 * 110 / max(len(header), 1)))
    pages = []
    for k in range(0, len(lines), rows_per_page):
        fig = Figure(figsize=A4)
        more = f" ({k // rows_per_page + 1}/{-(-len(lines) // rows_per_page)})" \
            if len(lines) > rows_per_page else ""
        fig.text(0.05, 0.95, title + more, fontsize=13, weight="bold", va="top")
        y = 0.91
        if note:
            for line in textwrap.wrap(note, 110):
                fig.text(0.05, y, line, fontsize=8, va="top")
                y -= 0.015
            y -= 0.01
        fig.text(0.05, y, header, family="monospace", fontsize=size, va="top", weight="bold")
        y -= 0.02
        for line in lines[k:k + rows_per_page]:
            fig.text(0.05, y, line, family="monospace", fontsize=size, va="top")
            y -= 0.021
        pages.append(fig)
    return pages


A4_LANDSCAPE = (11.69, 8.27)


def figure_page(title, plot, nrows=1, ncols=1, *, landscape=True, **kwargs):
    """An A4 page with a title whose axes are drawn by ``plot(ax=axes, **kwargs)``."""
    fig = Figure(figsize=A4_LANDSCAPE if landscape else A4, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    plot(ax=axes if nrows > 1 and ncols > 1 else axes.ravel(), **kwargs)
    fig.suptitle(title, fontsize=12, weight="bold")
    return fig


@contextmanager
def atomic_pdf(path):
    """Yield a PdfPages writing to a temporary file that replaces ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # no creation date: the same inputs give the same bytes
    with atomic_path(path) as tmp, PdfPages(tmp, metadata={"CreationDate": None}) as pdf:
        yield pdf
