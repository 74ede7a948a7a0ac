"""The README's screenshots, taken by a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium): docs/screenshot-report.png, the top of `callgraph report`
of the demo; docs/screenshot-call.png, the graph view of the demo's queue-transfer call
in Neo4j Browser with callgraph's :style applied; docs/screenshot-guide.png, the investigation
guide that the local server (scripts/neo4j) opens on connect, at its "which relay" step. Run by
scripts/screenshots, which loads the demo first; the connection comes from NEO4J_URI,
NEO4J_USERNAME, NEO4J_PASSWORD and NEO4J_HTTP_PORT.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from loader.queries.browser import browser_base, link
from loader.queries.guide import GUIDE_FILE
from loader.queries.style import style_command

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
CALLGRAPH = str(Path(sys.executable).parent / "callgraph")
CALL_ID = "0de00000-0000-4000-8000-000000000001"  # the demo's call through the auto attendant and the queue
CALL_GRAPH = (f"MATCH p = (:CallRecord {{id: '{CALL_ID}'}})-[:CONTAINS]->(:Session)-[:CONTAINS]->(:Segment)"
              "-[:CALLER|CALLEE|USED_RELAY]->() RETURN p")
WAIT = 120


def chromium(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)


def report_shot(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        subprocess.run([CALLGRAPH, "report", "--out", str(page_file)], check=True)
        driver = chromium(1300, 1700)
        try:
            driver.get(page_file.as_uri())
            WebDriverWait(driver, WAIT).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "svg.main-svg")) >= 6)
            time.sleep(1)  # plotly's transitions
            driver.save_screenshot(str(out))
        finally:
            driver.quit()


def frame_of(driver, command_start: str):
    for frame in driver.find_elements(By.CSS_SELECTOR, "[data-testid=frame]"):
        commands = frame.find_elements(By.CSS_SELECTOR, "[data-testid=frameCommand]")
        if commands and commands[0].text.startswith(command_start):
            return frame
    return None


def connect(driver, wait, text: str) -> str:
    """Open a `callgraph browser` link that puts ``text`` in the editor, connect, and hide
    Browser's usage-data notice; the Browser base URL."""
    uri = os.environ.get("NEO4J_URI", "neo4j://127.0.0.1:7687")
    user, password = os.environ.get("NEO4J_USERNAME", "neo4j"), os.environ.get("NEO4J_PASSWORD", "callgraph-dev")
    base = browser_base(None, uri, int(os.environ.get("NEO4J_HTTP_PORT", "7474")))
    database = os.environ.get("NEO4J_DATABASE", "neo4j")
    # the link fills the connect form and puts the query in the editor
    driver.get(link(base, uri, user, database, text))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=password]"))[0].send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "[data-testid=connect]").click()
    wait.until(lambda d: "Connected to Neo4j" in (frame_of(d, ":server connect") or d).text)
    for close in driver.find_elements(By.XPATH, "//*[contains(text(), 'To help make Neo4j Browser better')]"
                                                "/ancestor::*[.//button or .//*[@role='button']][1]"
                                                "//*[self::button or @role='button' or name()='svg'][last()]"):
        close.click()  # Browser's usage-data notice, out of the picture
        break
    return base


def guide_shot(out: Path) -> None:
    driver = chromium(1400, 1600)
    wait = WebDriverWait(driver, WAIT)
    try:
        base = connect(driver, wait, "")
        guide = wait.until(lambda d: frame_of(d, f":play {base}/browser/{GUIDE_FILE}"))
        for _ in range(2):  # to slide 3: "2. Which relay, building, gateway?"
            wait.until(lambda d: guide.find_elements(By.CSS_SELECTOR, "[data-testid=nextSlide]"))[0].click()
        wait.until(lambda d: "2. Which relay" in guide.text)
        time.sleep(1)
        guide.screenshot(str(out))
    finally:
        driver.quit()


def call_shot(out: Path) -> None:
    driver = chromium(1400, 1000)
    wait = WebDriverWait(driver, WAIT)
    try:
        connect(driver, wait, CALL_GRAPH)
        # first the :style line printed by `callgraph browser`, typed over the editor's text as a user
        # of any server would paste it (its closing brackets and quotes overtype the editor's own)
        editor = driver.find_element(By.CSS_SELECTOR, ".monaco-editor textarea")
        editor.send_keys(Keys.CONTROL, "a")
        editor.send_keys(style_command())
        driver.find_element(By.CSS_SELECTOR, "[data-testid=editor-Run]").click()
        style = wait.until(lambda d: frame_of(d, ":style"))
        if "Error" in style.text:
            raise SystemExit(f"screenshots: Browser refused the :style line: {style.text[:200]}")
        editor.send_keys(CALL_GRAPH)
        driver.find_element(By.CSS_SELECTOR, "[data-testid=editor-Run]").click()
        frame = wait.until(lambda d: frame_of(d, "MATCH p"))
        wait.until(lambda d: len(frame.find_elements(By.CSS_SELECTOR, "svg g.node")) > 5)
        time.sleep(8)  # the force layout settles
        driver.save_screenshot(str(out))
    finally:
        driver.quit()


if __name__ == "__main__":
    report_shot(DOCS / "screenshot-report.png")
    call_shot(DOCS / "screenshot-call.png")
    guide_shot(DOCS / "screenshot-guide.png")
    print(f"wrote {', '.join(str(DOCS / f'screenshot-{n}.png') for n in ('report', 'call', 'guide'))}", file=sys.stderr)
