"""The role object of a checkpoint, by its configured `role`."""

from __future__ import annotations

from collections.abc import Callable

from edge.checkpoint.roles.base import StationRole
from edge.checkpoint.roles.context import RoleContext
from protocols.config import Checkpoint
from protocols.config.plc import PlcInput

RoleFactory = Callable[[RoleContext], StationRole]


def _plain(context: RoleContext) -> StationRole:
    return StationRole()


def _goods_receipt(context: RoleContext) -> StationRole:
    from edge.checkpoint.roles.goods_receipt import GoodsReceiptRole

    return GoodsReceiptRole(context)


def _packing(context: RoleContext) -> StationRole:
    from edge.checkpoint.roles.packing import PackingRole

    return PackingRole.build(context)


def _assembly(context: RoleContext) -> StationRole:
    from edge.checkpoint.roles.assembly import AssemblyRole

    return AssemblyRole(context)


def _returns(context: RoleContext) -> StationRole:
    from edge.checkpoint.roles.returns import ReturnsRole

    return ReturnsRole.build(context)


def _shipping(context: RoleContext) -> StationRole:
    from edge.checkpoint.roles.shipping import ShippingRole

    return ShippingRole.build(context)


def _factories() -> dict[str, RoleFactory]:
    # Imported here: each role module is loaded only by the agent that runs it.
    return {
        "sealing": _plain,
        "inspection": _plain,
        "goods_receipt": _goods_receipt,
        "assembly": _assembly,
        "packing": _packing,
        "shipping": _shipping,
        "returns": _returns,
    }


def role_names() -> frozenset[str]:
    """The roles the edge agent builds (`role:` values with a role object of their own or
    the plain inspection path). The role modules are not imported."""
    return frozenset(_factories())


def role_inputs(checkpoint: Checkpoint) -> dict[str, PlcInput]:
    """PLC inputs a role reads itself, by their name in the PLC adapter's map."""
    packing = checkpoint.packing
    if packing is not None and packing.close_case_input is not None:
        return {"close_case": packing.close_case_input}
    return {}


def build_role(context: RoleContext) -> StationRole:
    """The role of `context.checkpoint`; roles not built yet add nothing to the path."""
    factory = _factories().get(context.checkpoint.role, _plain)
    return factory(context)
