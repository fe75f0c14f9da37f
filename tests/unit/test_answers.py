"""kit.exercises.answers: the shape checks every exercise shares give the check's own hint."""

import pytest

from kit.exercises import NotYet
from kit.exercises.answers import expect_function, unpack


def test_a_function_is_expected_by_its_signature():
    expect_function(len, "count(x)")
    with pytest.raises(NotYet, match=r"^answer with your function count\(x\) returning n\.$"):
        expect_function(3, "count(x) returning n")


@pytest.mark.parametrize("answer", [None, 3, (1, 2), (1, 2, 3, 4), "ab"])
def test_a_tuple_of_another_shape_gets_the_hint(answer):
    with pytest.raises(NotYet, match=r"^answer with \(a, b, c\)\.$"):
        unpack(answer, 3, "answer with (a, b, c).")


def test_items_come_back_in_order_and_converted():
    assert unpack([1, "x", None], 3, "hint") == (1, "x", None)
    assert unpack(("1", 2.0, 3), 3, "three whole numbers", each=int) == (1, 2, 3)
    with pytest.raises(NotYet, match="three whole numbers"):
        unpack("twelve", 3, "three whole numbers", each=int)
