"""Speed and size of ``emgkit review`` on a 40-participant study, 240 trials × 3 muscles each.

Goals (issue 28): ``emgkit review`` ≤ 10 s as a whole process; in headless Chromium the
overview renders in ≤ 1 s and a participant page in ≤ 1 s (measured with the browser's own
timing API); the review folder ≤ 10 MB.

The results folder is made by the real pipeline, cheaply: two participants are simulated
(240 trials, 256 Hz: every trace, excerpt and table has the usual size; only the recordings
are small) and their recordings and sidecars are copied under the ids of the other 38, then
``emgkit run`` (no reports, no group step) processes all 40.

Browser figures (selenium driving Debian's ``chromium`` and ``chromedriver``; skipped when
absent), each the median of ``repeats`` fresh page loads:

- ``overview``: ``performance.now()`` (ms from navigation start: reading and parsing the
  whole page and its data, then drawing) when the page's script has drawn the overview
  ("drawn"), and in the first task after the next animation frame, i.e. once that frame has
  been painted ("painted");
- ``participant page opened``: the same for a page opened on a participant
  (``index.html#sub-20``: 720 envelope plots and the selected trial's excerpt);
- ``participant from overview``: clicking a participant in the open overview, timed by the
  page from the click's route to drawn and to painted: the usual step of a review.

Run: ``python -m benchmarks.review_speed [participants] [repeats]``
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

#: the goals (s, s, s, bytes)
GOALS = {"review": 10.0, "overview": 1.0, "participant": 1.0, "size": 10_000_000}


def build_study(folder, n_participants=40, n_trials=60, sfreq=256.0, simulated=2):
    """A study of ``n_participants`` (``simulated`` really simulated, the others copies of
    their files) with ``n_trials`` trials per condition (4 conditions); returns the config
    path."""
    from emgkit.sim.recording import SimParams
    from emgkit.sim.study import simulate_study

    root = Path(folder)
    simulate_study(root, simulated, seed=11, sfreq=sfreq,
                   params=SimParams(sfreq=sfreq, n_trials=n_trials))
    table = pd.read_csv(root / "participants.tsv", sep="\t", dtype=str,
                        keep_default_na=False)
    rows = []
    for k in range(n_participants):
        pid = f"sub-{k + 1:02d}"
        src = table.iloc[k % simulated]
        rows.append(dict(src, participant_id=pid))
        if k < simulated:
            continue
        old = src["participant_id"]
        (root / pid / "emg").mkdir(parents=True)
        for f in (root / old / "emg").iterdir():
            shutil.copyfile(f, root / pid / "emg" / f.name.replace(old, pid))
    pd.DataFrame(rows).to_csv(root / "participants.tsv", sep="\t", index=False)
    return root / "study.toml"


def results(folder, **kwargs):
    """The results folder of ``emgkit run`` on :func:`build_study` (made once per folder)."""
    from emgkit.study.run import run_study

    folder = Path(folder)
    out = folder / "out"
    if not (out / "run.json").is_file():
        config = build_study(folder / "study", **kwargs)
        run_study(config, out, jobs=2, reports=False, group_step=False, progress=False)
    return out


def time_review(out):
    """Wall time (s) of ``emgkit review OUT`` as its own process, and the page it wrote."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "emgkit.cli", "review", str(out)],
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    return seconds, Path(done.stdout.strip().splitlines()[-1])


def folder_size(folder):
    """Bytes of every file under ``folder``."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def browser(profile):
    """A headless Chromium under selenium, or None when chromium, chromedriver or selenium
    is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    if chromium is None or driver is None:
        return None
    opts = Options()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1300,900",
                f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=opts)


#: the page's own figures after a load (ms; see the end of the page's script)
_TIMES = """
const d = document.documentElement.dataset;
return {render: +d.renderMs, painted: d.paintMs === undefined ? null : +d.paintMs,
        participant: !!document.getElementById("excerpt-title")};
"""


def _stamp(driver, key):
    """A timing the page writes into ``<html data-...>`` (ms), polled until it is there."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        got = driver.execute_script(f"return document.documentElement.dataset.{key}")
        if got is not None:
            return float(got)
        time.sleep(0.02)
    raise RuntimeError(f"the page wrote no {key} in 30 s")


def _fresh(driver, url):
    driver.get("about:blank")
    driver.get(url)


def time_browser(driver, page, pid, repeats=3):
    """Median browser figures (s) of the overview, a participant page opened directly and
    a participant reached from the overview; see the module docstring."""
    from selenium.webdriver.common.by import By

    out = {k: [] for k in ("overview", "overview_paint", "participant", "participant_paint",
                           "route", "route_paint")}
    for _ in range(repeats):
        _fresh(driver, page.as_uri())
        out["overview_paint"].append(_stamp(driver, "paintMs") / 1000)
        t = driver.execute_script(_TIMES)
        assert not t["participant"]
        out["overview"].append(t["render"] / 1000)
        driver.find_element(By.CSS_SELECTOR, f'#overview a[href="#{pid}"]').click()
        out["route_paint"].append(_stamp(driver, "routePaintMs") / 1000)
        out["route"].append(_stamp(driver, "routeMs") / 1000)
        assert driver.find_elements(By.ID, "excerpt-title")
        _fresh(driver, page.as_uri() + f"#{pid}")
        out["participant_paint"].append(_stamp(driver, "paintMs") / 1000)
        t = driver.execute_script(_TIMES)
        assert t["participant"]
        out["participant"].append(t["render"] / 1000)
    return {k: statistics.median(v) for k, v in out.items()}


def main(n_participants=40, repeats=3, folder=None, n_trials=60):
    """Measure and print the figures against the goals; returns them (a dict)."""
    folder = Path(folder or tempfile.mkdtemp(prefix="review-speed-"))
    t0 = time.perf_counter()
    out = results(folder, n_participants=n_participants, n_trials=n_trials)
    made = time.perf_counter() - t0
    seconds, page = time_review(out)
    size = folder_size(page.parent)
    figures = {"review": seconds, "size": size, "participants": n_participants,
               "trials": 4 * n_trials}
    driver = browser(folder / "profile")
    if driver is not None:
        try:
            figures.update(time_browser(driver, page, f"sub-{n_participants // 2:02d}",
                                        repeats))
        finally:
            driver.quit()
    print(f"emgkit review: {n_participants} participants × {4 * n_trials} trials × 3 muscles "
          f"(results made in {made:.0f} s, {out})")
    print(f"  emgkit review (process)            {seconds:6.2f} s   goal ≤ {GOALS['review']:g} s")
    print(f"  review folder                      {size / 1e6:6.2f} MB  goal ≤ "
          f"{GOALS['size'] / 1e6:g} MB")
    if driver is None:
        print("  browser figures skipped: chromium, chromedriver or selenium is missing")
        return figures
    rows = [("overview drawn", "overview", "overview"),
            ("overview painted", "overview_paint", "overview"),
            ("participant page opened, drawn", "participant", "participant"),
            ("participant page opened, painted", "participant_paint", "participant"),
            ("participant from overview, drawn", "route", "participant"),
            ("participant from overview, painted", "route_paint", "participant")]
    for label, key, goal in rows:
        print(f"  {label:<34} {figures[key]:6.3f} s   goal ≤ {GOALS[goal]:g} s "
              f"(median of {repeats}, headless Chromium)")
    return figures


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
