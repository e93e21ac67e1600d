"""The HTML report in a real headless Chromium (Debian's chromium + chromium-driver, driven by
selenium): the seed-nat report, made by running playbooks/seed-nat.yml on the sim backend, loads
from a file:// URL with no console errors, its heatmaps have the cells and outcome classes of the
JSON report, a click or Enter on a cell fills the details panel, it is usable on a phone, and a
screenshot is kept in tests/report/artifacts/ (gitignored) to look at.

Skips without chromium, chromedriver or selenium; fails under CI=true (tests.conftest.require).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from labkit.report.as_html import write_html
from tests.conftest import require
from tests.e2e.test_playbooks import labkit
from tests.report.test_html import EVIL, make_run

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,800"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    require(os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK),
            "Debian's chromium and chromium-driver are not installed (make lab-deps, as root)")
    require(importlib.util.find_spec("selenium") is not None, "selenium is not installed (pip install -e '.[test]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def seed_nat(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("html")
    proc = labkit("run", "playbooks/seed-nat.yml", "--html", str(out / "seed-nat.html"), "--json", str(out / "r.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / "seed-nat.html", json.loads((out / "r.json").read_text())


def severe(driver: WebDriver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def open_page(driver: WebDriver, path: Path, width: int = 1280, height: int = 800) -> None:
    """Load a page with an empty console log: what severe() sees after this is this page's own."""
    driver.get_log("browser")
    driver.set_window_size(width, height)
    driver.get(path.resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def test_the_console_check_can_fail(browser, tmp_path):
    """The harness sees a console error when there is one: otherwise 'no errors' proves nothing."""
    page = tmp_path / "bad.html"
    page.write_text("<!doctype html><title>x</title><script>console.error('boom'); nosuch();</script>")
    open_page(browser, page)
    assert len(severe(browser)) == 2


def test_seed_nat_loads_without_console_errors_and_matches_the_json(browser, seed_nat):
    from selenium.webdriver.common.by import By

    path, report = seed_nat
    open_page(browser, path)
    assert severe(browser) == []

    tables = browser.find_elements(By.CSS_SELECTOR, "table.heatmap")
    assert len(tables) == len(report["matrices"]) == 3
    for table, matrix in zip(tables, report["matrices"], strict=True):
        buttons = table.find_elements(By.CSS_SELECTOR, "button.cell")
        assert len(buttons) == len(matrix["cells"])
        shown = Counter(c for b in buttons for c in b.get_attribute("class").split() if c.startswith("o-"))
        assert shown == Counter(f"o-{c['observed']}" for c in matrix["cells"])
        assert len(table.find_elements(By.CSS_SELECTOR, "button.cell.failed")) == 0
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert [r.find_element(By.CSS_SELECTOR, "th").text for r in rows] == matrix["sources"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.topology")) == 3
    assert "10.0.0.1 · OFF" in browser.find_elements(By.CSS_SELECTOR, "svg.topology")[1].text


def test_a_click_on_a_cell_shows_its_details(browser, seed_nat):
    from selenium.webdriver.common.by import By

    path, report = seed_nat
    open_page(browser, path)
    cell = next(c for c in report["matrices"][0]["cells"] if (c["source"], c["target"]) == ("win7", "internet"))
    button = browser.find_element(By.CSS_SELECTOR, 'button.cell[data-source="win7"][data-target="internet"]')
    panel = browser.find_element(By.ID, "d0")
    assert not panel.find_element(By.CSS_SELECTOR, ".d-body").is_displayed()
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    body = panel.find_element(By.CSS_SELECTOR, ".d-body")
    assert body.is_displayed() and button.get_attribute("aria-pressed") == "true"
    assert panel.find_element(By.CSS_SELECTOR, ".d-title").text == "win7 → internet"
    assert panel.find_element(By.CSS_SELECTOR, '[data-f="address"]').text == cell["address"] == "203.0.113.10"
    assert panel.find_element(By.CSS_SELECTOR, '[data-f="why"]').text == cell["expected_reason"]
    assert panel.find_element(By.CSS_SELECTOR, '[data-f="via"]').text.startswith(cell["via"])
    assert "As expected: reachable" in body.text
    assert not panel.find_element(By.CSS_SELECTOR, '[data-f="conflict"]').is_displayed()  # empty rows hidden
    assert severe(browser) == []
    browser.set_window_size(1280, 800)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "seed-nat.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_keyboard_moves_between_cells_and_enter_opens_one(browser, seed_nat):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, seed_nat[0])
    first = browser.find_element(By.ID, "m1-r0-c1")  # host -> host.nat, second matrix
    browser.execute_script("arguments[0].focus()", first)
    first.send_keys(Keys.ARROW_DOWN)  # win7 -> host.nat
    active = browser.switch_to.active_element
    assert (active.get_attribute("data-source"), active.get_attribute("data-target")) == ("win7", "host.nat")
    assert browser.find_element(By.ID, "tip").is_displayed()  # focus shows the short summary too
    active.send_keys(Keys.ENTER)
    panel = browser.find_element(By.ID, "d1")
    assert panel.find_element(By.CSS_SELECTOR, ".d-title").text == "win7 → host.nat"
    assert "unreachable" in panel.find_element(By.CSS_SELECTOR, '[data-f="outcome"]').text
    assert severe(browser) == []


def test_readable_on_a_phone(browser, seed_nat):
    """At 390 px the page itself never scrolls sideways: a wide heatmap scrolls inside its box."""
    from selenium.webdriver.common.by import By

    open_page(browser, seed_nat[0], 390, 844)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    button = browser.find_element(By.ID, "m0-r2-c4")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    panel = browser.find_element(By.ID, "d0")
    assert panel.find_element(By.CSS_SELECTOR, ".d-body").is_displayed()
    size = browser.execute_script("return parseFloat(getComputedStyle(arguments[0]).fontSize)", button)
    assert size >= 12
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "seed-nat-phone.png"))
    browser.set_window_size(1280, 800)


def test_hostile_names_stay_text_in_the_browser(browser, tmp_path):
    """A VM named <script>alert(1)</script> shows as that text: no dialog opens, nothing logs an error."""
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    path = tmp_path / "evil.html"
    write_html(make_run(), path)
    open_page(browser, path)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    heads = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "table.heatmap th.row")]
    assert EVIL in heads
    button = browser.find_element(By.CSS_SELECTOR, "button.cell.failed")
    button.click()
    assert browser.find_element(By.CSS_SELECTOR, "#d0 .d-title").text in (f"{EVIL} → router", f"win7 → {EVIL}")
    assert browser.execute_script("return document.scripts.length") == 1
    assert severe(browser) == []

