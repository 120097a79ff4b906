"""Which station drivers the demo has, and which of them can run: a checkpoint joins the
demo line when the edge agent implements its role (the role factory knows it) and the demo
has a driver for it."""

from __future__ import annotations

from collections.abc import Callable

from protocols.config import PlantConfig
from tracegate.demo.stations.base import StationContext, StationDriver

DriverFactory = Callable[[str, StationContext], StationDriver]


def _drivers() -> dict[str, DriverFactory]:
    from tracegate.demo.stations.assembly import AssemblyDriver
    from tracegate.demo.stations.packing import PackingDriver
    from tracegate.demo.stations.receipt import GoodsReceiptDriver
    from tracegate.demo.stations.returns import ReturnsDriver
    from tracegate.demo.stations.shipping import ShippingDriver

    return {
        "goods_receipt": GoodsReceiptDriver,
        "assembly": AssemblyDriver,
        "packing": PackingDriver,
        "shipping": ShippingDriver,
        "returns": ReturnsDriver,
    }


def agent_roles() -> frozenset[str]:
    """Roles the edge agent implements beyond plain inspection."""
    from edge.checkpoint.roles.factory import role_names

    return role_names()


def station_roles() -> frozenset[str]:
    """Roles with a demo driver whose agent role is built."""
    return frozenset(_drivers()) & agent_roles()


def drivers_for(
    plant: PlantConfig, checkpoints: list[str], context: StationContext
) -> list[StationDriver]:
    """A driver for each of `checkpoints` whose role has one, in line order."""
    drivers = _drivers()
    available = station_roles()
    found = []
    for cp in plant.checkpoints:
        if cp.id in checkpoints and cp.role in available:
            found.append(drivers[cp.role](cp.id, context))
    return found
