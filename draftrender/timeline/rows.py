"""Data rows for templates: a CSV, JSON or XLSX table, told apart by its content, as dicts.

Row numbers count data rows from 1 (a CSV's header is not a row), as the batch reports them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..errors import InvalidData

XLSX_MAGIC = b"PK\x03\x04"  # a zip: XLSX is the only zip table we read
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # Excel in China saves CSV in GB18030


def read_rows(raw: bytes, origin: str) -> list[dict[str, Any]]:
    """The rows of a table: XLSX (first sheet), JSON (a list of objects, or one object) or CSV."""
    if raw.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(raw, origin)
    elif raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
        rows = _json_rows(raw, origin)
    else:
        rows = _csv_rows(raw, origin)
    if not rows:
        raise InvalidData(f"{origin} holds no data rows")
    return rows


def check_rows(items: Any, origin: str) -> list[dict[str, Any]]:
    """A list of objects, as rows; InvalidData naming the first item that is not one."""
    if not isinstance(items, list):
        raise InvalidData(f"{origin} must be a list of objects, not {type(items).__name__}")
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise InvalidData(f"{origin}: row {i} must be an object with the template's fields, "
                              f"not {type(item).__name__}")
    return items


def _json_rows(raw: bytes, origin: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise InvalidData(f"{origin} is not valid JSON: {e}") from None
    if isinstance(data, dict):
        # {"items": [...]} or {"data": [...]} as APIs export them; any other object is one row.
        listed = next((data[k] for k in ("items", "data", "rows") if isinstance(data.get(k), list)), None)
        data = listed if listed is not None else [data]
    return check_rows(data, origin)


def _csv_rows(raw: bytes, origin: str) -> list[dict[str, Any]]:
    for encoding in CSV_ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidData(f"{origin} is neither XLSX, JSON nor a UTF-8 or GB18030 CSV")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    return _table(list(reader), origin)


def _xlsx_rows(raw: bytes, origin: str) -> list[dict[str, Any]]:
    import openpyxl  # only for spreadsheets

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise InvalidData(f"{origin} is not a readable XLSX workbook: {type(e).__name__}: {e}") from None
    try:
        sheet = book.worksheets[0]
        table = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _table(table, origin)


def _table(table: list[list[Any]], origin: str) -> list[dict[str, Any]]:
    """Header row first; blank rows are skipped; empty header cells name no field."""
    table = [r for r in table if any(v not in (None, "") for v in r)]
    if not table:
        return []
    header = [str(h).strip() if h is not None else "" for h in table[0]]
    if not any(header):
        raise InvalidData(f"{origin} has no header row naming the fields")
    return [{h: v for h, v in zip(header, r, strict=False) if h} for r in table[1:]]
