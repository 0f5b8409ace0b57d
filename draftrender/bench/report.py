"""Figures from the measured runs: medians, ratios between tools, the issue's targets, and
the text table and JSON rows that `draftrender bench` prints."""

from __future__ import annotations

import os
import platform
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from .harness import Measured
from .scenarios import ENCODING, Encoding

# The stages the issue asks draftrender to profile; RenderResult.timings names what it measures.
STAGES = ("download", "decode", "composite", "text", "effects", "audio", "encode")
CPU_STAGES = ("encode_audio",)  # RenderResult.timings in CPU seconds; the others are wall seconds
RSS_LIMIT_MB = 400


@dataclass
class Target:
    scenario: str
    name: str
    value: str
    met: bool | None  # None: a figure it needs was not measured in this run

    def to_json(self) -> dict:
        return {"scenario": self.scenario, "target": self.name, "value": self.value, "met": self.met}


def probe(path) -> dict:
    """Size, duration and streams of an output MP4; empty when there is none."""
    import av

    if not path.exists():
        return {}
    with av.open(str(path)) as c:
        v = c.streams.video[0] if c.streams.video else None
        duration = (float(v.duration * v.time_base) if v is not None and v.duration and v.time_base else
                    (c.duration or 0) / 1e6)
        return {"width": v.width if v else 0, "height": v.height if v else 0, "duration_s": round(duration, 3),
                "frames": v.frames if v else 0, "has_audio": bool(c.streams.audio),
                "size_bytes": path.stat().st_size}


def wall(m: Measured) -> float | None:
    ok = [r.wall_s for r in m.runs if r.returncode == 0]
    return median(ok) if ok else None


def cpu(m: Measured) -> float | None:
    ok = [r.cpu_s for r in m.runs if r.returncode == 0]
    return median(ok) if ok else None


def peak_rss(m: Measured) -> float | None:
    """The largest peak over the runs: memory targets are limits, not averages."""
    peaks = [r.peak_rss_mb for r in m.runs if r.returncode == 0 and r.peak_rss_mb is not None]
    return max(peaks) if peaks else None


def stages(m: Measured) -> dict[str, float]:
    """Median seconds per stage over the successful runs."""
    runs = [r.stages for r in m.runs if r.returncode == 0 and r.stages]
    names = [s for s in STAGES if any(s in r for r in runs)] + sorted({k for r in runs for k in r} - set(STAGES))
    return {k: median(r.get(k, 0.0) for r in runs) for k in names}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def rows(results: list[Measured]) -> list[dict]:
    """One JSON object per scenario and tool."""
    walls = {(m.scenario.name, m.tool): wall(m) for m in results}
    out = []
    for m in results:
        w = wall(m)
        sc = m.scenario
        width, height = sc.size
        row: dict[str, Any] = {
            "scenario": sc.name, "tool": m.tool, "wall_s": round(w, 3) if w is not None else None,
            "peak_rss_mb": round(rss, 1) if (rss := peak_rss(m)) is not None else None,
            "ratio_vs_ffmpeg": ratio(w, walls.get((sc.name, "ffmpeg"))),
            "ratio_vs_moviepy": ratio(w, walls.get((sc.name, "moviepy"))),
            "x_realtime": round(sc.seconds / w, 3) if w else None,
            "cpu_s": round(cpu_s, 3) if (cpu_s := cpu(m)) is not None else None,
            "runs": len(m.runs), "wall_s_runs": [round(r.wall_s, 3) for r in m.runs],
            "rss_method": m.runs[0].rss_method if m.runs else "",
            "expected": {"width": width, "height": height, "duration_s": sc.seconds, "fps": sc.comp.fps},
            "output": probe(m.output),
            "unsupported": m.unsupported,
            "errors": [r.error for r in m.runs if r.error],
        }
        if m.tool == "draftrender":
            row["stages"] = {k: round(v, 3) for k, v in stages(m).items()}
            last = next((r for r in reversed(m.runs) if r.returncode == 0), None)
            row["fidelity"] = last.fidelity if last else []
        out.append(row)
    return out


def targets(table: list[dict]) -> list[Target]:
    """The issue's targets for draftrender, judged on this run's figures (the showcase's
    ≤ 1.15 × the encoder floor needs `python -m draftrender.bench.floor` besides)."""
    dr = {r["scenario"]: r for r in table if r["tool"] == "draftrender"}
    out = []

    def add(scenario: str, name: str, value: float | None, limit: float, fmt: str, within: bool = False):
        if value is None:
            out.append(Target(scenario, name, "not measured", None))
            return
        met = abs(value - 1) <= limit if within else value <= limit
        out.append(Target(scenario, name, fmt.format(value), met))

    for name, r in dr.items():
        if name != "smoke":
            add(name, "time ≤ 1.0 × ffmpeg", r["ratio_vs_ffmpeg"], 1.0, "{:.2f} ×")
            add(name, "time ≤ 0.12 × MoviePy", r["ratio_vs_moviepy"], 0.12, "{:.2f} ×")
            add(name, f"peak RSS ≤ {RSS_LIMIT_MB} MB", r["peak_rss_mb"], RSS_LIMIT_MB, "{:.0f} MB")
    if "long" in dr:
        long_, show = dr["long"], dr.get("showcase", {})
        per_s = lambda r: r["wall_s"] / r["expected"]["duration_s"] if r.get("wall_s") else None  # noqa: E731
        growth = ratio(per_s(long_), per_s(show)) if show else None
        add("long", "time grows linearly with duration (±10 %)", growth, 0.10,
            "{:.2f} × the showcase's seconds per output second", within=True)
        rss = ratio(long_["peak_rss_mb"], show.get("peak_rss_mb")) if show else None
        add("long", "peak RSS within 10 % of the showcase's", rss, 0.10, "{:.2f} × the showcase's", within=True)
    if "preview" in dr:
        add("preview", "time ≤ 0.4 × showcase", ratio(dr["preview"]["wall_s"], dr.get("showcase", {}).get("wall_s")),
            0.4, "{:.2f} ×")
    return out


def build() -> dict:
    """Which draftrender was measured: its version, and its git commit when run from a checkout."""
    from .. import __version__

    root = Path(__file__).resolve().parents[2]
    info = {"version": __version__}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=5)
        if commit.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "draftrender"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            info["commit"] = commit.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        ram = 0.0
    # The load average tells a reader whether other work shared the machine during the run.
    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []
    return {"cpus": os.cpu_count(), "cpu": cpu or platform.processor(), "ram_gb": round(ram, 1),
            "python": platform.python_version(), "load_avg": load}


def fmt(value, spec: str, unit: str = "") -> str:
    return "—" if value is None else format(value, spec) + unit


def text(table: list[dict], goals: list[Target], repeat: int, enc: Encoding = ENCODING) -> str:
    """The human-readable report: one table per scenario, draftrender's stages, what each tool
    could not express, then the targets."""
    m = machine()
    load = "/".join(f"{x:.1f}" for x in m["load_avg"]) or "?"
    b = build()
    lines = [f"draftrender {b['version']} {b.get('commit', '')}".rstrip(),
             f"machine: {m['cpus']} CPUs, {m['cpu']}, {m['ram_gb']} GB RAM, load average {load} at the end",
             f"every tool encodes with {enc.video_codec} preset {enc.preset} crf {enc.crf}, {enc.audio_codec} "
             f"{enc.audio_bitrate // 1000} kb/s",
             f"wall and CPU = medians of {repeat} run(s); peak RSS = largest over the runs, summed over each "
             "tool's process tree", ""]
    for name in dict.fromkeys(r["scenario"] for r in table):
        rs = [r for r in table if r["scenario"] == name]
        e = rs[0]["expected"]
        lines.append(f"{name}: {e['duration_s']:g} s at {e['width']}×{e['height']}, {e['fps']} fps")
        lines.append(f"  {'tool':<12}{'wall s':>9}{'x-realtime':>12}{'CPU s':>9}{'peak RSS MB':>13}{'output MB':>11}"
                     f"{'vs ffmpeg':>11}{'vs MoviePy':>12}  check")
        for r in rs:
            size = r["output"].get("size_bytes")
            lines.append(f"  {r['tool']:<12}{fmt(r['wall_s'], '.1f'):>9}{fmt(r['x_realtime'], '.2f', '×'):>12}"
                         f"{fmt(r.get('cpu_s'), '.1f'):>9}{fmt(r['peak_rss_mb'], '.0f'):>13}"
                         f"{fmt(size and size / 1e6, '.1f'):>11}"
                         f"{fmt(r['ratio_vs_ffmpeg'], '.2f', '×'):>11}{fmt(r['ratio_vs_moviepy'], '.2f', '×'):>12}"
                         f"  {check(r)}")
        for r in rs:
            if r["tool"] == "draftrender" and r.get("stages"):
                lines.append("  draftrender stages: " + profile(r))
        for r in rs:
            for feature, why in r["unsupported"].items():
                lines.append(f"  {r['tool']} cannot express {feature}: {why}")
            notes = Counter((n["status"], n["feature"], n["reason"]) for n in r.get("fidelity", []))
            for (status, feature, reason), count in notes.items():
                times = f" ×{count}" if count > 1 else ""
                lines.append(f"  draftrender {status}: {feature}{times} ({reason})")
        lines.append("")
    if goals:
        lines.append("targets (draftrender)")
        for g in goals:
            state = {True: "met", False: "NOT met", None: "not measured"}[g.met]
            lines.append(f"  {g.scenario:<9} {g.name:<44} {g.value:<46} {state}")
    return "\n".join(lines)


def profile(r: dict) -> str:
    """draftrender's stages as seconds and shares of its render. `total` is the render's own wall
    time when the build reports it; stages may overlap (encoding runs on its own thread)."""
    st = dict(r["stages"])
    total = st.pop("total", None)
    base = total or r["wall_s"] or sum(st.values())
    parts = [f"{k} {v:.1f} {'CPU s' if k in CPU_STAGES else 's'} ({v / base:.0%})" for k, v in st.items()]
    if total is not None:
        parts.append(f"render total {total:.1f} s")
    outside = (r["wall_s"] or 0) - (total if total is not None else sum(st.values()))
    parts.append(f"outside the render {outside:.1f} s (start-up, imports, parse)")
    missing = [s for s in STAGES if s not in st]
    tail = f"; not timed separately: {', '.join(missing)}" if missing else ""
    if sum(st.values()) > base * 1.02:
        tail += "; stages overlap"
    return ", ".join(parts) + tail


def check(r: dict) -> str:
    """Whether the output is what the scenario asks for: size, duration (±1 frame), sound."""
    o, e = r["output"], r["expected"]
    if r["errors"] and not o:
        return "FAILED: " + r["errors"][-1]
    if not o:
        return "no output"
    problems = []
    if (o["width"], o["height"]) != (e["width"], e["height"]):
        problems.append(f"{o['width']}×{o['height']}")
    if abs(o["duration_s"] - e["duration_s"]) > 1.5 / e["fps"]:
        problems.append(f"{o['duration_s']:.2f} s")
    if not o["has_audio"]:
        problems.append("no audio")
    return "ok" if not problems else ", ".join(problems)


