"""Pure parts of the console: graph layout, charts, the recall scope form, identifiers, CSRF."""

from __future__ import annotations

import re

import pytest

from cloud.domain.errors import InvalidFieldError
from cloud.web.charts import Bar, bars, gauge
from cloud.web.finder import sscc_of
from cloud.web.graph import MAX_PER_COLUMN, NODE_W, GraphEdge, GraphNode, place, render
from cloud.web.recall_form import ScopeForm, recall_from, scope_from
from cloud.web.session import csrf_ok, csrf_token


def node(key: str, level: int, **extra: object) -> GraphNode:
    return GraphNode(
        key=key, level=level, title=key, subtitle="DI", href=f"/x?{key}", kind="unit", **extra
    )


def test_levels_become_columns_left_to_right() -> None:
    placed, hidden, width, _ = place([node("a", -2), node("b", -1), node("c", 0), node("d", 1)])
    xs = [placed[k].x for k in "abcd"]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert width > 4 * NODE_W and hidden == {-2: 0, -1: 0, 0: 0, 1: 0}


def test_a_crowded_column_says_how_many_it_hides() -> None:
    nodes = [node(f"n{i}", -1) for i in range(MAX_PER_COLUMN + 7)] + [node("root", 0, root=True)]
    svg = render(nodes, [GraphEdge(child="n0", parent="root")], label="g")
    assert "+ 7 more" in svg
    assert svg.count("<a href=") == MAX_PER_COLUMN + 1
    assert svg.count("<path") == 1
    assert 'data-root="1"' in svg


def test_node_text_is_escaped() -> None:
    svg = render([node("<script>", 0)], [], label="<b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_bars_scale_to_the_maximum_and_name_the_values() -> None:
    svg = bars([Bar("a", 50, "1 of 2"), Bar("b", 100)], label="x", unit=" %", scale_max=100)
    widths = [float(w) for w in re.findall(r'width="([0-9.]+)" height="16" fill="#0b5c8c"', svg)]
    assert widths[1] == pytest.approx(2 * widths[0])
    assert "50.0 %  1 of 2" in svg
    assert "No data" in bars([], label="x")


def test_gauge_marks_a_value_outside_its_limits() -> None:
    assert "#b3261e" in gauge(195, 170, 190)
    assert "#1b7a3d" in gauge(182, 170, 190)
    assert gauge(1.0, None, None) == ""


def test_sscc_in_its_scanned_forms() -> None:
    assert sscc_of("(00)005391230000000110") == "005391230000000110"
    assert sscc_of("00005391230000000110") == "005391230000000110"
    assert sscc_of("]C100005391230000000110") == "005391230000000110"
    assert sscc_of("SN-1") is None


def test_the_scope_form_reads_one_entry_per_line() -> None:
    scope = scope_from(
        ScopeForm(
            {
                "lots": "09506000134369 TUBE-A1\n09506000134369/TUBE-A2\n\n",
                "serials": "09506000134352 KIT001 KIT200",
                "units": "(01)09506000134406(10)T1(21)TS1",
                "exc_checkpoint": "sealing",
                "exc_parameter": "seal_temp",
                "exc_start": "2026-03-01T00:00",
                "exc_end": "2026-03-02T00:00",
                "exc_high": "185",
                "match": "all",
            }
        )
    )
    assert [(x.di, x.lots) for x in scope.lots] == [("09506000134369", ["TUBE-A1", "TUBE-A2"])]
    assert scope.serials[0].first == "KIT001" and scope.match == "all"
    assert scope.excursions[0].high == 185.0 and scope.excursions[0].start.tzinfo is not None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"lots": "09506000134369"}, "lots: line 1: expected 'DI LOT', got '09506000134369'"),
        ({"serials": "X A"}, "serials: line 1: expected 'DI FIRST LAST', got 'X A'"),
        ({}, "scope: give at least one lot, serial range, unit, window or excursion"),
        (
            {"exc_checkpoint": "sealing", "exc_parameter": "t", "exc_high": "hot"},
            "exc_high: expected a number, got 'hot'",
        ),
    ],
)
def test_an_unreadable_entry_is_named(fields: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidFieldError) as caught:
        scope_from(ScopeForm(fields))
    assert caught.value.message == message


def test_a_recall_needs_its_title() -> None:
    with pytest.raises(InvalidFieldError) as caught:
        recall_from(ScopeForm({"lots": "09506000134369 L1", "reason": "r"}))
    assert caught.value.field == "title"


def test_the_form_token_belongs_to_its_session() -> None:
    mine = {"type": "http", "headers": [], "state": {"console_cookie_token": "tgu_a"}}
    other = {"type": "http", "headers": [], "state": {"console_cookie_token": "tgu_b"}}
    token = csrf_token(mine)
    assert "tgu_a" not in token
    assert csrf_ok(mine, token)
    assert not csrf_ok(other, token)
    assert not csrf_ok(mine, None)
    header_only = {"type": "http", "headers": [(b"authorization", b"Bearer tgu_a")]}
    assert csrf_ok(header_only, None)
