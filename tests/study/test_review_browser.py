"""emgkit review end to end in a real headless browser: selenium driving Debian's chromium and
chromedriver (skipped when any of the three is absent; ``.ci/run`` installs them).

The reviewer opens the overview, goes to a participant, excludes two trials with the keyboard
(undoing the second) and a trial × muscle with the mouse, saves (the download button of the
offline page, and ``emgkit review --serve``, which writes the overrides file at each mark), and
``emgkit run`` applies exactly those marks to that participant alone.
"""

from __future__ import annotations

import json
import shutil
import threading
import time

import pandas as pd
import pytest

from emgkit.cli import main
from emgkit.study.review_page import review_data, write_review
from emgkit.study.review_server import make_server
from emgkit.study.run import run_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="chromium or chromedriver is not installed")
#: where one pair of screenshots is copied for a person to look at
SHOTS = "/tmp/review_shots"


@pytest.fixture
def reviewed(small, tmp_path):
    """A copy of the small study (4 participants × 8 trials), run once; then its config is
    given an overrides table that does not exist yet (the review creates it)."""
    root = tmp_path / "study"
    shutil.copytree(small, root)
    out = tmp_path / "out"
    run_study(root / "study.toml", out, reports=False, group_step=False, progress=False)
    text = (root / "study.toml").read_text()
    assert "[study]\n" in text
    (root / "study.toml").write_text(text.replace("[study]\n",
                                                  '[study]\noverrides = "overrides.tsv"\n'))
    return root, out


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1300,900",
                f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _wait(what, timeout=15.0):
    """Poll ``what()`` until it is truthy (returns it) or fail after ``timeout`` s."""
    end = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _review(driver, pid, trials, cell):
    """On the open overview: go to ``pid``; keyboard: exclude the first trial, move on,
    exclude the next, undo it; mouse: select ``cell`` (trial, muscle) and click exclude."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    rows = driver.find_elements(By.CSS_SELECTOR, "#overview tr")
    assert len(rows) == 1 + 4  # header and one row per participant
    driver.find_element(By.CSS_SELECTOR, f'#overview a[href="#{pid}"]').click()
    _wait(lambda: driver.find_elements(By.ID, "excerpt-title"))
    reviewer = driver.find_element(By.ID, "reviewer")
    reviewer.send_keys("AB")
    reviewer.send_keys(Keys.ESCAPE)  # leave the field: keys mark again
    body = driver.find_element(By.TAG_NAME, "body")
    assert f"trial {trials[0]} " in driver.find_element(By.ID, "excerpt-title").text
    body.send_keys("x")
    body.send_keys("j")
    assert f"trial {trials[1]} " in driver.find_element(By.ID, "excerpt-title").text
    body.send_keys("x")
    body.send_keys("u")
    trial, muscle = cell
    driver.find_element(By.CSS_SELECTOR, f"#c-{trial}-{muscle} canvas").click()
    assert f"trial {trial} " in driver.find_element(By.ID, "excerpt-title").text
    driver.find_element(By.ID, "exclude").click()
    classes = driver.find_element(By.ID, f"c-{trial}-{muscle}").get_attribute("class")
    assert "excl" in classes.split()
    marked = driver.find_elements(By.CSS_SELECTOR, ".cell.excl")
    return len(marked)


def _order(out, pid):
    """A participant's trials in the page's order (conditions as configured)."""
    data = review_data(out)
    p = next(q for q in data["participants"] if q["id"] == pid)
    return [t for c in data["conditions"] for t, tc in zip(p["trials"], p["conditions"])
            if tc == c]


def test_review_in_chromium_marks_saves_and_reruns_only_that_participant(reviewed, browser,
                                                                         tmp_path):
    from selenium.webdriver.common.by import By

    root, out = reviewed
    pid, muscles = "sub-02", ["corrugator", "zygomaticus", "depressor"]
    order = _order(out, pid)
    cell = (order[4], "zygomaticus")
    page = write_review(out)

    # 1. the offline page (file://) and its download button
    browser.get(page.as_uri())
    _wait(lambda: browser.find_elements(By.ID, "overview"))
    shots = tmp_path / "shots"
    shots.mkdir()
    browser.save_screenshot(str(shots / "overview.png"))
    assert _review(browser, pid, order, cell) == len(muscles) + 1
    browser.find_element(By.ID, "download").click()
    downloaded = browser.downloads / "overrides.tsv"
    _wait(lambda: downloaded.is_file() and not list(browser.downloads.glob("*.crdownload")))
    browser.find_element(By.CSS_SELECTOR, f"#c-{order[0]}-corrugator").click()
    browser.save_screenshot(str(shots / "participant.png"))
    offline = downloaded.read_text()
    assert "\tmovement\tAB" in offline
    assert not (root / "overrides.tsv").exists()  # the offline page writes nothing

    # 2. the same marks through emgkit review --serve, saved at each mark
    server = make_server(out)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser.get(server.url)
        _wait(lambda: browser.find_elements(By.ID, "overview"))
        _review(browser, pid, order, cell)
        _wait(lambda: browser.find_element(By.ID, "status").text.startswith("saved to"))
        saved = _wait(lambda: (root / "overrides.tsv").is_file()
                      and (root / "overrides.tsv").read_text() == offline and offline)
        # reopening shows the saved marks
        browser.get("about:blank")
        browser.get(server.url + f"#{pid}")
        _wait(lambda: browser.find_elements(By.CSS_SELECTOR, ".cell.excl"))
        assert len(browser.find_elements(By.CSS_SELECTOR, ".cell.excl")) == len(muscles) + 1
    finally:
        server.shutdown()
        server.server_close()
    table = pd.read_csv(root / "overrides.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert table.to_dict("records") == [
        {"participant_id": pid, "trial": str(order[0]), "muscle": "*", "action": "exclude",
         "reason": "movement", "reviewer": "AB"},
        {"participant_id": pid, "trial": str(cell[0]), "muscle": cell[1],
         "action": "exclude", "reason": "movement", "reviewer": "AB"}]
    assert saved

    # 3. emgkit run applies them and recomputes sub-02 alone
    before = {q: json.loads((out / q / "done.json").read_text())["finished"]
              for q in ("sub-01", "sub-02", "sub-03", "sub-04")}
    assert main(["run", str(root / "study.toml"), "--out", str(out), "--no-reports"]) == 0
    run = json.loads((out / "run.json").read_text())
    status = {k: v["status"] for k, v in run["participants"].items()}
    assert status == {"sub-01": "skipped", "sub-02": "done", "sub-03": "skipped",
                      "sub-04": "skipped"}
    after = {q: json.loads((out / q / "done.json").read_text())["finished"] for q in before}
    assert [q for q in before if after[q] != before[q]] == [pid]
    trials = pd.read_csv(out / pid / "trials.tsv", sep="\t", keep_default_na=False)
    manual = trials[trials["reject_reason"] == "manual"]
    assert set(zip(manual["trial"], manual["muscle"])) == (
        {(order[0], m) for m in muscles} | {cell})
    assert manual["rejected"].all()

    for name in ("overview", "participant"):
        shot = shots / f"{name}.png"
        assert shot.stat().st_size > 10_000
    shutil.rmtree(SHOTS, ignore_errors=True)
    shutil.copytree(shots, SHOTS)
