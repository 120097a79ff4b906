"""The recall cockpit on both databases: a scope previewed, frozen (in-house units held),
notices and an acknowledgement recorded, CSV exported; the counts come from the story's model."""

from __future__ import annotations

import csv
import io
import re

from console_helpers import LogIn, csrf_of
from issue8_scenario import TUBING, Story
from sqlalchemy import select

from cloud.db.database import Database
from cloud.domain.genealogy.models import Unit
from cloud.domain.recall.models import RecallRecipient


def tile(html: str, label: str) -> str:
    found = re.search(rf"<b>([^<]+)</b><span>{re.escape(label)}</span>", html)
    assert found, f"no tile {label!r}"
    return found.group(1)


async def test_scope_preview_freeze_notify_acknowledge_export(
    story: Story, login: LogIn, db: Database
) -> None:
    web = await login("quality")
    start = await web.get("/console/recalls", params={"lots": f"{TUBING} TUBE-A1"})
    assert f"{TUBING} TUBE-A1</textarea>" in start.text
    csrf = csrf_of(start.text)
    scope = {"csrf": csrf, "lots": f"{TUBING} TUBE-A1", "match": "any"}
    preview = await web.post("/console/recalls/preview", data=scope)
    assert preview.status_code == 200, preview.text
    expected = story.model.end_units([("lot", TUBING, "TUBE-A1")])
    assert tile(preview.text, "end units affected") == str(len(expected))
    assert "St. Elsewhere Hospital" in preview.text  # KIT1 went out on SHP-1
    assert "Freeze and quarantine" in preview.text

    created = await web.post(
        "/console/recalls",
        data=scope | {"title": "Tubing lot TUBE-A1", "reason": "kink risk", "mode": "recall"},
    )
    assert created.status_code == 303
    cockpit_url = created.headers["location"]
    cockpit = await web.get(cockpit_url)
    assert tile(cockpit.text, "units frozen") == str(len(expected))
    in_house = [u for u in expected if story.model.stage(u) in ("in_process", "in_stock")]
    assert tile(cockpit.text, "in-house units quarantined") == f"{len(in_house)} / {len(in_house)}"
    assert '<span class="badge intact">intact</span>' in cockpit.text
    async with db.sessions() as session:
        held = set((await session.scalars(select(Unit.serial).where(Unit.status == "held"))).all())
    assert held == {u[2] for u in in_house}

    notified = await web.post(f"{cockpit_url}/notices", data={"csrf": csrf})
    assert notified.status_code == 200
    assert "Urgent medical device recall" in notified.text
    async with db.sessions() as session:
        recipient = await session.scalar(select(RecallRecipient))
    assert recipient is not None and recipient.notice_sent_at is not None
    ack = await web.post(
        f"{cockpit_url}/recipients/{recipient.id}/acknowledge",
        data={"csrf": csrf, "acknowledged_by": "Dr. Who, materials", "note": "quarantined"},
    )
    assert ack.status_code == 303
    after = await web.get(cockpit_url)
    assert "Dr. Who, materials" in after.text
    assert tile(after.text, "effectiveness (acknowledged)").endswith(" %")

    exported = await web.get(f"{cockpit_url}/units.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["serial"] for r in rows} == {u[2] for u in expected}
    recipients = await web.get(f"{cockpit_url}/recipients.csv")
    assert "St. Elsewhere Hospital" in recipients.text


async def test_an_unreadable_scope_line_is_named(story: Story, login: LogIn) -> None:
    web = await login("quality")
    csrf = csrf_of((await web.get("/console/recalls")).text)
    response = await web.post(
        "/console/recalls/preview", data={"csrf": csrf, "lots": f"{TUBING}\n"}
    )
    assert response.status_code == 422
    assert "lots: line 1: expected &#39;DI LOT&#39;" in response.text
    empty = await web.post("/console/recalls/preview", data={"csrf": csrf})
    assert "give at least one lot" in empty.text


async def test_an_auditor_reads_recalls_but_cannot_scope_one(story: Story, login: LogIn) -> None:
    web = await login("auditor")
    page = await web.get("/console/recalls")
    assert page.status_code == 200 and "Preview impact" not in page.text
    refused = await web.post(
        "/console/recalls/preview", data={"csrf": csrf_of(page.text), "lots": f"{TUBING} X"}
    )
    assert refused.status_code == 403
