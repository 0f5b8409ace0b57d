"""`draftrender inspect`, run as a user runs it: a subprocess on a draft folder written by pyJianYingDraft."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from drafts import SEC, full_pyjy_draft, read_json, write_json


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "draftrender", *args], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8", timeout=60)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return full_pyjy_draft(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def inspected(folder) -> dict:
    result = run("inspect", str(folder), "--json", cwd=folder.parent)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


def test_inspect_json_describes_the_draft(folder, inspected):
    assert inspected["canvas"] == {"width": 1920, "height": 1080}
    assert (inspected["fps"], inspected["duration_us"]) == (30, 3 * SEC)
    assert [t["type"] for t in inspected["tracks"]] == ["video", "video", "audio", "text", "sticker", "effect",
                                                       "filter"]
    main = inspected["tracks"][0]["segments"]
    assert [(s["start_us"], s["duration_us"]) for s in main] == [(0, SEC), (SEC, SEC), (2 * SEC, SEC)]
    media = folder / "media"
    assert [s["material_path"] for s in main] == [str(media / "clip_a.mp4")] * 2 + [str(media / "photo.png")]
    assert inspected["tracks"][2]["segments"][0]["material_path"] == str(media / "bgm.wav")
    assert [s["text"] for s in inspected["tracks"][3]["segments"]] == ["你好 World", "竖排"]
    assert main[1]["speed"] == 2.0
    assert main[0]["transition"] == {"name": "叠化", "duration_us": 400_000}


def test_inspect_json_fidelity_report(inspected):
    fidelity = inspected["fidelity"]
    assert fidelity, "the draft uses stickers, which are never rendered"
    for note in fidelity:
        assert set(note) == {"track", "segment", "feature", "status", "reason"}
        assert note["status"] in ("approximated", "ignored") and note["reason"]
    assert {"track": 4, "segment": 0, "feature": "sticker 7226264888031284538", "status": "ignored",
            "reason": "stickers are editor resources known only by id"} in fidelity


def test_inspect_human_output(folder, inspected):
    result = run("inspect", str(folder / "draft_content.json"), cwd=folder)
    assert result.returncode == 0 and result.stderr == ""
    out = result.stdout
    assert "canvas    1920x1080 @ 30 fps, 3.000s" in out
    assert "  [0] video   main: 3 segments" in out
    assert "  [3] text    caption: 2 segments" in out
    assert "你好 World" in out
    assert f"  video  ok       {folder / 'media' / 'clip_a.mp4'}" in out
    for note in inspected["fidelity"]:
        assert f"{note['feature']} ({note['reason']})" in out


def test_inspect_shows_missing_media_and_where_it_looked(tmp_path, folder):
    data = read_json(folder)
    data["materials"]["videos"][0]["path"] = "C:\\Users\\x\\clip_a.mp4"
    moved = tmp_path / "moved"
    moved.mkdir()
    write_json(moved, data)
    result = run("inspect", str(moved), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  video  MISSING  C:\\Users\\x\\clip_a.mp4" in result.stdout
    assert f"looked in: files named 'clip_a.mp4' inside {moved.resolve()}" in result.stdout


def deep_json(depth: int) -> str:
    return '{"tracks": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("name, content, fragment", [
    ("missing", None, "no such draft file or folder: "),
    ("not_json", "{ this is not json", "invalid JSON in draft "),
    ("empty_object", "{}", "has no tracks and no materials"),
    ("nested", deep_json(100_000), "is nested too deeply to read"),
    ("negative", "NEGATIVE", "tracks[0].segments[2].target_timerange has a negative duration"),
])
def test_bad_input_is_one_line_on_stderr(tmp_path, folder, name, content, fragment):
    draft = tmp_path / name
    if content == "NEGATIVE":
        data = read_json(folder)
        data["tracks"][0]["segments"][2]["target_timerange"]["duration"] = -1
        content = json.dumps(data)
    if content is not None:
        draft.mkdir()
        (draft / "draft_content.json").write_text(content, encoding="utf-8")
    # --json changes nothing about errors: the human form is checked once, on the first case.
    result = run("inspect", str(draft), *(() if name == "missing" else ("--json",)), cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    # With --json the whole error is also printed as JSON on stdout.
    assert result.stdout == "" if name == "missing" else json.loads(result.stdout)["message"] in lines[0]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("draftrender: error: "), lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_no_command_prints_usage_and_fails(tmp_path):
    result = run(cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: draftrender" in result.stderr


def test_a_render_never_imports_the_benchmark_harness(tmp_path):
    folder = full_pyjy_draft(tmp_path)
    probe = ("import sys, draftrender.cli as cli; code = cli.main(sys.argv[1:]); "
             "print(sorted(m for m in sys.modules if m.startswith('draftrender.bench'))); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe, "render", str(folder), "-o", str(tmp_path / "out.mp4"),
                           "--end", "0.2", "-q"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
