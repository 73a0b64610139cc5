from datetime import UTC, datetime

import pytest

from framelane_core.errors import InvalidRequest
from framelane_core.ids import new_id, ulid
from framelane_core.pagination import Cursor, decode_cursor, page, page_limit


def test_ids_are_prefixed_time_ordered_ulids():
    a, b = ulid(now=1_700_000_000.000), ulid(now=1_700_000_000.001)
    assert len(a) == 26 and a < b
    assert new_id("ws").startswith("ws_") and len(new_id("ws")) == 29


def test_cursor_round_trip_and_garbage():
    c = Cursor(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), "key_01")
    assert decode_cursor(c.encode()) == c
    assert decode_cursor("") is None
    with pytest.raises(InvalidRequest) as err:
        decode_cursor("!!not-a-cursor")
    assert err.value.details[0]["path"] == "$.cursor"


@pytest.mark.parametrize("asked,got", [(0, 20), (1, 1), (100, 100)])
def test_page_limit(asked, got):
    assert page_limit(asked) == got


@pytest.mark.parametrize("asked", [-1, 101])
def test_page_limit_out_of_range(asked):
    with pytest.raises(InvalidRequest):
        page_limit(asked)


def test_page_splits_extra_row_into_cursor():
    rows = [{"id": f"k{i}", "created_at": datetime(2026, 1, 1, tzinfo=UTC)} for i in range(3)]
    data, cursor = page(rows, 2)
    assert [r["id"] for r in data] == ["k0", "k1"]
    assert decode_cursor(cursor).id == "k1"
    assert page(rows[:2], 2) == (rows[:2], None)
