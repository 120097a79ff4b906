"""Trace pages on both databases: search in every identifier form, the unit's history record,
its genealogy both ways, a lot and a container; each answer checked against the story's model."""

from __future__ import annotations

import re
from urllib.parse import quote

from console_helpers import LogIn
from issue8_scenario import CASE3, CATHETER, KIT, PALLET1, TUBESET, TUBING, Story


def links(html: str, kind: str) -> set[str]:
    """The identifiers a page links to, of one kind (`unit`, `lot`, `container`)."""
    return set(re.findall(rf'href="/console/{kind}\?[^"]*"', html))


async def test_search_opens_the_unit_for_every_form_of_its_udi(story: Story, login: LogIn) -> None:
    web = await login("auditor")
    forms = [
        f"(01){KIT}(10)K1(21)KIT2",
        f"01{KIT}10K1\\x1d21KIT2",
        f"]d201{KIT}10K1\x1d21KIT2",
        f"https://id.gs1.org/01/{KIT}/10/K1/21/KIT2",
        f"{KIT}:KIT2",
    ]
    for text in forms:
        response = await web.get("/console/search", params={"q": text})
        assert response.status_code == 303, (text, response.text)
        assert response.headers["location"] == "/console/unit?id=" + quote(
            f"(01){KIT}(10)K1(21)KIT2", safe=""
        ), text


async def test_a_bare_serial_a_lot_and_an_sscc(story: Story, login: LogIn) -> None:
    web = await login("auditor")
    serial = await web.get("/console/search", params={"q": "CA3"})
    assert serial.status_code == 303
    assert serial.headers["location"].startswith("/console/unit?id=")
    lot = await web.get("/console/search", params={"q": "TUBE-A1"})
    assert lot.headers["location"] == f"/console/lot?di={TUBING}&lot=TUBE-A1"
    box = await web.get("/console/search", params={"q": f"(00){PALLET1}"})
    assert box.headers["location"] == f"/console/container?sscc={PALLET1}"
    nothing = await web.get("/console/search", params={"q": "NOPE-42"})
    assert nothing.status_code == 200
    assert "no unit, lot or container is called &#39;NOPE-42&#39;" in nothing.text


async def test_the_unit_page_is_the_history_record(story: Story, login: LogIn) -> None:
    web = await login("auditor")
    response = await web.get("/console/unit", params={"id": f"{CATHETER}:CA2"})
    assert response.status_code == 200, response.text
    html = response.text
    # The sealing decision with its parameters against the limits (seal_temp 186.5 in 170-190).
    assert "unit.inspected" in html and "sealing" in html
    assert "186.5 degC" in html and "170 – 190" in html
    assert "out of limits" not in html
    # Genealogy both ways: the tube set and its lots below, the kit it went into above.
    assert "<svg" in html
    model = story.model
    below = model.ancestors(("unit", CATHETER, "CA2"))
    above = model.descendants(("unit", CATHETER, "CA2"))
    units_linked = links(html, "unit")
    for node in below | above:
        if node[0] == "unit":
            assert any(node[2] in link for link in units_linked), node
    lots_linked = links(html, "lot")
    for node in below:
        if node[0] == "lot":
            assert any(f"lot={node[2]}" in link for link in lots_linked), node
    assert ("unit", KIT, "KIT2") in above


async def test_the_genealogy_page_lists_every_level(story: Story, login: LogIn) -> None:
    web = await login("operator")
    response = await web.get("/console/genealogy", params={"id": f"{KIT}:KIT2"})
    assert response.status_code == 200
    depths = story.model.depths(("unit", KIT, "KIT2"))
    rows = re.findall(r'<td class="num">(\d+)</td><td>(unit|lot)</td>', response.text)
    assert sorted(int(d) for d, _ in rows) == sorted(depths.values())
    assert "4 levels down" in response.text  # supplier lots under the split and the merge


async def test_the_lot_page_shows_where_the_lot_went(story: Story, login: LogIn) -> None:
    web = await login("operator")
    response = await web.get("/console/lot", params={"di": TUBING, "lot": "TUBE-A1"})
    assert response.status_code == 200
    made = story.model.descendants(("lot", TUBING, "TUBE-A1"))
    assert f"<b>{len(made)}</b><span>units contain it</span>" in response.text
    for _, _, serial in made:
        assert serial in response.text
    received = await web.get("/console/lot", params={"di": TUBING, "lot": "TUBE-A"})
    assert "Tubing Ltd" in received.text and "accepted" in received.text
    missing = await web.get("/console/lot", params={"di": TUBESET, "lot": "NOPE"})
    assert missing.status_code == 404
    assert "not found" in missing.text


async def test_the_container_page_shows_its_contents_and_shipment(
    story: Story, login: LogIn
) -> None:
    web = await login("operator")
    response = await web.get("/console/container", params={"sscc": PALLET1})
    assert response.status_code == 200
    inside = {
        u
        for u, c in story.model.container_of.items()
        if story.model.parent_container.get(c) == PALLET1
    }
    for _, _, serial in inside:
        assert serial in response.text
    assert "SHP-1" in response.text and "St. Elsewhere Hospital" in response.text
    case = await web.get("/console/container", params={"sscc": CASE3})
    assert "KIT2" in case.text


async def test_an_unreadable_id_is_a_page_naming_the_problem(story: Story, login: LogIn) -> None:
    web = await login("operator")
    response = await web.get("/console/unit", params={"id": "(01)123"})
    assert response.status_code == 422
    assert "expected a UDI" in response.text
