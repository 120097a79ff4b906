"""Access control, on PostgreSQL and SQLite: every route of the app (walked from the app itself,
so a new one cannot slip through) refuses an unauthenticated call (401) and a wrong role (403);
logins, tokens and device credentials."""

from __future__ import annotations

import re
from datetime import timedelta

from access_helpers import PASSWORD, device_bearer
from cloud_helpers import Device
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.auth.models import ApiToken
from cloud.domain.auth.policy import PUBLIC, ROUTE_ROLES, route_key

Client = AsyncTestClient[Litestar]
Roles = dict[str, dict[str, str]]

SAMPLE_PARAMS = {
    "event_id": "01936f0e-0000-7000-8000-000000000000",
    "token_id": "1",
    "recipient_id": "1",
    "signature_id": "1",
}


def routes(app: Litestar) -> list[tuple[str, str, str]]:
    """(method, path format, a concrete path) of every route handler the app serves."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAMS.get(m.group(1), "x"), route.path_format)
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                found.append((method, route.path_format, path))
    return sorted(set(found))


async def test_every_route_is_in_the_policy_and_the_policy_names_only_routes(api: Client) -> None:
    served = {route_key(m, p) for m, p, _ in routes(api.app) if m != "OPTIONS"}
    assert served - set(ROUTE_ROLES) - PUBLIC == set(), "routes without a policy entry"
    assert (set(ROUTE_ROLES) | PUBLIC) - served == set(), "policy entries without a route"


async def test_every_route_refuses_an_unauthenticated_call(api: Client) -> None:
    for method, template, path in routes(api.app):
        if route_key(method, template) in PUBLIC:
            continue
        response = await api.request(method, path)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"] == 'Bearer realm="tracegate"'
    bogus = await api.get("/api/units", headers={"Authorization": "Bearer tgu_forged"})
    assert bogus.json()["detail"] == "the bearer token is unknown, expired or revoked"


async def test_every_route_refuses_a_wrong_role(
    api: Client, as_role: Roles, db: Database, plant: dict[str, Device]
) -> None:
    device = await device_bearer(db, "edge-sealing")
    checked = 0
    for method, template, path in routes(api.app):
        key = route_key(method, template)
        if key in PUBLIC or method == "OPTIONS":
            continue
        allowed = ROUTE_ROLES[key]
        wrong = [
            role for role in ("operator", "quality", "auditor", "admin") if role not in allowed
        ]
        headers = as_role[wrong[0]] if wrong else device
        response = await api.request(method, path, headers=headers)
        assert response.status_code == 403, (key, wrong[:1] or "device", response.text)
        checked += 1
    assert checked == len(ROUTE_ROLES)


async def test_who_may_do_what(api: Client, as_role: Roles, plant: dict[str, Device]) -> None:
    release = {
        "decision": "release",
        "meaning": "approved for release",
        "reason": "ok",
        "username": "aldo",
        "password": PASSWORD,
    }
    auditor = await api.post("/api/holds/H1/dispositions", json=release, headers=as_role["auditor"])
    assert auditor.status_code == 403
    assert auditor.json()["detail"] == (
        "POST /api/holds/{hold_id}/dispositions needs one of the roles [quality]; "
        "user 'aldo' has [auditor]"
    )
    operator = await api.post(
        "/api/holds/H1/dispositions",
        json={**release, "username": "olga"},
        headers=as_role["operator"],
    )
    assert operator.status_code == 403
    reads = await api.get("/api/audit/verify", headers=as_role["auditor"])
    assert reads.status_code == 200


async def test_login_tokens_and_logout(api: Client, as_role: Roles, db: Database) -> None:
    wrong = await api.post("/api/auth/login", json={"username": "quinn", "password": "nope"})
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "wrong username or password")
    login = await api.post("/api/auth/login", json={"username": "quinn", "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    me = (await api.get("/api/auth/me", headers=token)).json()
    assert me == {
        "kind": "user",
        "name": "quinn",
        "full_name": "Quinn Quality",
        "roles": ["quality"],
    }
    script = (
        await api.post("/api/auth/tokens", json={"name": "nightly export"}, headers=token)
    ).json()
    assert script["token"].startswith("tgu_")
    assert (
        await api.get("/api/auth/me", headers={"Authorization": f"Bearer {script['token']}"})
    ).status_code == 200
    assert (await api.post("/api/auth/logout", headers=token)).status_code == 204
    assert (await api.get("/api/auth/me", headers=token)).status_code == 401
    async with db.sessions.begin() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.id == script["token_id"])
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )
    expired = await api.get("/api/auth/me", headers={"Authorization": f"Bearer {script['token']}"})
    assert expired.status_code == 401
    entries = (
        await api.get(
            "/api/audit/entries", params={"record_type": "users"}, headers=as_role["auditor"]
        )
    ).json()
    # Besides the test users the fixtures wrote (as "system"):
    assert [(e["actor"], e["action"]) for e in entries if e["actor"] != "system"] == [
        ("quinn", "login_failed"),
        ("quinn", "login"),
    ]


async def test_users_are_managed_by_an_admin(api: Client, as_role: Roles) -> None:
    created = await api.post(
        "/api/users",
        json={
            "username": "nina",
            "full_name": "Nina New",
            "roles": ["operator"],
            "password": "short",
        },
        headers=as_role["admin"],
    )
    assert (created.status_code, created.json()["detail"]) == (
        422,
        "password: expected at least 10 characters, got 5",
    )
    created = await api.post(
        "/api/users",
        json={
            "username": "nina",
            "full_name": "Nina New",
            "roles": ["operator"],
            "password": "a long enough passphrase",
        },
        headers=as_role["admin"],
    )
    assert created.status_code == 201, created.text
    assert "password" not in created.text and "argon2" not in created.text
    login = await api.post(
        "/api/auth/login", json={"username": "nina", "password": "a long enough passphrase"}
    )
    assert login.status_code == 200
    changed = await api.patch("/api/users/nina", json={"active": False}, headers=as_role["admin"])
    assert changed.json()["active"] is False
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    assert (await api.get("/api/auth/me", headers=token)).status_code == 401
    audit = (
        await api.get(
            "/api/audit/entries", params={"record_type": "users"}, headers=as_role["auditor"]
        )
    ).json()
    created_row = next(e for e in audit if e["action"] == "create" and e["actor"] != "system")
    assert created_row["actor"] == "ada"
    assert '"password_hash":"<redacted>"' in created_row["new"]


async def test_a_device_posts_only_its_own_events(
    api: Client, db: Database, plant: dict[str, Device], as_role: Roles
) -> None:
    sealing = plant["sealing"]
    _, own = sealing.inspected("SN1")
    _, other = plant["packing"].inspected("SN2")
    headers = await device_bearer(db, "edge-sealing")
    stored = await api.post("/api/events", content=b"[" + own + b"]", headers=headers)
    assert stored.json()["stored"] == 1
    spoof = await api.post("/api/events", content=b"[" + other + b"]", headers=headers)
    assert (spoof.status_code, spoof.json()["detail"]) == (
        403,
        "event 0 names device 'edge-packing', but the credential is device 'edge-sealing''s: "
        "a device may post only its own events",
    )
    human = await api.post("/api/events", content=b"[" + own + b"]", headers=as_role["admin"])
    assert human.status_code == 403
    issued = await api.post("/api/devices/edge-packing/credentials", headers=as_role["admin"])
    assert issued.status_code == 201 and issued.json()["token"].startswith("tgd_")
    packing = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert (await api.post("/api/events", content=b"[" + other + b"]", headers=packing)).json()[
        "stored"
    ] == 1
    revoked = await api.delete("/api/devices/edge-packing/credentials", headers=as_role["admin"])
    assert revoked.status_code == 204
    after = await api.post("/api/events", content=b"[]", headers=packing)
    assert after.status_code == 401


async def test_health_answers_probes_without_credentials(api: Client) -> None:
    response = await api.get("/health")
    assert response.status_code == 200
    assert set(response.json()) <= {"status", "database", "broker", "version"}
