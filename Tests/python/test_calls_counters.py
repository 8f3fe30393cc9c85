"""The check that decides whether pytestd trusts CPython's per-code start counters (3.8-3.11), read at a
byte offset without headers: it must accept a reading at the counter's real offset and reject every
other offset in the code object (a different struct layout shifts the field)."""
import ctypes
import sys

import pytest

from pytestd._calls import counter_problem

# Where pytestd._native reads (Sources/CPythonShim/CPythonShim.c): offset, C type, value before a start.
COUNTERS = {(3, 8): (168, ctypes.c_int, 0), (3, 9): (168, ctypes.c_int, 0), (3, 10): (168, ctypes.c_int, 0),
            (3, 11): (52, ctypes.c_short, -8)}

pytestmark = pytest.mark.skipif(sys.version_info[:2] not in COUNTERS, reason="3.12+ records with sys.monitoring")


def reader(offset, c_type, initial):
    return lambda code: c_type.from_address(id(code) + offset).value - initial


def test_only_the_real_offset_passes():
    offset, c_type, initial = COUNTERS[sys.version_info[:2]]
    size = ctypes.sizeof(c_type)
    accepted = [at for at in range(0, type(reader.__code__).__basicsize__ - size + 1, size)
                if not counter_problem(reader(at, c_type, initial))]
    assert accepted == [offset]


def test_a_shifted_layout_says_what_it_read():
    offset, c_type, initial = COUNTERS[sys.version_info[:2]]
    problem = counter_problem(reader(offset + 16, c_type, initial))  # a Py_TRACE_REFS header is 16 bytes larger
    assert "not [0, 1, 2, 0]: another struct layout" in problem


def test_no_counter_is_a_problem():
    assert counter_problem(lambda code: None) == "this Python's code objects have no known start counter"
