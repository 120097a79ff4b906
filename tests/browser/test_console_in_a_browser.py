"""The console in headless Chromium against the real service on PostgreSQL and on SQLite:
log in, search a UDI, open the unit and its genealogy, run a recall scope and freeze it,
sign a release, see the dashboard; the agents on the line status page; then every page at
a laptop and a tablet width.

Each page is saved as a screenshot under `test-output/screenshots/<db>/`, and its load
time is written to `test-output/page-times-<db>.txt` (a log, not an assertion: the machine
is shared and loaded).
"""

from __future__ import annotations

import re
from pathlib import Path

from access_helpers import PASSWORD
from issue8_scenario import KIT, TUBING, tell
from live_service import LiveService, plant_devices
from playwright.sync_api import Browser, Page, expect

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
"""Where screenshots and page-load logs go (as in conftest; not imported from it: a test
directory's `conftest` module name is shared by every test directory)."""

LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
NAVIGATION = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return [n.responseEnd - n.requestStart, n.loadEventEnd - n.startTime];
}"""


def log_in(page: Page, service: LiveService, username: str = "quinn") -> None:
    page.goto(f"{service.url}/console/search")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{service.url}/console/search")


def shoot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_the_quality_engineers_journey(
    service: LiveService, browser: Browser, screenshots: Path
) -> None:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, service)
    shoot(page, screenshots, "01-search")

    # Search a UDI as a scanner types it (GS1 element string, GS written as \x1d).
    page.get_by_label("UDI, serial, lot or SSCC").fill(f"01{KIT}10K1\\x1d21KIT2")
    page.get_by_label("UDI, serial, lot or SSCC").press("Enter")
    expect(page).to_have_url(re.compile(r"/console/unit\?id="))
    expect(page.locator("h1")).to_contain_text(f"(01){KIT}(10)K1(21)KIT2")
    expect(page.locator("ol.timeline > li").first).to_be_visible()
    expect(page.locator("svg.graph")).to_be_visible()
    shoot(page, screenshots, "02-unit")

    # Its genealogy: full view, then follow a node of the graph down to a catheter.
    page.get_by_role("link", name="open full view").click()
    expect(page).to_have_url(re.compile(r"/console/genealogy\?id="))
    below = tell(plant_devices()).model.ancestors(("unit", KIT, "KIT2"))
    expect(page.locator("svg.graph a")).to_have_count(1 + len(below))
    shoot(page, screenshots, "03-genealogy")
    page.locator("svg.graph a", has_text="CA2").click()
    expect(page.locator("h1")).to_contain_text("(21)CA2")

    # A recall scope on a tubing lot: preview, then freeze (quarantines in-house units).
    page.get_by_role("link", name="Recalls").click()
    page.get_by_label("Lots").fill(f"{TUBING} TUBE-A1")
    page.get_by_role("button", name="Preview impact").click()
    expect(page.locator(".tile", has_text="end units affected")).to_contain_text("3")
    shoot(page, screenshots, "04-recall-preview")
    page.get_by_label("Title").fill("Tubing lot TUBE-A1")
    page.get_by_label("Reason", exact=True).fill("kink risk found in retained samples")
    page.get_by_role("button", name="Freeze and quarantine").click()
    expect(page).to_have_url(re.compile(r"/console/recalls/R\d+$"))
    expect(page.locator(".tile", has_text="units frozen")).to_contain_text("3")
    page.get_by_role("button", name="Send notices to all not yet notified").click()
    expect(page.get_by_text("Urgent medical device recall").first).to_be_visible()
    shoot(page, screenshots, "05-recall-cockpit")

    # Sign a release of the catheter held at sealing.
    page.get_by_role("link", name="Holds").click()
    page.locator("tr", has_text="CA9").get_by_role("link", name="Sign…").click()
    page.get_by_label("Decision").select_option("release")
    expect(page.get_by_label("Meaning of the signature")).to_have_value("approved for release")
    page.get_by_label("Reason").fill("seal re-tested within limits")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Signed: disposition")
    expect(page.locator("h1")).to_contain_text("closed")
    shoot(page, screenshots, "06-hold-signed")

    # The dashboard.
    page.get_by_role("link", name="KPIs").click()
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator(".tile", has_text="CAPA closure")).to_contain_text("(1 of 1 closed)")
    shoot(page, screenshots, "07-dashboard")
    context.close()


def test_line_status_shows_every_agent(
    service: LiveService, browser: Browser, screenshots: Path
) -> None:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    log_in(page, service, "olga")
    page.goto(f"{service.url}/console/lines")
    expect(page.locator("h1")).to_have_text("Line status")

    def state(device_id: str) -> str:
        return page.locator(f"#agent-{device_id} td").nth(1).locator(".badge").inner_text()

    assert [state(f"edge-{cp}") for cp in plant_devices()] == [
        "offline",  # receiving
        "online",  # sealing
        "silent",  # assembly
        "online",  # packing
        "unknown",  # shipping
    ]
    sealing = page.locator("#agent-edge-sealing")
    expect(sealing).to_contain_text("42 unsent")
    expect(sealing).to_contain_text("scanner-1 down")
    expect(page.locator("#agent-edge-packing")).to_contain_text("differs")
    expect(page.locator(".notice.warn")).to_contain_text("run different configs")
    shoot(page, screenshots, "08-lines")
    context.close()


def pages_of(page: Page, service: LiveService) -> dict[str, str]:
    """Every kind of console page, with real identifiers found by following the console."""
    base = f"{service.url}/console"
    found = {
        "search": f"{base}/search?q=CA",
        "unit": f"{base}/unit?id=({'01'}){KIT}(10)K1(21)KIT2".replace("(01)", "%2801%29"),
        "genealogy": f"{base}/genealogy?id={KIT}:KIT2",
        "lot": f"{base}/lot?di={TUBING}&lot=TUBE-A",
        "holds": f"{base}/holds?status=all",
        "recalls": f"{base}/recalls",
        "lines": f"{base}/lines",
        "dashboard": f"{base}/dashboard?days=7",
        "audit": f"{base}/audit",
    }
    page.goto(found["holds"])
    hold = page.locator("table a[href*='/console/holds/H']").first
    if hold.count():
        found["hold"] = service.url + str(hold.get_attribute("href"))
    page.goto(found["recalls"])
    recall = page.locator("table a[href*='/console/recalls/R']").first
    if recall.count():
        found["recall"] = service.url + str(recall.get_attribute("href"))
    page.goto(found["unit"])
    box = page.locator("a[href*='/console/container?sscc=']").first
    found["container"] = service.url + str(box.get_attribute("href"))
    return found


def test_every_page_fits_a_laptop_and_a_tablet(
    service: LiveService, browser: Browser, screenshots: Path
) -> None:
    db = screenshots.name
    lines = [f"# page load times on {db} (ms): server response, full load; width"]
    for name, viewport in (("laptop", LAPTOP), ("tablet", TABLET)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        log_in(page, service, "aldo")
        folder = screenshots / name
        folder.mkdir(exist_ok=True)
        for key, url in pages_of(page, service).items():
            response = page.goto(url)
            assert response is not None and response.status == 200, (key, url)
            response_ms, load_ms = page.evaluate(NAVIGATION)
            lines.append(f"{key:10s} {response_ms:7.1f} {load_ms:7.1f}  {viewport['width']}")
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 1, f"{key} at {viewport['width']} px is {overflow} px too wide"
            shoot(page, folder, key)
        context.close()
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / f"page-times-{db}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
