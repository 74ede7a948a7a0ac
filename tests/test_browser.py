"""A real Neo4j Browser in a real (headless) Chromium, against the test server.

The user story: `callgraph browser` prints a link; opened, it fills the connect form; the user
types the password and runs the query that is already in the editor; the result table shows
the bad relay of the demo tenant on top. And `callgraph report` writes a file that, opened from
disk with no network, draws its charts without a script error. Chromium and its driver are Debian's (`.ci/run` installs them);
without them the tests are skipped with the reason. A failing test leaves a screenshot in
test-output/screenshots/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import AS_OF, HTTP_PORT, REPO
from loader import demo as tenant
from loader.cli import main
from loader.ingest.files import Item
from loader.places.files import read_building_file
from loader.queries.browser import statement
from loader.queries.saved import load_all
from loader.queries.style import style_json
from loader.store.load import load_records
from loader.store.places import replace_map

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[test])")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

SCREENSHOTS = REPO / "test-output" / "screenshots"
WAIT = 120  # seconds: Browser on a busy two-core machine is slow to connect
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does it)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for driver.get_log
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1200"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(chromium, request):
    """The browser; a screenshot of it when the test fails."""
    yield chromium
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        chromium.save_screenshot(str(SCREENSHOTS / f"{request.node.name}.png"))


@pytest.fixture(scope="module")
def demo(_session_graph, tmp_path_factory):
    with _session_graph.session() as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    buildings = tmp_path_factory.mktemp("demo") / "buildings.csv"
    buildings.write_text(tenant.BUILDING_FILE, encoding="utf-8")
    replace_map(_session_graph, read_building_file(str(buildings)))
    records = tenant.generate(300, seed=1, as_of=AS_OF)
    load_records(_session_graph, (Item(f"gen:{i}", record=r) for i, r in enumerate(records)))
    return _session_graph


def links(server) -> dict[str, str]:
    result = CliRunner().invoke(main, ["browser", "--uri", server.uri, "--http-port", str(HTTP_PORT)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    return {line.split(":")[0]: lines[i + 1].strip() for i, line in enumerate(lines)
            if i + 1 < len(lines) and "/browser/?" in lines[i + 1]}


def frames(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "[data-testid=frame]")


def frame_of(driver, command_start: str):
    for frame in frames(driver):
        commands = frame.find_elements(By.CSS_SELECTOR, "[data-testid=frameCommand]")
        if commands and commands[0].text.startswith(command_start):
            return frame
    return None


def table_rows(frame) -> list[list[str]]:
    rows = frame.find_elements(By.CSS_SELECTOR, "[role=row]")
    return [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "[role=cell], [role=columnheader]")]
            for row in rows]


def test_a_browser_link_connects_runs_the_saved_query_and_shows_the_bad_relay_on_top(page, demo, neo4j_server):
    link = links(neo4j_server)["shared-relays"]
    assert f"http://127.0.0.1:{HTTP_PORT}/browser/?" in link
    page.get(link)
    wait = WebDriverWait(page, WAIT)
    password = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=password]"))[0]
    assert page.find_element(By.CSS_SELECTOR, "[data-testid=username]").get_attribute("value") == "neo4j"
    password.send_keys(neo4j_server.password)
    page.find_element(By.CSS_SELECTOR, "[data-testid=connect]").click()
    wait.until(lambda d: "Connected to Neo4j" in (frame_of(d, ":server connect") or d).text)
    page.find_element(By.CSS_SELECTOR, "[data-testid=editor-Run]").click()
    frame = wait.until(lambda d: frame_of(d, "// shared-relays"))
    rows = wait.until(lambda d: table_rows(frame) if len(table_rows(frame)) > 1 else None)
    assert rows[0][:3] == ["relayIp", "calls", "users"]
    assert rows[1][0] == f'"{tenant.BAD_RELAY}"'


def test_connecting_applies_the_style_and_opens_the_investigation_guide_whose_queries_click_into_the_editor(
        page, demo, neo4j_server):
    link = links(neo4j_server)["call-path"]
    page.get(link)
    page.execute_script("window.localStorage.clear()")  # a first visit: no stored connection, no style
    page.get(link)
    wait = WebDriverWait(page, WAIT)
    password = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=password]"))[0]
    password.send_keys(neo4j_server.password)
    page.find_element(By.CSS_SELECTOR, "[data-testid=connect]").click()
    # the server's browser.post_connect_cmd: the style sheet, then the guide the server serves
    guide = wait.until(lambda d: frame_of(d, f":play http://127.0.0.1:{HTTP_PORT}/browser/callgraph-guide.html"))
    wait.until(lambda d: "Investigating Teams calls with callgraph" in guide.text)
    assert "1 / 5" in guide.text
    assert "1. Where is it bad?" in guide.text and "4. One call's path" in guide.text
    style = wait.until(lambda d: d.execute_script("return window.localStorage.getItem('neo4j.grass')"))
    assert json.loads(style) == json.loads(style_json())
    assert frame_of(page, ':style {"node":')
    # slide 3, "Which relay, building, gateway?": a click puts shared-relays in the editor, ready to run
    for _ in range(2):
        guide.find_element(By.CSS_SELECTOR, "[data-testid=nextSlide]").click()
    wait.until(lambda d: "2. Which relay, building, gateway?" in guide.text)
    blocks = guide.find_elements(By.CSS_SELECTOR, "pre.runnable")
    assert [b.get_attribute("textContent").strip() for b in blocks] == [statement(load_all()[n]).strip()
                                                for n in ("shared-relays", "relay-timeline", "building-pairs", "gateway-health")]
    blocks[0].click()
    wait.until(lambda d: "// shared-relays:" in d.find_element(By.CSS_SELECTOR, "[data-testid=activeEditor]").text)
    page.find_element(By.CSS_SELECTOR, "[data-testid=editor-Run]").click()
    frame = wait.until(lambda d: frame_of(d, "// shared-relays"))
    rows = wait.until(lambda d: table_rows(frame) if len(table_rows(frame)) > 1 else None)
    assert rows[1][0] == f'"{tenant.BAD_RELAY}"'


def test_the_report_opens_from_disk_and_draws_every_chart_without_a_script_error(page, demo, neo4j_server, tmp_path):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["report", "--out", str(out), "--uri", neo4j_server.uri,
                                       "--password", neo4j_server.password])
    assert result.exit_code == 0, result.output
    page.get_log("browser")  # what earlier pages logged (Browser's web fonts, offline here) is read and gone
    page.get(out.as_uri())
    wait = WebDriverWait(page, WAIT)
    charts = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".plotly-graph-div"))
    assert [c.get_attribute("id") for c in charts] == [
        "chart-daily", "chart-relay-timeline", "chart-relays", "chart-gateways", "chart-buildings", "chart-subnets",
        "chart-failures"]
    wait.until(lambda d: all(c.find_elements(By.CSS_SELECTOR, "svg.main-svg") for c in charts))
    # each chart drew its data: bars or line points
    assert all(c.find_elements(By.CSS_SELECTOR, "g.point, path.point") for c in charts)
    relays = page.find_elements(By.CSS_SELECTOR, "#table-shared-relays tbody tr")
    assert relays and relays[0].find_elements(By.TAG_NAME, "td")[0].text == tenant.BAD_RELAY
    buildings = page.find_elements(By.CSS_SELECTOR, "#table-poor-buildings tbody tr")
    assert buildings and buildings[0].find_elements(By.TAG_NAME, "td")[0].text == tenant.BAD_BUILDING
    for name in ("gateway-health", "poor-subnets", "failures", "reliability"):
        assert page.find_elements(By.CSS_SELECTOR, f"#table-{name} tbody tr"), name
    assert page.find_elements(By.CSS_SELECTOR, "#pstn-paths .path .party")
    severe = [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
