"""PartialDate against datetime.date: a complete one is that day; a partial one orders only where it can."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cccd_reader.model import PartialDate


def test_a_complete_partial_date_equals_the_same_day():
    day = dt.date(1990, 3, 15)
    assert PartialDate(1990, 3, 15) == day and day == PartialDate(1990, 3, 15)
    assert hash(PartialDate(1990, 3, 15)) == hash(day)
    assert {PartialDate(1990, 3, 15)} == {day}
    assert PartialDate(1990, 3, 16) != day
    assert PartialDate(1990, 3) != dt.date(1990, 3, 1)  # unknown day: not the 1st
    assert PartialDate(1990) != dt.date(1990, 1, 1)
    assert PartialDate(1990, 3, 15) != dt.datetime(1990, 3, 15)  # a moment is not a day


def test_ordering_where_defined():
    assert PartialDate(1950) < dt.date(1951, 3, 2)
    assert dt.date(1949, 12, 31) < PartialDate(1950)
    assert PartialDate(1950, 6) > dt.date(1950, 5, 31)
    assert PartialDate(1950, 6) < PartialDate(1950, 7, 1)
    for a, b in ((PartialDate(1950), dt.date(1950, 6, 1)), (PartialDate(1950), PartialDate(1950, 6))):
        with pytest.raises(TypeError):
            _ = a < b
        with pytest.raises(TypeError):
            _ = b >= a


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
       st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_complete_dates_compare_exactly_as_dates(a, b):
    pa, pb = PartialDate.from_date(a), PartialDate.from_date(b)
    assert (pa < b) == (a < b) and (pa <= pb) == (a <= b) and (pa == b) == (a == b)
    assert (a > pb) == (a > b)
