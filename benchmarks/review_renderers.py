"""Why the review page draws on plain canvases: one participant's 720 small plots (240 trials ×
3 muscles, ~100 points each) drawn by Vega-Lite (vega-embed, canvas renderer) and by Bokeh
(BokehJS), against the 1 s goal of issue 28, in headless Chromium.

Each page inlines its library (the review must work offline from ``file://``) and stamps
``performance.now()`` (ms from navigation start) when its plots are drawn, then once the next
frame has been painted:

- ``vega-lite, one faceted chart``: the whole participant as one spec faceted by trial ×
  muscle (the idiomatic way: one view, 71 000 data rows);
- ``vega-lite, a chart per plot``: 720 ``vegaEmbed`` calls (what marking single plots
  needs);
- ``bokeh, gridplot``: 720 small figures in one ``gridplot`` (``bokeh.embed.file_html`` with
  inline resources).

Neither library is a dependency of emgkit: give the folder holding ``vega``, ``vega-lite``
and ``vega-embed`` (``npm install vega@5 vega-lite@5 vega-embed@6``) and have ``bokeh``
importable; what is missing is skipped.

Run: ``python -m benchmarks.review_renderers RESULTS_FOLDER [NODE_MODULES] [repeats]``
(``RESULTS_FOLDER``: e.g. the ``out`` folder :mod:`benchmarks.review_speed` makes).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: stamps the drawn and painted times into <html data-...>
_STAMP = """
function emgkitStamp() {
  document.documentElement.dataset.drawnMs = performance.now().toFixed(1);
  requestAnimationFrame(() => setTimeout(() => {
    document.documentElement.dataset.paintMs = performance.now().toFixed(1); }, 0));
}
"""


def participant_traces(out, pid):
    """``times`` (s) and ``values`` (n_trials, n_muscles, n_points) of one participant's
    envelopes, and its muscle names."""
    from emgkit.epochs.traces import dequantise, read_traces

    tr = read_traces(Path(out) / pid / "envelopes.npz")
    return tr["times"].astype(float), dequantise(tr["data"], tr["scale"]), list(tr["muscles"])


def vega_pages(folder, node_modules, times, values, muscles):
    """The two Vega-Lite pages (paths)."""
    nm = Path(node_modules)
    libs = "".join(f"<script>{(nm / p).read_text()}</script>" for p in (
        "vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js",
        "vega-embed/build/vega-embed.min.js"))
    rows = [{"trial": i + 1, "muscle": m, "t": round(float(t), 3), "v": round(float(v), 4)}
            for i in range(values.shape[0]) for j, m in enumerate(muscles)
            for t, v in zip(times, values[i, j]) if np.isfinite(v)]
    facet = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
             "data": {"values": rows},
             "facet": {"row": {"field": "trial", "type": "ordinal", "header": None},
                       "column": {"field": "muscle", "type": "nominal"}},
             "spec": {"width": 144, "height": 26, "mark": {"type": "line", "strokeWidth": 1},
                      "encoding": {"x": {"field": "t", "type": "quantitative", "axis": None},
                                   "y": {"field": "v", "type": "quantitative",
                                         "axis": None}}},
             "resolve": {"scale": {"y": "independent"}}}
    one = folder / "vega_facet.html"
    one.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{libs}"
                   f"<script>{_STAMP}</script></head><body><div id='v'></div><script>"
                   f"vegaEmbed('#v', {json.dumps(facet)}, {{renderer: 'canvas', "
                   f"actions: false}}).then(emgkitStamp);</script></body></html>")
    specs = []
    for i in range(values.shape[0]):
        for j in range(len(muscles)):
            ok = np.isfinite(values[i, j])
            specs.append({"data": {"values": [{"t": round(float(t), 3), "v": round(float(v), 4)}
                                              for t, v in zip(times[ok], values[i, j][ok])]},
                          "width": 144, "height": 26, "mark": {"type": "line",
                                                               "strokeWidth": 1},
                          "encoding": {"x": {"field": "t", "type": "quantitative",
                                             "axis": None},
                                       "y": {"field": "v", "type": "quantitative",
                                             "axis": None}}})
    many = folder / "vega_many.html"
    many.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{libs}"
                    f"<script>{_STAMP}</script></head><body><div id='v'></div><script>"
                    f"const specs = {json.dumps(specs)}; const box = document.getElementById('v');"
                    f"Promise.all(specs.map(s => {{ const d = document.createElement('div');"
                    f"d.style.display = 'inline-block'; box.append(d);"
                    f"return vegaEmbed(d, s, {{renderer: 'canvas', actions: false}}); }}))"
                    f".then(emgkitStamp);</script></body></html>")
    return {"vega-lite, one faceted chart": one, "vega-lite, a chart per plot": many}


def bokeh_page(folder, times, values, muscles):
    """The Bokeh page (path), or None without bokeh."""
    try:
        from bokeh.embed import file_html
        from bokeh.layouts import gridplot
        from bokeh.plotting import figure
        from bokeh.resources import INLINE
    except ImportError:
        return None
    figs = []
    for i in range(values.shape[0]):
        for j in range(len(muscles)):
            f = figure(width=150, height=30, toolbar_location=None, min_border=0)
            f.axis.visible = False
            f.grid.visible = False
            f.line(times, np.nan_to_num(values[i, j]), line_width=1)
            figs.append(f)
    grid = gridplot(figs, ncols=len(muscles) * 5, toolbar_location=None)
    html = file_html(grid, INLINE, "bokeh")
    # drawn: the document is idle (BokehJS's own signal that every root has rendered)
    poll = ("<script>" + _STAMP + "(function wait() { const B = window.Bokeh;"
            " const docs = B && B.documents ? B.documents : [];"
            " if (docs.length && docs.every(d => d.is_idle)) emgkitStamp();"
            " else setTimeout(wait, 5); })();</script>")
    page = folder / "bokeh_grid.html"
    page.write_text(html.replace("</body>", poll + "</body>"))
    return page


def measure(driver, page, repeats=3, limit=60.0):
    """Median (drawn, painted) seconds of a page in ``driver`` and its size (bytes); a page
    not painted within ``limit`` s counts as ``inf`` (and is not loaded again)."""
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from urllib3.exceptions import ReadTimeoutError  # the page's script never yields

    drawn, painted = [], []
    for _ in range(repeats):
        driver.get("about:blank")
        driver.set_page_load_timeout(limit)
        t0 = time.monotonic()
        got = [None, None]
        try:
            driver.get(page.as_uri())
            while time.monotonic() - t0 < limit:
                got = driver.execute_script("const d = document.documentElement.dataset;"
                                            "return [d.drawnMs, d.paintMs];")
                if got[1] is not None:
                    break
                time.sleep(0.02)
        except (TimeoutException, WebDriverException, ReadTimeoutError):
            pass
        if got[1] is None:
            return float("inf"), float("inf"), page.stat().st_size
        drawn.append(float(got[0]) / 1000)
        painted.append(float(got[1]) / 1000)
    return statistics.median(drawn), statistics.median(painted), page.stat().st_size


def main(out, node_modules=None, repeats=3, pid="sub-01"):
    """Measure and print; returns {name: (drawn s, painted s, page bytes)}."""
    from benchmarks.review_speed import browser

    times, values, muscles = participant_traces(out, pid)
    folder = Path(tempfile.mkdtemp(prefix="review-renderers-"))
    pages = {}
    if node_modules and (Path(node_modules) / "vega-embed").is_dir():
        pages.update(vega_pages(folder, node_modules, times, values, muscles))
    page = bokeh_page(folder, times, values, muscles)
    if page is not None:
        pages["bokeh, gridplot"] = page
    driver = browser(folder / "profile")
    if driver is None:
        print("chromium, chromedriver or selenium is missing: nothing measured")
        return {}
    figures = {}
    try:
        for name, page in pages.items():
            figures[name] = measure(driver, page, repeats)
            print(f"  measured {name}", flush=True)
    finally:
        driver.quit()
    print(f"{values.shape[0]} trials × {len(muscles)} muscles = {values.size // len(times)} "
          f"plots of {len(times)} points, headless Chromium, median of {repeats}")
    for name, (drawn, painted, size) in figures.items():
        late = "" if painted < float("inf") else " (not painted within 60 s)"
        print(f"  {name:<30} drawn {drawn:6.2f} s  painted {painted:6.2f} s  page "
              f"{size / 1e6:5.2f} MB (goal: ≤ 1 s){late}")
    return figures


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None,
         int(sys.argv[3]) if len(sys.argv) > 3 else 3)
