"""The benchmark harness end to end on the smoke scenario: every tool renders it in a child
process, and the report has a measured row per tool. No timing is asserted: CI machines vary."""

from __future__ import annotations

import json
import re

import av
import pytest

from draftrender.bench import report
from draftrender.cli import main

pytest.importorskip("imageio_ffmpeg", reason="the bench extra is not installed")
pytest.importorskip("moviepy", reason="the bench extra is not installed")

TOOLS = ("draftrender", "ffmpeg", "moviepy")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """`draftrender bench` on the smoke scenario once; (work folder, JSON rows, printed report)."""
    work = tmp_path_factory.mktemp("bench")
    out = work / "figures.json"
    code = main(["bench", "--scenario", "smoke", "--repeat", "1", "--json", str(out), "--work-dir", str(work)])
    assert code == 0
    return work, json.loads(out.read_text(encoding="utf-8"))


def test_each_tool_writes_the_scenarios_mp4(smoke):
    work, _ = smoke
    for tool in TOOLS:
        with av.open(str(work / "smoke" / f"{tool}.mp4")) as c:
            video = c.streams.video[0]
            assert (video.width, video.height) == (320, 180), tool
            assert video.frames == 90, tool  # 3 s at 30 fps
            assert c.streams.audio, f"{tool} wrote no sound"


def test_json_has_a_row_per_tool_with_the_issue_keys(smoke):
    _, rows = smoke
    assert [r["tool"] for r in rows] == list(TOOLS)
    for r in rows:
        assert {"scenario", "tool", "wall_s", "peak_rss_mb", "ratio_vs_ffmpeg", "ratio_vs_moviepy"} <= r.keys()
        assert r["scenario"] == "smoke" and not r["errors"], r["errors"]
        assert r["wall_s"] > 0 and r["peak_rss_mb"] > 0
        assert r["output"]["width"] == 320 and r["output"]["has_audio"]
    by_tool = {r["tool"]: r for r in rows}
    assert by_tool["ffmpeg"]["ratio_vs_ffmpeg"] == 1.0
    assert by_tool["draftrender"]["ratio_vs_moviepy"] == pytest.approx(
        by_tool["draftrender"]["wall_s"] / by_tool["moviepy"]["wall_s"], rel=0.01)


def test_draftrender_row_carries_its_stage_profile(smoke):
    _, rows = smoke
    dr = next(r for r in rows if r["tool"] == "draftrender")
    assert {"composite", "encode", "encode_audio"} <= dr["stages"].keys()
    assert all(0 <= seconds <= dr["wall_s"] for seconds in dr["stages"].values())  # stages may overlap
    printed = report.profile(dr)  # the sound encoder's time is its CPU time, and says so
    assert re.search(r"composite \d+\.\d s", printed) and re.search(r"encode_audio \d+\.\d CPU s", printed)


def test_unknown_scenario_is_one_line_error(capsys):
    assert main(["bench", "--scenario", "nope", "--work-dir", "unused"]) == 1
    err = capsys.readouterr().err
    assert "unknown scenario 'nope'" in err and "showcase" in err


def x264_options(path) -> str:
    """The options libx264 wrote into the stream's first SEI ("... options: cabac=1 ref=1 ...")."""
    data = path.read_bytes()
    start = data.index(b"options: ")
    return data[start:data.index(b"\x00", start)].decode("ascii", "replace")


def test_every_tool_encodes_with_the_benchs_preset(smoke):
    work, rows = smoke
    for tool in TOOLS:
        assert " subme=2 " in x264_options(work / "smoke" / f"{tool}.mp4"), tool  # veryfast's subpel search
    assert all(r["encoding"]["preset"] == "veryfast" and r["encoding"]["crf"] == 20 for r in rows)


def test_preset_option_reaches_every_tool(tmp_path, capsys):
    out = tmp_path / "figures.json"
    code = main(["bench", "--scenario", "smoke", "--repeat", "1", "--preset", "ultrafast", "--json", str(out),
                 "--work-dir", str(tmp_path)])
    assert code == 0
    for tool in TOOLS:
        assert " subme=0 " in x264_options(tmp_path / "smoke" / f"{tool}.mp4"), tool  # ultrafast's
    assert {r["encoding"]["preset"] for r in json.loads(out.read_text(encoding="utf-8"))} == {"ultrafast"}
    assert "every tool encodes with libx264 preset ultrafast crf 20" in capsys.readouterr().out


def test_unknown_preset_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--preset", "warp", "--work-dir", "unused"])
    assert "invalid choice: 'warp'" in capsys.readouterr().err
