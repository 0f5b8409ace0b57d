"""The holes a hostile probe of the service found (issue 16), each closed and kept closed:
every test drives the real service on loopback the way the probe did."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from drafts import draft_file, edit_json
from service_harness import tiny_draft


def swap_cube(path: Path, n: int = 3) -> Path:
    """A .cube LUT that swaps red and blue."""
    rows = [f"{b / (n - 1)} {g / (n - 1)} {r / (n - 1)}" for b in range(n) for g in range(n) for r in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"LUT_3D_SIZE {n}\n" + "\n".join(rows) + "\n")
    return path


def first_frame(data: bytes, tmp: Path) -> np.ndarray:
    tmp.write_bytes(data)
    with av.open(str(tmp)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def with_lut(folder: Path, lut_path: str) -> None:
    def edit(d: dict) -> None:
        d["materials"].setdefault("effects", []).append({"id": "lut1", "type": "lut", "name": "swap",
                                                         "path": lut_path, "value": 1.0})
        d["tracks"][0]["segments"][0]["extra_material_refs"].append("lut1")
    edit_json(folder, edit)


def test_lut_files_pass_the_media_roots(tmp_path, start_service, http_server):
    """A LUT is read only under --media-root: /dev/zero or a .cube elsewhere is left out and
    reported; one inside a root is applied."""
    inside = swap_cube(tmp_path / "library" / "swap.cube")
    outside = swap_cube(tmp_path / "elsewhere" / "swap.cube")
    service = start_service(media_roots=(tmp_path / "library",))
    results = {}
    for name, lut in (("inside", str(inside)), ("outside", str(outside)), ("zero", "/dev/zero"),
                      ("relative", "swap.cube")):
        folder = tiny_draft(tmp_path / name, color=(200, 90, 40))
        with_lut(folder, lut)
        http_server.serve(f"/{name}/media/clip.mp4", (folder / "media" / "clip.mp4").read_bytes())
        url = http_server.serve(f"/{name}/draft_content.json", draft_file(folder).read_bytes())
        reply = service.gen_video(url)
        assert reply.status == 200, reply.body
        pixel = first_frame(service.download(reply.json["video_url"]).body, tmp_path / f"{name}.mp4")[90, 160]
        results[name] = (pixel, [n["reason"] for n in reply.json["fidelity"] if n["feature"] == "LUT swap"])

    pixel, notes = results["inside"]
    assert pixel[2] > 150 and pixel[0] < 90 and notes == []  # red and blue swapped
    for name in ("outside", "zero", "relative"):
        pixel, notes = results[name]
        assert pixel[0] > 150 and pixel[2] < 90, name  # left out: the clip's own colour
        assert len(notes) == 1, (name, notes)
    assert "outside the allowed media folders" in results["outside"][1][0]
    assert "outside the allowed media folders" in results["zero"][1][0]
    assert "is not a local file" in results["relative"][1][0]
