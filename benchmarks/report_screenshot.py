"""Open a LungNet HTML report in headless Chromium, move the slice slider, save a screenshot.

    python benchmarks/report_screenshot.py REPORT.html OUT.png [--slices N]

--slices N presses the right (N > 0) or left (N < 0) arrow key N times on the slider
first. Needs the Debian packages chromium and chromium-driver and the selenium package
(the dev extra); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--slices", type=int, default=0)
    args = parser.parse_args()

    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,1300",
        f"--user-data-dir={tempfile.mkdtemp()}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService("/usr/bin/chromedriver")
    )
    try:
        driver.get(args.html.resolve().as_uri())
        slider = driver.find_element(By.ID, "slice")
        key = Keys.ARROW_RIGHT if args.slices > 0 else Keys.ARROW_LEFT
        for _ in range(abs(args.slices)):
            slider.send_keys(key)
        wanted = slider.get_attribute("value")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            shown = driver.execute_script("return document.getElementById('view').dataset.slice")
            if shown == wanted:
                break
            time.sleep(0.05)
        args.png.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(args.png))
        print(f"slice {wanted} shown; wrote {args.png}")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
