"""Device events as EPCIS 2.0 events (JSON-LD), mapped as DESIGN.md describes: pure functions.

unit.inspected -> ObjectEvent OBSERVE (inspecting; conformant / non_conformant; a sensor
report per process parameter); lot.received -> ObjectEvent OBSERVE (receiving);
unit.assembled -> AggregationEvent ADD (assembling); lot.transformed ->
TransformationEvent; unit.packed / unit.unpacked -> AggregationEvent ADD (packing) /
DELETE (unpacking); container.shipped -> ObjectEvent OBSERVE (shipping, in_transit) with
source and destination; unit.received -> ObjectEvent OBSERVE (receiving, returned); holds
placed from the cloud -> ObjectEvent OBSERVE (holding; non_conformant, or recalled).
Identifiers are GS1 Digital Link URIs (HIBCC DIs, which have none, get URNs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cloud.domain.audit.canonical import jsonable
from cloud.domain.trace.labels import class_uri, instance_uri, sscc_uri
from protocols.events import (
    ContainerShipped,
    Event,
    LotReceived,
    LotTransformed,
    UnitAssembled,
    UnitInspected,
    UnitPacked,
    UnitReceived,
    UnitUnpacked,
)
from protocols.parts import ContainerRef, LotQuantity, ParameterSample, Party, UnitRef

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
TG = "urn:tracegate:epcis:"
"""Namespace of the extension fields (`tg:...`): decision reasons, device, seq."""

# UN/CEFACT Rec 20 codes for the units devices report; a count ("EA") has no uom in EPCIS.
UOM = {
    "degC": "CEL",
    "C": "CEL",
    "bar": "BAR",
    "kPa": "KPA",
    "Pa": "PAL",
    "ms": "C26",
    "s": "SEC",
    "mm": "MMT",
    "m": "MTR",
    "N": "NEU",
    "g": "GRM",
    "kg": "KGM",
    "KG": "KGM",
    "G": "GRM",
    "L": "LTR",
    "ML": "MLT",
    "ml/min": "41",
    "%": "P1",
}
SENSOR_TYPES = {
    "CEL": "gs1:Temperature",
    "BAR": "gs1:AbsolutePressure",
    "KPA": "gs1:AbsolutePressure",
    "PAL": "gs1:AbsolutePressure",
}
RECEIVED_DISPOSITION = {
    "accepted": "available",
    "quarantined": "non_sellable_other",
    "rejected": "non_conformant",
}


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event: Event
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class CloudHold:
    hold_id: str
    scope: str
    di: str
    serial: str | None
    lot: str | None
    reasons: Sequence[Mapping[str, str]]
    placed_at: dt.datetime
    placed_by: str


def _time(value: dt.datetime) -> str:
    return str(jsonable(value))


def readpoint(event: Event) -> str:
    return "urn:tracegate:checkpoint:" + ":".join(
        quote(part, safe="") for part in (event.site, event.line, event.checkpoint)
    )


def site_uri(site: str) -> str:
    return f"urn:tracegate:site:{quote(site, safe='')}"


def party_uri(party: Party) -> str:
    if party.gln:
        return f"https://id.gs1.org/414/{party.gln}"
    return f"urn:tracegate:party:{quote(party.name, safe='')}"


def _unit(ref: UnitRef) -> str:
    return instance_uri(ref.di, serial=ref.serial, lot=ref.lot)


def _quantity(q: LotQuantity) -> dict[str, Any]:
    item: dict[str, Any] = {"epcClass": class_uri(q.di, lot=q.lot), "quantity": q.quantity}
    if q.unit_of_measure != "EA":
        item["uom"] = UOM.get(q.unit_of_measure, q.unit_of_measure)
    return item


def _child(child: UnitRef | ContainerRef) -> str:
    return _unit(child) if isinstance(child, UnitRef) else sscc_uri(child.sscc)


def _sensor_report(sample: ParameterSample) -> dict[str, Any]:
    uom = UOM.get(sample.unit, sample.unit) if sample.unit else None
    report: dict[str, Any] = {
        "type": SENSOR_TYPES.get(uom or "", f"{TG}parameter:{quote(sample.name, safe='')}"),
        "tg:parameter": sample.name,
        "tg:inLimits": sample.in_limits,
        "tg:ageMs": sample.age_ms,
    }
    if sample.value is not None:
        report["value"] = sample.value
    if uom:
        report["uom"] = uom
    if sample.lo is not None:
        report["minValue"] = sample.lo
    if sample.hi is not None:
        report["maxValue"] = sample.hi
    return report


def _base(stored: StoredEvent, kind: str) -> dict[str, Any]:
    event = stored.event
    base: dict[str, Any] = {
        "type": kind,
        "eventID": f"urn:uuid:{event.event_id}",
        "eventTime": _time(event.occurred_at),
        "eventTimeZoneOffset": "+00:00",
        "recordTime": _time(stored.received_at),
        "readPoint": {"id": readpoint(event)},
        "bizLocation": {"id": site_uri(event.site)},
        "tg:device": event.device_id,
        "tg:seq": event.seq,
    }
    if event.corrects is not None:
        base["tg:corrects"] = f"urn:uuid:{event.corrects}"
    return base


def epcis_event(stored: StoredEvent) -> dict[str, Any] | None:
    """The EPCIS event for a device event, or None when nothing can be said (a heartbeat, an
    inspection that identified no unit)."""
    event = stored.event
    if isinstance(event, UnitInspected):
        return _inspected(stored, event)
    if isinstance(event, LotReceived):
        return {
            **_base(stored, "ObjectEvent"),
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": RECEIVED_DISPOSITION[event.inspection_state],
            "epcList": [],
            "quantityList": [
                _quantity(
                    LotQuantity(
                        di=event.di,
                        lot=event.lot,
                        quantity=event.quantity,
                        unit_of_measure=event.unit_of_measure,
                    )
                )
            ],
            "tg:supplier": event.supplier,
        }
    if isinstance(event, UnitAssembled):
        units = [c for c in event.components if isinstance(c, UnitRef)]
        lots = [c for c in event.components if isinstance(c, LotQuantity)]
        return {
            **_base(stored, "AggregationEvent"),
            "action": "ADD",
            "bizStep": "assembling",
            "disposition": "in_progress",
            "parentID": _unit(event.parent),
            "childEPCs": [_unit(u) for u in units],
            "childQuantityList": [_quantity(q) for q in lots],
        }
    if isinstance(event, LotTransformed):
        return {
            **_base(stored, "TransformationEvent"),
            "bizStep": "other",
            "inputQuantityList": [_quantity(q) for q in event.inputs],
            "outputQuantityList": [_quantity(q) for q in event.outputs],
            "tg:transformation": event.transformation,
        }
    if isinstance(event, UnitPacked | UnitUnpacked):
        packed = isinstance(event, UnitPacked)
        return {
            **_base(stored, "AggregationEvent"),
            "action": "ADD" if packed else "DELETE",
            "bizStep": "packing" if packed else "unpacking",
            "disposition": "in_progress",
            "parentID": sscc_uri(event.container),
            "childEPCs": [_child(c) for c in event.children],
        }
    if isinstance(event, ContainerShipped):
        return {
            **_base(stored, "ObjectEvent"),
            "action": "OBSERVE",
            "bizStep": "shipping",
            "disposition": "in_transit",
            "epcList": [sscc_uri(s) for s in event.containers],
            "bizTransactionList": [
                {"type": "po", "bizTransaction": f"urn:tracegate:order:{quote(event.order)}"},
                {
                    "type": "desadv",
                    "bizTransaction": f"urn:tracegate:shipment:{quote(event.shipment_id)}",
                },
            ],
            "sourceList": [{"type": "owning_party", "source": site_uri(event.site)}],
            "destinationList": [
                {"type": "owning_party", "destination": party_uri(event.recipient)}
            ],
        }
    if isinstance(event, UnitReceived):
        return {
            **_base(stored, "ObjectEvent"),
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": "returned",
            "epcList": [_child(c) for c in event.items],
            "sourceList": [{"type": "owning_party", "source": party_uri(event.returned_by)}],
            "tg:reason": {"code": event.reason.code, "text": event.reason.text},
        }
    return None


def _inspected(stored: StoredEvent, event: UnitInspected) -> dict[str, Any] | None:
    udi = event.udi
    if udi is None or not (udi.serial or udi.lot):
        return None
    identity: dict[str, Any] = (
        {"epcList": [instance_uri(udi.di, serial=udi.serial, lot=udi.lot)]}
        if udi.serial
        else {
            "epcList": [],
            "quantityList": [{"epcClass": class_uri(udi.di, lot=udi.lot), "quantity": 1}],
        }
    )
    out: dict[str, Any] = {
        **_base(stored, "ObjectEvent"),
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "disposition": "conformant" if event.decision == "pass" else "non_conformant",
        **identity,
        "tg:decision": event.decision,
        "tg:reasons": [{"code": r.code, "text": r.text} for r in event.reasons],
    }
    if event.parameters:
        out["sensorElementList"] = [
            {
                "sensorMetadata": {"time": _time(event.occurred_at)},
                "sensorReport": [_sensor_report(p) for p in event.parameters],
            }
        ]
    if event.work_order:
        out["tg:workOrder"] = event.work_order
    return out


def hold_event(hold: CloudHold) -> dict[str, Any]:
    """A hold placed from the cloud (by a person or a recall): the units' new disposition."""
    recalled = any(r.get("code") == "recall" for r in hold.reasons)
    identity: dict[str, Any] = (
        {"epcList": [instance_uri(hold.di, serial=hold.serial, lot=hold.lot)]}
        if hold.scope == "unit" and hold.serial
        else {"epcList": [], "quantityList": [{"epcClass": class_uri(hold.di, lot=hold.lot)}]}
    )
    return {
        "type": "ObjectEvent",
        "eventID": f"urn:tracegate:hold:{hold.hold_id}",
        "eventTime": _time(hold.placed_at),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "holding",
        "disposition": "recalled" if recalled else "non_conformant",
        **identity,
        "tg:hold": hold.hold_id,
        "tg:placedBy": hold.placed_by,
        "tg:reasons": [dict(r) for r in hold.reasons],
    }


def declare_errors(events: list[dict[str, Any]]) -> None:
    """Mark each event that a later one in the list corrects (EPCIS error declaration)."""
    by_id = {e["eventID"]: e for e in events}
    for event in events:
        corrected = by_id.get(event.get("tg:corrects", ""))
        if corrected is not None:
            declaration = corrected.setdefault(
                "errorDeclaration",
                {
                    "declarationTime": event.get("recordTime", event["eventTime"]),
                    "reason": "incorrect_data",
                    "correctiveEventIDs": [],
                },
            )
            declaration["correctiveEventIDs"].append(event["eventID"])


def document(events: list[dict[str, Any]], *, created: dt.datetime) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT, {"tg": TG}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(created),
        "epcisBody": {"eventList": events},
    }
