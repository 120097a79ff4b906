"""Imports every table module so `Base.metadata` is complete (Alembic and tests use it)."""

from __future__ import annotations

from cloud.db.base import Base
from cloud.domain.audit import models as audit
from cloud.domain.auth import models as auth
from cloud.domain.catalog import models as catalog
from cloud.domain.commands import models as commands
from cloud.domain.customers import models as customers
from cloud.domain.events import models as events
from cloud.domain.fleet import models as fleet
from cloud.domain.genealogy import models as genealogy
from cloud.domain.holds import models as holds
from cloud.domain.plant import models as plant
from cloud.domain.production import models as production
from cloud.domain.quality import models as quality
from cloud.domain.recall import models as recall
from cloud.domain.shipments import models as shipments
from cloud.domain.signatures import models as signatures
from cloud.domain.trace import models as trace

TABLE_MODULES = (
    plant,
    catalog,
    production,
    customers,
    genealogy,
    shipments,
    holds,
    events,
    fleet,
    commands,
    audit,
    auth,
    signatures,
    quality,
    recall,
    trace,
)

__all__ = ["TABLE_MODULES", "Base"]
