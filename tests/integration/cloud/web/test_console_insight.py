"""Line status, KPI dashboard and audit trail viewer on both databases, checked against what
was ingested: the story, one held unit, one unreadable label, a lost event, a closed CAPA."""

from __future__ import annotations

import datetime as dt
import re

from access_helpers import PASSWORD
from cloud_helpers import Device
from console_helpers import LogIn
from issue8_scenario import CATHETER, Story
from sqlalchemy import update
from status_helpers import status_of, topic_of

from cloud.db.database import Database
from cloud.domain.audit.models import AuditEntry
from cloud.domain.auth.principal import Principal
from cloud.domain.auth.services import AuthService
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.domain.fleet.checks import StatusReceipt
from cloud.domain.fleet.store import StatusStore
from cloud.domain.quality.schemas import CapaIn
from cloud.domain.quality.services import QualityService
from cloud.domain.signatures.schemas import SignIn
from cloud.domain.signatures.services import SignatureService
from cloud.settings import Settings
from protocols.events import UnitInspected
from protocols.parts import Read, Reason


async def line_trouble(db: Database, plant: dict[str, Device], settings: Settings) -> None:
    """At sealing: a held unit, a label that read as no UDI (held), and one event lost on the
    way (its seq skipped) before the last one."""
    sealing = plant["sealing"]
    sealed = [sealing.inspected("CA9", decision="hold", seal_temp=195.0, lot="C1", di=CATHETER)]
    sealed.append(
        sealing.seal(
            UnitInspected,
            reads=(
                Read(
                    text="garbled",
                    symbology_id="]d2",
                    source="scanner",
                    source_name="scanner-1",
                    read_at=dt.datetime.now(dt.UTC),
                ),
            ),
            decision="hold",
            reasons=(Reason(code="udi.invalid", text="no valid UDI in the reads"),),
            ruleset_version="r1",
        )
    )
    sealing.inspected("CA10", lot="C1", di=CATHETER)  # lost: never ingested
    sealed.append(sealing.inspected("CA11", lot="C1", di=CATHETER))
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    result = await ingest.ingest(
        [Incoming(data, sealing.topic(settings.topic_prefix), now, "mqtt") for _, data in sealed]
    )
    assert {o.status for o in result.outcomes} == {"stored"}


async def closed_capa(db: Database) -> None:
    quality = QualityService(db, SignatureService(db, AuthService(db)))
    quinn = Principal(kind="user", name="quinn", roles=frozenset({"quality"}))
    capa = await quality.open_capa(quinn, CapaIn(title="Seal temperature drift"))
    await quality.close_capa(
        quinn,
        capa.number,
        SignIn(meaning="reviewed and closed", reason="fixed", username="quinn", password=PASSWORD),
    )


async def agents_report(db: Database, plant: dict[str, Device], settings: Settings) -> None:
    """Statuses as the status consumer stores them: sealing online with a backlog and a
    scanner down, assembly silent for an hour, packing on another config, receiving
    offline, shipping never heard."""
    store = StatusStore(
        db,
        topic_prefix=settings.topic_prefix,
        accept_unknown_devices=False,
        max_bytes=settings.max_event_bytes,
        dead_letter_keep_bytes=settings.dead_letter_keep_bytes,
    )
    now = dt.datetime.now(dt.UTC)
    hour_ago = now - dt.timedelta(hours=1)
    reports = [
        (plant["sealing"], status_of(plant["sealing"], depth=42, oldest_s=17.5), now),
        (plant["assembly"], status_of(plant["assembly"], occurred_at=hour_ago), hour_ago),
        (plant["packing"], status_of(plant["packing"], config="cfg-2"), now),
        (plant["receiving"], status_of(plant["receiving"], online=False), now),
    ]
    result = await store.record(
        [
            StatusReceipt(Incoming(data, topic_of(d, settings.topic_prefix), at, "mqtt"), False)
            for d, data, at in reports
        ]
    )
    assert (result.stored, result.refused) == (4, 0)


def agent_row(html: str, device_id: str) -> str:
    return html[html.index(f'id="agent-{device_id}"') :].split("</tr>")[0]


async def test_line_status_shows_each_agent_its_links_outbox_and_config(
    story: Story, db: Database, plant: dict[str, Device], settings: Settings, login: LogIn
) -> None:
    await line_trouble(db, plant, settings)
    await agents_report(db, plant, settings)
    web = await login("operator")
    response = await web.get("/console/lines")
    assert response.status_code == 200
    html = response.text
    # This test's service runs no status consumer: the page says where the states come from.
    assert "runs no status consumer" in html
    assert "The agents of this line run different configs" in html
    assert "<code>cfg-2</code> on edge-packing" in html
    sealing = agent_row(html, "edge-sealing")
    assert '<span class="badge online">online</span>' in sealing
    assert "42 unsent" in sealing and "oldest 17.5\N{NO-BREAK SPACE}s" in sealing
    assert '<span class="badge ok">plc up</span>' in sealing
    assert '<span class="badge bad">scanner-1 down</span>' in sealing and "no reply" in sealing
    assert "camera-1 unknown" in sealing
    assert "v1.4.2" in sealing and "<code>cfg-1</code>" in sealing and "differs" not in sealing
    # From its events: the lost event, the last decisions.
    assert "1 missing in 1 gap(s)" in sealing
    assert "CA11" in sealing and "no UDI read" in sealing and "udi.invalid" in sealing
    assert '<span class="badge warn">silent</span>' in agent_row(html, "edge-assembly")
    packing = agent_row(html, "edge-packing")
    assert "online" in packing and '<span class="badge warn">differs</span>' in packing
    assert "0 unsent" in packing
    receiving = agent_row(html, "edge-receiving")
    assert '<span class="badge offline">offline</span>' in receiving
    assert "no inspection" in receiving
    shipping = agent_row(html, "edge-shipping")
    assert ">unknown</span>" in shipping and "heard" not in shipping
    # The tiles: 2 online, 1 silent, 1 offline, 1 unknown.
    tiles = re.findall(r'<div class="tile"><b>(\d+)</b><span><span class="badge[^"]*">(\w+)', html)
    assert tiles == [("2", "online"), ("1", "silent"), ("1", "offline"), ("1", "unknown")]


def bar(html: str, label: str) -> str:
    """The value text after a chart bar's label."""
    found = re.search(rf">{re.escape(label)}</text>.*?<text [^>]*>([^<]+)</text>", html, flags=re.S)
    assert found, f"no bar {label!r}"
    return found.group(1)


async def test_the_dashboard_measures_the_period(
    story: Story,
    db: Database,
    plant: dict[str, Device],
    settings: Settings,
    users: dict[str, str],
    login: LogIn,
) -> None:
    await line_trouble(db, plant, settings)
    await closed_capa(db)
    web = await login("auditor")
    response = await web.get("/console/dashboard", params={"days": 1})
    assert response.status_code == 200, response.text
    html = response.text
    # sealing: 6 story catheters + CA9 + the garbled label + CA11 = 9 inspections, 8 with a UDI
    assert bar(html, "line-1/sealing") == "88.9 %  8 of 9"
    assert bar(html, "line-1/packing") == "100.0 %  5 of 5"
    # holds: one out of limits, one unreadable, of 14 inspections in all
    assert bar(html, "param.out_of_limits") == "7.1 %  1 of 14"
    assert bar(html, "no valid UDI read") == "7.1 %  1 of 14"
    # one event of edge-sealing's 10 (9 received + 1 missing) never arrived
    assert bar(html, "edge-sealing") == "10.0 %  1 of 10"
    assert "backward" in html and "forward from a lot" in html
    assert "CAPA closure, median days (1 of 1 closed)" in html
    empty = await web.get("/console/dashboard", params={"start": "2020-01-01", "end": "2020-01-31"})
    assert "No data in this period." in empty.text
    bad = await web.get("/console/dashboard", params={"start": "2020-02-01", "end": "2020-01-01"})
    assert bad.status_code == 422


async def test_the_audit_viewer_shows_entries_and_a_broken_chain(
    story: Story, db: Database, plant: dict[str, Device], settings: Settings, login: LogIn
) -> None:
    await closed_capa(db)
    web = await login("auditor")
    response = await web.get("/console/audit")
    assert response.status_code == 200
    assert "Chain verified" in response.text
    assert "capas" in response.text and "quinn" in response.text
    with_devices = await web.get("/console/audit", params={"devices": "true"})
    assert "device chain(s)" in with_devices.text
    async with db.engine.begin() as connection:
        await connection.execute(
            update(AuditEntry).where(AuditEntry.seq == 1).values(actor="mallory")
        )
    broken = await web.get("/console/audit")
    assert "Chain broken" in broken.text and "altered" in broken.text
    operator = await login("operator")
    refused = await operator.get("/console/audit")
    assert refused.status_code == 403
