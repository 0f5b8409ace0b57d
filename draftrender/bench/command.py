"""`draftrender bench`: its options, and the run that prints the report."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from .scenarios import DEFAULT_SCENARIOS, ENCODING, PRESETS, SCENARIOS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="draftrender bench",
                                description="time draftrender against an ffmpeg filter graph and MoviePy")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help=f"one of {', '.join(SCENARIOS)} or all (repeatable or comma-separated; "
                        f"default: {','.join(DEFAULT_SCENARIOS)})")
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per tool; the wall time is their median")
    p.add_argument("--preset", choices=PRESETS, default=ENCODING.preset,
                   help=f"the x264 preset every tool encodes with (default {ENCODING.preset}; crf {ENCODING.crf})")
    p.add_argument("--tools", default="draftrender,ffmpeg,moviepy", help="comma-separated: draftrender,ffmpeg,moviepy")
    p.add_argument("--json", nargs="?", const="-", metavar="PATH",
                   help="write the figures as JSON to PATH (or to stdout, instead of the table)")
    p.add_argument("--work-dir", type=Path, help="media, drafts and outputs (default ~/.cache/draftrender/bench)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="give up on a run after this long")


def names(values: list[str] | None) -> list[str]:
    picked = [n.strip() for v in (values or [",".join(DEFAULT_SCENARIOS)]) for n in v.split(",") if n.strip()]
    if "all" in picked:
        return list(SCENARIOS)
    unknown = [n for n in picked if n not in SCENARIOS]
    if unknown:
        from .harness import BenchUnavailable

        raise BenchUnavailable(f"unknown scenario {unknown[0]!r}: choose from {', '.join(SCENARIOS)} or all")
    return list(dict.fromkeys(picked))


def run(args) -> int:
    from . import report
    from .harness import BenchUnavailable, default_work_dir, measure

    if args.repeat < 1:
        raise BenchUnavailable("--repeat must be at least 1")
    scenarios = [SCENARIOS[n] for n in names(args.scenario)]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    work = (args.work_dir or default_work_dir()).resolve()
    enc = replace(ENCODING, preset=args.preset)
    results = measure(scenarios, tools, args.repeat, work, args.timeout,
                      say=lambda msg: print(msg, file=sys.stderr, flush=True), enc=enc)
    table = report.rows(results)
    goals = report.targets(table)
    host, build = report.machine(), report.build()
    for row in table:
        if row["tool"] == "draftrender":
            row["targets"] = [g.to_json() for g in goals if g.scenario == row["scenario"]]
        row["machine"], row["draftrender"], row["encoding"] = host, build, asdict(enc)
    if args.json:
        doc = json.dumps(table, ensure_ascii=False, indent=2)
        if args.json == "-":
            print(doc)
            return 0
        Path(args.json).write_text(doc + "\n", encoding="utf-8")
    print(report.text(table, goals, args.repeat, enc))
    return 0 if all(not row["errors"] for row in table) else 1
