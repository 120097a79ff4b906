"""Holds in the console on both databases: the filtered list, and a release signed through the
e-signature flow (password entered again), refused for a wrong password or a wrong role."""

from __future__ import annotations

import datetime as dt

from access_helpers import PASSWORD
from cloud_helpers import Device
from console_helpers import LogIn, csrf_of
from issue8_scenario import CATHETER, Story
from sqlalchemy import select

from cloud.db.database import Database
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.domain.genealogy.models import Unit
from cloud.domain.holds.models import Disposition, Hold
from cloud.domain.signatures.models import Signature
from cloud.settings import Settings


async def held_catheter(db: Database, plant: dict[str, Device], settings: Settings) -> str:
    """A catheter the sealing checkpoint held (seal_temp 195 > 190); its hold's number."""
    sealing = plant["sealing"]
    _, data = sealing.inspected("CA9", decision="hold", seal_temp=195.0, lot="C1", di=CATHETER)
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    result = await ingest.ingest(
        [Incoming(data, sealing.topic(settings.topic_prefix), now, "mqtt")]
    )
    assert result.outcomes[0].status == "stored"
    async with db.sessions() as session:
        hold_id = await session.scalar(select(Hold.id).where(Hold.serial == "CA9"))
    assert hold_id is not None
    return f"H{hold_id}"


async def test_the_list_filters_by_checkpoint_and_reason(
    story: Story, db: Database, plant: dict[str, Device], settings: Settings, login: LogIn
) -> None:
    hold = await held_catheter(db, plant, settings)
    web = await login("operator")
    listed = await web.get("/console/holds")
    assert f">{hold}</a>" in listed.text and "plant-t/line-1/sealing" in listed.text
    by_reason = await web.get("/console/holds", params={"reason": "param.out_of_limits"})
    assert f">{hold}</a>" in by_reason.text
    elsewhere = await web.get("/console/holds", params={"checkpoint": "packing"})
    assert f">{hold}</a>" not in elsewhere.text and "No hold matches." in elsewhere.text
    # An operator sees the hold but is not offered the signature.
    page = await web.get(f"/console/holds/{hold}")
    assert "Signing a disposition needs the quality role." in page.text


async def test_a_release_is_signed_with_the_password_entered_again(
    story: Story, db: Database, plant: dict[str, Device], settings: Settings, login: LogIn
) -> None:
    hold = await held_catheter(db, plant, settings)
    web = await login("quality")
    page = await web.get(f"/console/holds/{hold}")
    assert 'id="sign"' in page.text
    form = {
        "csrf": csrf_of(page.text),
        "decision": "release",
        "meaning": "approved for release",
        "reason": "seal re-tested within limits",
        "username": "quinn",
        "password": "wrong password",
    }
    refused = await web.post(f"/console/holds/{hold}/dispositions", data=form)
    assert refused.status_code == 401
    assert "wrong username or password" in refused.text
    assert "seal re-tested within limits" in refused.text  # what was typed is kept
    async with db.sessions() as session:
        assert (await session.scalars(select(Disposition))).all() == []

    signed = await web.post(
        f"/console/holds/{hold}/dispositions", data=form | {"password": PASSWORD}
    )
    assert signed.status_code == 303
    after = await web.get(signed.headers["location"])
    assert "Signed: disposition" in after.text and "Quinn Quality" in after.text
    async with db.sessions() as session:
        closed = await session.scalar(select(Hold.status).where(Hold.id == int(hold[1:])))
        signature = await session.scalar(select(Signature))
        status = await session.scalar(select(Unit.status).where(Unit.serial == "CA9"))
    assert closed == "closed" and status == "in_process"
    assert signature is not None and signature.meaning == "approved for release"
    assert signature.username == "quinn"
    shown = await web.get(f"/console/signatures/{signature.id}")
    assert "matches its hash" in shown.text and "seal re-tested within limits" in shown.text


async def test_a_mismatched_meaning_or_another_signer_is_refused(
    story: Story, db: Database, plant: dict[str, Device], settings: Settings, login: LogIn
) -> None:
    hold = await held_catheter(db, plant, settings)
    web = await login("quality")
    csrf = csrf_of((await web.get(f"/console/holds/{hold}")).text)
    base = {
        "csrf": csrf,
        "decision": "scrap",
        "meaning": "approved for release",
        "reason": "r",
        "username": "quinn",
        "password": PASSWORD,
    }
    wrong_meaning = await web.post(f"/console/holds/{hold}/dispositions", data=base)
    assert wrong_meaning.status_code == 422
    assert "meaning: expected one of [&#39;approved for scrap&#39;]" in wrong_meaning.text
    other = await web.post(
        f"/console/holds/{hold}/dispositions",
        data=base | {"meaning": "approved for scrap", "username": "olga"},
    )
    assert other.status_code == 403
    assert "a signature in this session must be &#39;quinn&#39;" in other.text


async def test_an_operator_cannot_post_a_disposition(
    story: Story, db: Database, plant: dict[str, Device], settings: Settings, login: LogIn
) -> None:
    hold = await held_catheter(db, plant, settings)
    web = await login("operator")
    csrf = csrf_of((await web.get(f"/console/holds/{hold}")).text)
    response = await web.post(
        f"/console/holds/{hold}/dispositions",
        data={
            "csrf": csrf,
            "decision": "release",
            "meaning": "approved for release",
            "reason": "r",
            "username": "olga",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 403
    assert "needs one of the roles [quality]" in response.text
