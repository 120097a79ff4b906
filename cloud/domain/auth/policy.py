"""Which roles may call which route: one table for the whole API, denied by default.

Keys are `METHOD path` with the route's path format (parameters without their
types), exactly as Litestar puts it in `scope["path_template"]`. A route missing
here answers 403 to everyone; a test walks the app's routes and fails on any
route without an entry, so none slips through unguarded.
"""

from __future__ import annotations

from collections.abc import Mapping

from cloud.domain.auth.roles import DEVICE, HUMAN_ROLES

READ = HUMAN_ROLES
"""Reading: every person (an auditor reads everything and changes nothing)."""
ADMIN = frozenset({"admin"})
LINE = frozenset({"operator", "admin"})
"""Running production: work orders and shipments."""
HOLDERS = frozenset({"operator", "quality", "admin"})
"""A hold needs no special permission (fail safe): anyone but a read-only auditor places one."""
QUALITY = frozenset({"quality"})
"""Decisions that need a signature: dispositions, recalls, closing nonconformances and CAPAs."""
NONCONFORMANCE = frozenset({"operator", "quality"})
INSPECTION = frozenset({"auditor", "quality", "admin"})
"""The audit trail and the EPCIS export, for inspectors."""
DEVICES = frozenset({DEVICE})

PUBLIC: frozenset[str] = frozenset(
    {
        "POST /api/auth/login",
        "GET /health",
        "GET /console/login",
        "POST /console/login",
        "GET /console/static/{name}",
    }
)
"""Reachable without credentials: the logins that hand them out (API and console), the
console's stylesheet and script, and the health check that load balancers and
systemd/Ansible probes call (it tells only whether the database and the broker are
reachable, nothing about units or people)."""

ROUTE_ROLES: Mapping[str, frozenset[str]] = {
    # system
    "GET /schema": READ,
    "GET /schema/openapi.json": READ,
    "GET /schema/openapi.yaml": READ,
    "GET /schema/openapi.yml": READ,
    "GET /schema/redoc": READ,
    "GET /schema/swagger": READ,
    "GET /schema/rapidoc": READ,
    "GET /schema/elements": READ,
    "GET /schema/oauth2-redirect.html": READ,
    "GET /schema/{path}": READ,
    # plant
    "GET /api/sites": READ,
    "POST /api/sites": ADMIN,
    "POST /api/sites/{site}/lines": ADMIN,
    "POST /api/sites/{site}/lines/{line}/checkpoints": ADMIN,
    "GET /api/devices": READ,
    "GET /api/devices/status": READ,
    "POST /api/devices": ADMIN,
    "POST /api/devices/{device_id}/credentials": ADMIN,
    "DELETE /api/devices/{device_id}/credentials": ADMIN,
    # catalog
    "GET /api/products": READ,
    "POST /api/products": ADMIN,
    "GET /api/products/{di}": READ,
    "PATCH /api/products/{di}": ADMIN,
    "DELETE /api/products/{di}": ADMIN,
    "GET /api/suppliers": READ,
    "POST /api/suppliers": ADMIN,
    "GET /api/materials": READ,
    "POST /api/materials": ADMIN,
    # customers
    "GET /api/customers": READ,
    "POST /api/customers": ADMIN,
    "GET /api/customers/{code}": READ,
    "PATCH /api/customers/{code}": ADMIN,
    "DELETE /api/customers/{code}": ADMIN,
    # work orders
    "GET /api/work-orders": READ,
    "POST /api/work-orders": LINE,
    "GET /api/work-orders/{number}": READ,
    "PATCH /api/work-orders/{number}": LINE,
    "DELETE /api/work-orders/{number}": LINE,
    "POST /api/work-orders/{number}/activate": LINE,
    "POST /api/work-orders/{number}/close": LINE,
    # shipments
    "GET /api/shipments": READ,
    "POST /api/shipments": LINE,
    "GET /api/shipments/{number}": READ,
    "PATCH /api/shipments/{number}": LINE,
    "DELETE /api/shipments/{number}": LINE,
    "POST /api/shipments/{number}/announce": LINE,
    # holds, dispositions, signatures
    "GET /api/holds": READ,
    "POST /api/holds": HOLDERS,
    "GET /api/holds/{hold_id}": READ,
    "GET /api/holds/{hold_id}/dispositions": READ,
    "POST /api/holds/{hold_id}/dispositions": QUALITY,
    "GET /api/signatures/{signature_id}": READ,
    # lots: incoming inspection's verdict is quality's; a split, merge or rework is recorded
    # by whoever does it
    "POST /api/lots/{di}/{lot}/accept": QUALITY,
    "POST /api/lots/{di}/{lot}/reject": QUALITY,
    "POST /api/lots/transform": HOLDERS,
    # nonconformances and CAPAs
    "GET /api/nonconformances": READ,
    "POST /api/nonconformances": NONCONFORMANCE,
    "GET /api/nonconformances/{number}": READ,
    "POST /api/nonconformances/{number}/holds": NONCONFORMANCE,
    "POST /api/nonconformances/{number}/close": QUALITY,
    "GET /api/capas": READ,
    "POST /api/capas": QUALITY,
    "GET /api/capas/{number}": READ,
    "POST /api/capas/{number}/close": QUALITY,
    # events
    "POST /api/events": DEVICES,
    "GET /api/events/{event_id}": READ,
    "GET /api/dead-letters": READ,
    "GET /api/seq-gaps": READ,
    # trace
    "GET /api/units": READ,
    "GET /api/units/{unit_id}": READ,
    "GET /api/trace/backward/{unit_id}": READ,
    "GET /api/trace/forward": READ,
    # recalls
    "GET /api/recalls": READ,
    "POST /api/recalls": QUALITY,
    "POST /api/recalls/preview": QUALITY,
    "GET /api/recalls/{number}": READ,
    "GET /api/recalls/{number}/units": READ,
    "GET /api/recalls/{number}/recipients": READ,
    "GET /api/recalls/{number}/verify": READ,
    "POST /api/recalls/{number}/notices": QUALITY,
    "POST /api/recalls/{number}/recipients/{recipient_id}/acknowledge": QUALITY,
    "POST /api/recalls/{number}/close": QUALITY,
    # audit and export
    "GET /api/audit/entries": INSPECTION,
    "GET /api/audit/verify": INSPECTION,
    "GET /api/audit/export": INSPECTION,
    "GET /api/epcis/events": INSPECTION,
    # users and tokens
    "POST /api/auth/logout": READ,
    "GET /api/auth/me": READ,
    "GET /api/auth/tokens": READ,
    "POST /api/auth/tokens": READ,
    "DELETE /api/auth/tokens/{token_id}": READ,
    "POST /api/auth/password": READ,
    "GET /api/users": ADMIN,
    "POST /api/users": ADMIN,
    "PATCH /api/users/{username}": ADMIN,
    # web console (cloud/web): each page has the roles of the API routes it calls
    "GET /console": READ,
    "POST /console/logout": READ,
    "GET /console/search": READ,
    "GET /console/unit": READ,
    "GET /console/genealogy": READ,
    "GET /console/lot": READ,
    "GET /console/container": READ,
    "GET /console/holds": READ,
    "GET /console/holds/{hold_id}": READ,
    "POST /console/holds/{hold_id}/dispositions": QUALITY,
    "GET /console/signatures/{signature_id}": READ,
    "GET /console/recalls": READ,
    "POST /console/recalls/preview": QUALITY,
    "POST /console/recalls": QUALITY,
    "GET /console/recalls/{number}": READ,
    "GET /console/recalls/{number}/units.csv": READ,
    "GET /console/recalls/{number}/recipients.csv": READ,
    "POST /console/recalls/{number}/notices": QUALITY,
    "POST /console/recalls/{number}/recipients/{recipient_id}/acknowledge": QUALITY,
    "POST /console/recalls/{number}/close": QUALITY,
    "GET /console/lines": READ,
    "GET /console/dashboard": READ,
    "GET /console/audit": INSPECTION,
}


def route_key(method: str, path_template: str) -> str:
    return f"{method.upper()} {path_template}"


def roles_for(method: str, path_template: str) -> frozenset[str]:
    """Roles allowed on a route; OPTIONS (no data) follows GET, HEAD follows GET."""
    if method.upper() in ("OPTIONS", "HEAD"):
        method = "GET"
        if route_key(method, path_template) not in ROUTE_ROLES:
            return frozenset().union(
                *(roles for key, roles in ROUTE_ROLES.items() if key.endswith(f" {path_template}"))
            )
    return ROUTE_ROLES.get(route_key(method, path_template), frozenset())
