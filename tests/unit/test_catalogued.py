"""A batch of a staged import carries only the catalogue entries that give something earlier batches did not."""

from bot.imports.stage_text import Catalogued

A = {"current_product_type_code": "PT01", "current_product_type_name": "生命保険"}
B = {"current_product_type_code": "PT01", "current_product_type_name": "医療保険"}


def test_an_entry_given_before_is_left_out_and_a_change_back_is_kept():
    catalogued = Catalogued()
    assert catalogued.fresh([A]) == [A]
    assert catalogued.fresh([A, A]) == []
    assert catalogued.fresh([B, A]) == [B, A]  # the name changes and changes back: both written, in order
    assert catalogued.fresh([A]) == []


def test_a_blank_name_changes_nothing_and_a_new_code_or_field_is_kept():
    catalogued = Catalogued()
    catalogued.fresh([A])
    assert catalogued.fresh([{"current_product_type_code": "PT01"}]) == []  # no name: the stored one stays
    product = {"current_product_code": "P001", "current_product_type_code": "PT01"}
    assert catalogued.fresh([product]) == [product]  # the product is new, its type is not
    named = product | {"current_product_name": "終身保険"}
    assert catalogued.fresh([named]) == [named]
    assert catalogued.fresh([named, product]) == []


def test_a_code_named_in_two_columns_merges_column_by_column_as_the_writer_does():
    """write_catalog merges the current products of all rows, then the cancelled ones: a product cancelled on
    one row and current on a later one ends with the cancelled row's name."""
    catalogued = Catalogued()
    current = {"current_product_code": "P001", "current_product_name": "新"}
    cancelled = {"cancelled_product_code": "P001", "cancelled_product_name": "旧"}
    assert catalogued.fresh([cancelled, current]) == [cancelled, current]
    assert catalogued.fresh([cancelled]) == []  # 旧 is what the batch left
    assert catalogued.fresh([current]) == [current]
