"""Data rows: CSV, JSON and XLSX told apart by their content, not their names."""

from __future__ import annotations

import io

import openpyxl
import pytest

from draftrender.errors import InvalidData
from draftrender.timeline.rows import read_rows


def xlsx(table: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in table:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_each_format_by_its_content():
    expected = [{"name": "Cola", "price": 3.5}, {"name": "茶", "price": 12}]
    assert read_rows(xlsx([["name", "price"], ["Cola", 3.5], [None, None], ["茶", 12]]), "a.csv") == expected
    assert read_rows(b'[{"name": "Cola", "price": 3.5}, {"name": "\\u8336", "price": 12}]', "x") == expected
    assert read_rows(b'{"items": [{"name": "Cola", "price": 3.5}]}', "x") == expected[:1]
    assert read_rows("\ufeffname,price\nCola,3.5\n\n茶,12\n".encode(), "x.xlsx") == [
        {"name": "Cola", "price": "3.5"}, {"name": "茶", "price": "12"}]
    assert read_rows("name;price\n可乐;3,5\n".encode("gb18030"), "x") == [{"name": "可乐", "price": "3,5"}]


@pytest.mark.parametrize("raw, words", [
    (b"", "x holds no data rows"),
    (b"name,price\n", "x holds no data rows"),
    (b'[{"a": 1}, 2]', "x: row 2 must be an object"),
    (b"[1,", "x is not valid JSON"),
    (b"PK\x03\x04broken", "x is not a readable XLSX workbook"),
])
def test_bad_tables_say_why(raw, words):
    with pytest.raises(InvalidData, match=words):
        read_rows(raw, "x")
