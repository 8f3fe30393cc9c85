import pytest

from inventory import Item, price_with_tax


def test_smoke():
    assert True


def test_add_and_total(catalog):
    catalog.add(Item("INV-0001-AB", "bolt", 120))
    catalog.add(Item("INV-0002-AB", "nut", 80))
    assert catalog.total_cents() == 200


def test_duplicate_sku_is_rejected(catalog):
    catalog.add(Item("INV-0001-AB", "bolt", 120))
    with pytest.raises(ValueError):
        catalog.add(Item("INV-0001-AB", "bolt", 120))


@pytest.mark.parametrize("cents, expected", [(100, 120), (5, 6), (0, 0)])
def test_price_with_tax(cents, expected):
    assert price_with_tax(cents) == expected


def test_database_is_shared(database):
    database.execute("insert into items values ('INV-0003-AB', 10)")
    assert database.execute("select count(*) from items").fetchone() == (1,)
