"""Drafts as templates: `{{field}}` placeholders, what they expect, and filling them from a row.

A designer writes `{{name}}` or `{{name|default}}` where data goes:
- in a text's words (the field's value replaces it; the style runs around it keep their style,
  and the run the placeholder starts in styles the whole value);
- as a medium's path (a local path or an http(s) URL, fetched like any draft medium), or as a
  video/audio material's `material_name`, which makes that medium the field and its own path the default;
- as a colour value (`canvas_color`, `background_color`, `text_color`, a chroma `color`, ...);
- as any other whole value, which makes it a number (`"volume": "{{loudness|1.0}}"`).

A placeholder that is only part of a string (a path like `media/{{sku}}.png`) is text.
`fields(draft)` lists the fields with their types; `fill(draft, row)` returns a new draft with
every field replaced, or raises InvalidData naming the field whose value does not fit.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidData

PLACEHOLDER = re.compile(r"\{\{\s*([^\s{}|]+)\s*(?:\|([^{}]*))?\}\}")
HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?)")
MEDIA_SECTIONS = {"videos": "video", "audios": "audio"}
# When a field stands in several places, the strictest type is the one its values must pass
# (a number is also fine text; text is not a fine number).
TYPE_ORDER = ("number", "color", "image", "video", "audio", "text")
STAND_INS = {"number": 1, "color": "#808080"}
TYPE_HINTS = {
    "text": "any text",
    "number": "a number such as 7999 or 9.99",
    "color": "a colour #RRGGBB or #RRGGBBAA",
    "image": "an image path or http(s) URL",
    "video": "a video path or http(s) URL",
    "audio": "an audio path or http(s) URL",
}


@dataclass
class Field:
    name: str
    type: str
    default: str | None = None
    places: list[str] = field(default_factory=list)  # where it stands in the draft, for people

    @property
    def required(self) -> bool:
        return self.default is None

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type, "required": self.required, "default": self.default,
                "places": self.places}


# ---------------------------------------------------------------- discovery


def fields(draft: dict) -> list[Field]:
    """The fields a template expects, in the order they first appear."""
    found: dict[str, Field] = {}

    def seen(name: str, kind: str, default: str | None, place: str) -> None:
        f = found.setdefault(name, Field(name, kind, default))
        if TYPE_ORDER.index(kind) < TYPE_ORDER.index(f.type):
            f.type = kind
        if f.default is None:
            f.default = default
        if place not in f.places:
            f.places.append(place)

    for spot in _spots(draft):
        for m in PLACEHOLDER.finditer(spot.text):
            kind = spot.kind if spot.whole else "text"
            seen(m.group(1), kind, spot.default if spot.default is not None else m.group(2), spot.place)
    return list(found.values())


def is_template(draft: dict) -> bool:
    return any(True for _ in _spots(draft))


# ---------------------------------------------------------------- filling


def fill(draft: dict, row: dict[str, Any]) -> dict:
    """A copy of `draft` with every field replaced by the row's value (or its default)."""
    values = {f.name: _value(f, row.get(f.name)) for f in fields(draft)}
    return _filled(draft, values)


def preview(draft: dict) -> dict:
    """A copy of `draft` for looking at the template itself: defaults where there are some,
    and stand-ins elsewhere (text shows its placeholder, a medium keeps its written path)."""
    values = {f.name: _value(f, f.default) if f.default is not None else STAND_INS.get(f.type, f"{{{{{f.name}}}}}")
              for f in fields(draft)}
    return _filled(draft, values)


def _filled(draft: dict, values: dict[str, Any]) -> dict:
    filled = copy.deepcopy(draft)
    for spot in _spots(filled):
        spot.replace(values)
    return filled


def _value(f: Field, given: Any) -> Any:
    """The row's value for `f`, checked against its type and converted for the draft."""
    if given is None or (isinstance(given, float) and math.isnan(given)):  # pandas writes NaN for a blank cell
        given = None
    if given is None or (given == "" and f.type != "text"):
        if f.default is None:
            raise InvalidData(f"field {f.name!r} is required ({TYPE_HINTS[f.type]})", field=f.name)
        given = f.default
    if isinstance(given, (bool, dict, list)):
        raise InvalidData(f"field {f.name!r} must be {TYPE_HINTS[f.type]}, not {json.dumps(given)}", field=f.name)
    if f.type == "number":
        number = _number(given)
        if number is None:
            raise InvalidData(f"field {f.name!r} must be {TYPE_HINTS['number']}, not {str(given)[:40]!r}",
                              field=f.name)
        return number
    text = format_value(given)
    if f.type == "color":
        m = HEX_COLOR.fullmatch(text.strip())
        if m is None:
            raise InvalidData(f"field {f.name!r} must be {TYPE_HINTS['color']}, not {text[:40]!r}", field=f.name)
        return "#" + m.group(1).upper()
    if f.type in ("image", "video", "audio"):
        text = text.strip()
        if not text:
            raise InvalidData(f"field {f.name!r} must be {TYPE_HINTS[f.type]}, not empty", field=f.name)
        if "://" in text and not text.lower().startswith(("http://", "https://")):
            raise InvalidData(f"field {f.name!r} must be an http(s) URL or a path, not {text[:60]!r}", field=f.name)
    return text


def _number(given: Any) -> int | float | None:
    if isinstance(given, (int, float)):
        value = float(given)
    else:
        try:
            value = float(str(given).strip().replace(",", ""))
        except ValueError:
            return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() else value


def format_value(value: Any) -> str:
    """A row's value as text: 7999.0 reads 7999, as a spreadsheet shows it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------- where placeholders stand


@dataclass
class _Spot:
    """One string in the draft that holds placeholders, and how to put values back."""

    text: str
    kind: str  # the type a placeholder that is the whole string gets
    place: str
    replace: Callable[[dict[str, Any]], None]
    default: str | None = None  # overrides the placeholder's own (a medium named by its material_name)

    @property
    def whole(self) -> bool:
        return PLACEHOLDER.fullmatch(self.text.strip()) is not None


def _spots(draft: dict):
    """Every string holding a placeholder, with its type and a setter. Lists and dicts are
    walked; text contents and media materials get their own rules."""
    materials = draft.get("materials")
    if not isinstance(materials, dict):
        materials = {}
    for section, items in materials.items():
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            if section == "texts":
                yield from _text_spots(item)
            elif section in MEDIA_SECTIONS:
                yield from _media_spots(item, MEDIA_SECTIONS[section])
            else:
                yield from _walk(item, f"materials.{section}")
    for key, value in draft.items():
        if key != "materials":
            yield from _walk(value, key, parent=draft, key=key)


def _walk(node: Any, place: str, parent: Any = None, key: Any = None):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{place}.{k}", node, k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, place, node, i)
    elif isinstance(node, str) and PLACEHOLDER.search(node) and parent is not None:
        kind = "color" if isinstance(key, str) and key.lower().endswith("color") else "number"
        yield _Spot(node, kind, place, _setter(parent, key, node, kind))


def _setter(parent: Any, key: Any, written: str, kind: str) -> Callable[[dict[str, Any]], None]:
    def replace(values: dict[str, Any]) -> None:
        m = PLACEHOLDER.fullmatch(written.strip())
        if m is not None and kind != "text":
            parent[key] = values[m.group(1)]
        else:
            parent[key] = substitute(written, values)
    return replace


def substitute(written: str, values: dict[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: format_value(values[m.group(1)]), written)


def _media_spots(item: dict, section_kind: str):
    kind = "image" if item.get("type") == "photo" else section_kind
    name, path = item.get("material_name"), item.get("path")
    if isinstance(name, str) and PLACEHOLDER.fullmatch(name.strip()):
        field_name = PLACEHOLDER.fullmatch(name.strip()).group(1)  # type: ignore[union-attr]

        def replace_medium(values: dict[str, Any]) -> None:
            item["path"] = values[field_name]
            item["material_name"] = values[field_name].replace("\\", "/").rsplit("/", 1)[-1]
        default = path if isinstance(path, str) and path and not PLACEHOLDER.search(path) else None
        yield _Spot(name, kind, f"{kind} {name.strip()}", replace_medium, default=default)
    elif isinstance(path, str) and PLACEHOLDER.search(path):
        yield _Spot(path, kind, f"{kind} path", _setter(item, "path", path, kind if PLACEHOLDER.fullmatch(
            path.strip()) else "text"))
    for key, value in item.items():
        if key not in ("path", "material_name"):
            yield from _walk(value, f"{kind} material", item, key)


def _text_spots(item: dict):
    content = item.get("content")
    parsed = None
    if isinstance(content, str) and content.strip().startswith("{"):
        try:
            parsed = json.loads(content)
        except (ValueError, RecursionError):
            parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("text"), str) and PLACEHOLDER.search(parsed["text"]):
        words = parsed["text"]

        def replace_words(values: dict[str, Any]) -> None:
            text, styles = fill_styled(words, parsed.get("styles"), values)
            item["content"] = json.dumps(dict(parsed, text=text, styles=styles), ensure_ascii=False)
        yield _Spot(words, "text", f"text {_short(words)}", replace_words)
    elif parsed is None and isinstance(content, str) and PLACEHOLDER.search(content):
        yield _Spot(content, "text", f"text {_short(content)}", _setter(item, "content", content, "text"))
    for key, value in item.items():
        if key != "content":
            yield from _walk(value, "text material", item, key)


def _short(words: str) -> str:
    words = " ".join(words.split())
    return repr(words if len(words) <= 40 else words[:39] + "…")


def fill_styled(words: str, styles: Any, values: dict[str, Any]) -> tuple[str, Any]:
    """The words with values in place, and style runs whose ranges still cover the same words.

    Ranges count characters, [start, end). A placeholder's value takes the style of the run the
    placeholder starts in; boundaries inside a placeholder move to the value's end.
    """
    pieces: list[str] = []
    moves: list[tuple[int, int, int]] = []  # (start, end, value length) of each placeholder, in order
    last = 0
    for m in PLACEHOLDER.finditer(words):
        value = format_value(values[m.group(1)])
        pieces += [words[last:m.start()], value]
        moves.append((m.start(), m.end(), len(value)))
        last = m.end()
    pieces.append(words[last:])

    def moved(pos: int) -> int:
        shift = 0
        for start, end, length in moves:
            if pos <= start:
                break
            if pos < end:  # inside the placeholder: after its value
                return start + shift + length
            shift += length - (end - start)
        return pos + shift

    if not isinstance(styles, list):
        return "".join(pieces), styles
    out = []
    for style in styles:
        rng = style.get("range") if isinstance(style, dict) else None
        if isinstance(rng, list) and len(rng) == 2 and all(isinstance(v, (int, float)) for v in rng):
            style = dict(style, range=[moved(int(rng[0])), moved(int(rng[1]))])
        elif isinstance(rng, dict) and all(isinstance(rng.get(k), (int, float)) for k in ("start", "end")):
            style = dict(style, range={**rng, "start": moved(int(rng["start"])), "end": moved(int(rng["end"]))})
        out.append(style)
    return "".join(pieces), out
