"""Screenshots of a report's sections for the README, taken in headless chromium.

make demo                                             # writes demo-report.html (a SparkTrials run)
.venv/bin/python docs/images/capture.py demo-report.html docs/images
PARZEN_SCREENSHOTS=docs/images .venv/bin/python -m pytest tests/plotting/test_dashboard.py   # dashboard.png
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
ARGS += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECTIONS = ["history", "timeline", "importance", "contour", "slice", "parallel"]


def capture(report: Path, folder: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(report.resolve().as_uri())
        page.wait_for_selector("#parallel .js-plotly-plot")
        page.screenshot(path=str(folder / "report.png"))
        for key in SECTIONS:
            page.locator(f"#{key}").screenshot(path=str(folder / f"{key}.png"))
        browser.close()


if __name__ == "__main__":
    capture(Path(sys.argv[1]), Path(sys.argv[2]))
