"""The `draftrender` command: render, inspect.

Errors print one line on stderr and exit non-zero; a traceback only with DRAFTRENDER_DEBUG=1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from . import load_draft, render, render_frame
from .errors import DraftRenderError
from .timeline.summary import describe


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except DraftRenderError as e:
        print(f"draftrender: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("draftrender: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the user gets one line, never a traceback
        if os.environ.get("DRAFTRENDER_DEBUG"):
            traceback.print_exc()
        print(f"draftrender: internal error: {type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
        return 70


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="draftrender", description="Render JianYing / CapCut drafts to MP4.")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("render", help="render a draft to an MP4 (or one frame to an image)")
    p.add_argument("source", help="draft_content.json, draft folder, URL or wrapper URL")
    p.add_argument("-o", "--output", help="output file (default: <draft name>.mp4 here)")
    p.add_argument("--frame", type=float, metavar="SECONDS", help="write only the frame at this time, as an image")
    p.add_argument("--fps", type=float, help="output frame rate (default: the draft's)")
    p.add_argument("--scale", type=float, default=1.0, help="resolution scale, e.g. 0.5 for a fast preview")
    p.add_argument("--start", type=float, metavar="SECONDS", help="render from this time")
    p.add_argument("--end", type=float, metavar="SECONDS", help="render up to this time")
    p.add_argument("--codec", choices=["h264", "h265"], default="h264")
    p.add_argument("--encoder", choices=["libx264", "nvenc", "auto"], default="libx264",
                   help="nvenc uses an NVIDIA GPU and falls back to the CPU when it cannot")
    p.add_argument("--crf", type=int, default=20)
    p.add_argument("--preset", default="veryfast")
    p.add_argument("--bitrate", type=int, help="bits per second; overrides --crf")
    p.add_argument("--timeline", help="the timeline id, for draft folders with several")
    p.add_argument("--cache-dir", type=Path, help="where downloaded media are kept")
    p.add_argument("--font-dir", type=Path, action="append", default=[], help="a folder of fonts to prefer")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_render)

    p = sub.add_parser("inspect", help="show a draft's canvas, tracks, materials and fidelity report")
    p.add_argument("source", help="draft_content.json, draft folder, URL or wrapper URL")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--timeline", help="the timeline id, for draft folders with several")
    p.set_defaults(run=cmd_inspect)
    return parser


def cmd_render(args) -> int:
    opts = dict(fps=args.fps, scale=args.scale, start=args.start, end=args.end, codec=args.codec,
                encoder=args.encoder, crf=args.crf, preset=args.preset, bitrate=args.bitrate,
                cache_dir=args.cache_dir, font_dirs=tuple(args.font_dir))
    if args.frame is not None:
        out = Path(args.output or "frame.png")
        render_frame(args.source, args.frame, out, timeline=args.timeline,
                     **{k: v for k, v in opts.items() if k in ("scale", "cache_dir", "font_dirs")})
        print(f"wrote {out}")
        return 0
    bar = None if args.quiet or args.json else ProgressBar(sys.stderr)
    result = render(args.source, args.output, timeline=args.timeline, progress=bar, **opts)
    if bar:
        bar.finish()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return 0
    print(f"wrote {result.output} ({result.width}x{result.height}, {result.fps} fps, {result.duration:.2f} s, "
          f"{result.size_bytes / 1e6:.1f} MB, {result.encoder}) in {sum(result.timings.values()):.1f} s")
    if result.fidelity:
        print(f"fidelity: {len(result.fidelity)} feature(s) approximated or ignored "
              f"(see `draftrender inspect`):")
        for n in result.fidelity:
            print(f"  {n.status:<12} {n.feature}: {n.reason}")
    return 0


class ProgressBar:
    """A one-line progress bar on a terminal; silent elsewhere, so logs stay clean."""

    def __init__(self, stream):
        self.stream = stream
        self.live = stream.isatty()

    def __call__(self, event: dict) -> None:
        if not self.live or not event["total"]:
            return
        frac = min(event["done"] / event["total"], 1.0)
        filled = int(frac * 30)
        self.stream.write(f"\r{event['stage']:<8} [{'#' * filled}{'.' * (30 - filled)}] {frac:6.1%}")
        self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\n")


def cmd_inspect(args) -> int:
    tl = load_draft(args.source, timeline=args.timeline)
    info = describe(tl)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    print(format_inspect(info))
    return 0


def seconds(us: int) -> str:
    return f"{us / 1e6:.3f}s"


def format_inspect(info: dict) -> str:
    c = info["canvas"]
    lines = [
        f"draft     {info['origin']}",
        f"canvas    {c['width']}x{c['height']} @ {info['fps']} fps, {seconds(info['duration_us'])}",
        "",
        "tracks",
    ]
    for t in info["tracks"]:
        muted = " (muted)" if t["muted"] else ""
        lines.append(f"  [{t['index']}] {t['type']:<7} {t['name']}{muted}: {len(t['segments'])} segments")
        for s in t["segments"]:
            what = s.get("text") or s.get("material_path") or s.get("effect") or s.get("material_kind", "")
            what = " ".join(str(what).split())
            extra = []
            if "speed" in s:
                extra.append(f"speed {s['speed']:g}")
            if s.get("reverse"):
                extra.append("reverse")
            if "transition" in s:
                extra.append(f"transition {s['transition']['name']}")
            if "keyframes" in s:
                extra.append("keyframes " + ",".join(s["keyframes"]))
            tail = f"  [{'; '.join(extra)}]" if extra else ""
            lines.append(f"      {seconds(s['start_us']):>9} +{seconds(s['duration_us']):<9} {what[:60]}{tail}")
    lines += ["", "materials"]
    for m in info["materials"]:
        state = "MISSING" if m["missing"] else "ok"
        lines.append(f"  {m['kind']:<6} {state:<8} {m['location']}")
        if m["missing"] and m["looked_in"]:
            lines.append(f"         looked in: {'; '.join(m['looked_in'])}")
    lines += ["", "fidelity"]
    if not info["fidelity"]:
        lines.append("  everything in the draft is rendered as written")
    for n in info["fidelity"]:
        where = "draft" if n["track"] is None else f"track {n['track']}" + (
            "" if n["segment"] is None else f" segment {n['segment']}")
        lines.append(f"  {n['status']:<12} {where}: {n['feature']} ({n['reason']})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
