"""Templates: a pyJianYingDraft draft with text, image, colour and number fields, filled from
rows and rendered at 320×180; the pixels show each value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from drafts import read_json, track_json
from media_factory import make_image
from template_drafts import YELLOW, product_template, set_runs

import draftrender
from draftrender.errors import InvalidData
from draftrender.timeline.templates import fields, fill, fill_styled

RED = (220, 20, 20)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("templates")
    folder = product_template(root)
    make_image(folder / "media" / "red.png", (100, 100), RED)
    return folder


def frame(source, **kw) -> np.ndarray:
    return draftrender.render_frame(source, 0.5, **kw).astype(int)


def near(pixel, rgb, tol=12) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel) - rgb) <= tol))


def coloured(region: np.ndarray, rgb, tol=40) -> int:
    """How many pixels of the region are close to `rgb`."""
    return int(np.all(np.abs(region - rgb) <= tol, axis=-1).sum())


def test_fields_with_types_and_defaults(template):
    found = {f.name: f.to_json() for f in fields(read_json(template))}
    assert [(n, f["type"], f["default"]) for n, f in found.items()] == [
        ("bg_color", "color", "#336699ff"), ("product_name", "text", None), ("price", "text", "9.99"),
        ("product_image", "image", "media/placeholder.png"), ("zoom", "number", "0.5")]
    assert found["product_name"]["required"] and not found["price"]["required"]


def test_a_filled_template_shows_each_value(template):
    row = {"product_name": "Cola", "price": 3.5, "product_image": "media/red.png", "bg_color": "#00FF00",
           "zoom": 0.8}
    img = frame(template, data=row)
    assert near(img[90, 80], RED)  # the image field, centred at x 80
    assert near(img[90, 20], RED)  # zoom 0.8: 144 px wide, so x 20 is inside it (at 0.5 it is not)
    assert near(img[5, 5], (0, 255, 0)) and near(img[175, 315], (0, 255, 0))  # the colour field
    text = img[60:120, 170:310]
    assert coloured(text, (255, 255, 255)) > 30 and coloured(text, np.array(YELLOW) * 255) > 30

    # The same draft with the values written in, the style runs counted by hand, renders the same.
    literal = read_json(template)
    words = "Cola\n¥3.5"
    text_id = track_json(literal, "caption")["segments"][0]["material_id"]
    set_runs(next(m for m in literal["materials"]["texts"] if m["id"] == text_id), words, words.index("¥"))
    literal["materials"]["canvases"][0]["color"] = "#00FF00"
    literal["materials"]["videos"][0].update(path="media/red.png", material_name="red.png")
    track_json(literal, "main")["segments"][0]["clip"]["scale"] = {"x": 0.8, "y": 0.8}
    written = template / "literal.json"  # beside the template, so media/red.png resolves the same
    written.write_text(json.dumps(literal, ensure_ascii=False), encoding="utf-8")
    assert np.array_equal(img, frame(written))


def test_defaults_and_the_template_itself(template):
    img = frame(template, data={"product_name": "Tea"})
    assert near(img[90, 80], (128, 128, 128)) and not near(img[90, 20], (128, 128, 128))  # zoom 0.5
    assert near(img[5, 5], (0x33, 0x66, 0x99))
    shown = frame(template)  # no data: defaults, and the placeholder's own words where there is none
    assert coloured(shown[60:120, 170:310], (255, 255, 255)) > coloured(img[60:120, 170:310], (255, 255, 255))


def test_an_image_field_may_be_a_url(template, http_server):
    url = http_server.serve("/red.png", (template / "media" / "red.png").read_bytes(), content_type="image/png")
    img = frame(template, data={"product_name": "Cola", "product_image": url})
    assert near(img[90, 80], RED)


@pytest.mark.parametrize("row, field, words", [
    ({"product_name": "A", "zoom": "abc"}, "zoom", "field 'zoom' must be a number such as 7999 or 9.99, not 'abc'"),
    ({"price": 1}, "product_name", "field 'product_name' is required (any text)"),
    ({"product_name": "A", "bg_color": "red"}, "bg_color", "must be a colour #RRGGBB or #RRGGBBAA, not 'red'"),
    ({"product_name": "A", "product_image": "ftp://x/y.png"}, "product_image", "must be an http(s) URL or a path"),
    ({"product_name": ["A"]}, "product_name", "field 'product_name' must be any text, not [\"A\"]"),
])
def test_a_value_of_the_wrong_type_names_its_field(template, row, field, words):
    with pytest.raises(InvalidData) as e:
        fill(read_json(template), row)
    assert e.value.field == field and words in str(e.value)
    assert e.value.to_json()["field"] == field and e.value.status == 400


def test_numbers_from_a_spreadsheet_read_as_written():
    draft = {"materials": {"texts": [{"id": "t", "content": json.dumps({"text": "¥{{price}}", "styles": []})}]},
             "tracks": [{"segments": [{"volume": "{{gain|1}}"}]}]}
    filled = fill(draft, {"price": 7999.0, "gain": "0.25"})
    assert json.loads(filled["materials"]["texts"][0]["content"])["text"] == "¥7999"
    assert filled["tracks"][0]["segments"][0]["volume"] == 0.25
    assert draft["tracks"][0]["segments"][0]["volume"] == "{{gain|1}}"  # the template is left as it was


def test_style_runs_follow_the_words():
    words = "Hi {{name}}, only {{price|1}}!"
    styles = [{"range": [0, 3], "id": "a"}, {"range": [3, 12], "id": "b"}, {"range": [12, 18], "id": "c"},
              {"range": {"start": 18, "end": len(words)}, "id": "d"}]
    text, out = fill_styled(words, styles, {"name": "Ann", "price": 25})
    assert text == "Hi Ann, only 25!"
    # "Hi " | "Ann," | " only " | "25!": each run keeps its words
    assert [s["range"] for s in out] == [[0, 3], [3, 7], [7, 13], {"start": 13, "end": 16}]
    # A boundary inside a placeholder moves to the end of its value.
    _, out = fill_styled("{{name}}", [{"range": [0, 4]}, {"range": [4, 8]}], {"name": "Bob"})
    assert [s["range"] for s in out] == [[0, 3], [3, 3]]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "draftrender", *args], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_cli_lists_fields_and_renders_a_row(template, tmp_path):
    listed = run_cli("template", "fields", str(template), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[1].split()[:3] == ["product_name", "text", "required"]
    assert lines[4].split()[:4] == ["zoom", "number", "default", "'0.5'"]
    as_json = json.loads(run_cli("template", "fields", str(template), "--json", cwd=tmp_path).stdout)
    assert [f["name"] for f in as_json] == ["bg_color", "product_name", "price", "product_image", "zoom"]

    (tmp_path / "row.csv").write_text("product_name,price,product_image,bg_color\nCola,3.5,"
                                      f"{template / 'media' / 'red.png'},#00ff00\n", encoding="utf-8")
    done = run_cli("render", str(template), "--data", "row.csv", "--frame", "0.5", "-o", "still.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    from PIL import Image
    img = np.asarray(Image.open(tmp_path / "still.png").convert("RGB")).astype(int)
    assert near(img[90, 80], RED) and near(img[5, 5], (0, 255, 0))

    (tmp_path / "bad.json").write_text('{"product_name": "Cola", "zoom": "big"}', encoding="utf-8")
    bad = run_cli("render", str(template), "--data", "bad.json", "-o", "bad.mp4", cwd=tmp_path)
    assert bad.returncode == 1 and not (tmp_path / "bad.mp4").exists()
    assert bad.stderr.strip() == ("draftrender: error: field 'zoom' must be a number such as 7999 or 9.99, "
                                  "not 'big'")
