from calc.invoice import total


def test_total_without_discount():
    assert total([10.0, 5.5]) == 15.5


def test_total_with_discount():
    assert total([100.0, 50.0], discount_percent=10) == 135.0
