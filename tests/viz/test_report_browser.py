"""The HTML report in a real headless Chromium: it loads from disk, the slider changes the slice.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them)
and the ``selenium`` package (the ``dev`` extra); without them the test skips.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lungnet.radiomics import RadiomicsBatch
from lungnet.viz.case_report import write_report

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # this machine has no network: nothing may try to reach one
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,1300",
)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip(
            "headless browser test needs Chromium and chromedriver "
            "(Debian: apt-get install chromium chromium-driver); not found on PATH"
        )
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')"
    )
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not try to download drivers
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(chromedriver))
    yield driver
    driver.quit()


def _shown_slice(driver) -> str | None:
    return driver.execute_script("return document.getElementById('view').dataset.slice || null")


def _canvas(driver) -> str:
    return driver.execute_script("return document.getElementById('view').toDataURL('image/png')")


def test_report_opens_from_disk_and_the_slider_changes_the_slice(browser, phantom, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    # radiomics tables beside the report: the page carries its radiomics panel too
    RadiomicsBatch(tmp_path / "out", say=lambda line: None).add(
        phantom.ct_path, phantom.mask_path, case="c"
    )
    html = write_report(phantom.ct, phantom.mask, tmp_path / "out", gt=phantom.gt, case_name="c")
    browser.get(html.as_uri())
    wait = WebDriverWait(browser, 10)
    slider = browser.find_element(By.ID, "slice")
    start = slider.get_attribute("value")
    wait.until(lambda d: _shown_slice(d) == start)
    before, label_before = _canvas(browser), browser.find_element(By.ID, "slice-label").text
    assert f"Axial slice {start} of" in label_before

    for _ in range(6):  # towards superior, past the tumor's last slice
        slider.send_keys(Keys.ARROW_RIGHT)
    moved = str(int(start) + 6)
    wait.until(lambda d: _shown_slice(d) == moved)
    assert slider.get_attribute("value") == moved
    assert browser.find_element(By.ID, "slice-label").text != label_before
    assert _canvas(browser) != before

    # a click on the tumor row brings its slice back
    browser.find_element(By.CSS_SELECTOR, "#tumors tr.tumor").click()
    wait.until(lambda d: _shown_slice(d) == start)
    assert _canvas(browser) == before

    # everything came from the file itself; the page ran without script errors
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('data:'))"
    )
    assert fetched == []
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    # the radiomics panel shows, its link holds the whole CSV under the case's file name
    assert browser.find_element(By.ID, "radiomics").is_displayed()
    link = browser.find_element(By.ID, "radiomics-csv")
    assert link.get_attribute("download") == "c_radiomics.csv"
    assert link.get_attribute("href").startswith("data:text/csv;base64,")
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:4] == b"\x89PNG"
