"""The role object of a checkpoint, by its configured `role`."""

from __future__ import annotations

from collections.abc import Callable

from edge.checkpoint.roles.base import StationRole
from edge.checkpoint.roles.context import RoleContext

RoleFactory = Callable[[RoleContext], StationRole]


def _plain(context: RoleContext) -> StationRole:
    return StationRole()


def _goods_receipt(context: RoleContext) -> StationRole:
    from edge.checkpoint.roles.goods_receipt import GoodsReceiptRole

    return GoodsReceiptRole(context)


def _factories() -> dict[str, RoleFactory]:
    # Imported here: each role module is loaded only by the agent that runs it.
    return {
        "sealing": _plain,
        "inspection": _plain,
        "goods_receipt": _goods_receipt,
    }


def build_role(context: RoleContext) -> StationRole:
    """The role of `context.checkpoint`; roles not built yet add nothing to the path."""
    factory = _factories().get(context.checkpoint.role, _plain)
    return factory(context)
