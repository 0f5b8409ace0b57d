"""Times the 2-minute 320×180 test draft rendered in one process and in chunks on 1 and 2
worker processes (the parts `draftrender worker`s render, on this machine), and checks each
chunked output against the single-process one. Needs the test dependencies:

    .venv/bin/python benchmarks/chunked.py [--repeat 3] [--chunk-seconds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from long_draft import compare, long_draft

from draftrender import load_draft
from draftrender.render.chunks import in_processes, render_chunked
from draftrender.render.pipeline import RenderOptions, render_timeline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk-seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        tl = load_draft(long_draft(root))
        opts = RenderOptions()
        runs: dict[str, list[float]] = {"single process": [], "chunked, 1 worker": [], "chunked, 2 workers": []}
        for _ in range(args.repeat):
            t = time.perf_counter()
            render_timeline(tl, root / "single.mp4", opts)
            runs["single process"].append(time.perf_counter() - t)
            for workers in (1, 2):
                out = root / f"chunked{workers}.mp4"
                t = time.perf_counter()
                render_chunked(tl, out, opts, args.chunk_seconds, in_processes(tl, opts, workers))
                runs[f"chunked, {workers} worker{'s' if workers > 1 else ''}"].append(time.perf_counter() - t)
        for name, times in runs.items():
            print(f"{name:20s} median {statistics.median(times):6.1f} s   runs {', '.join(f'{s:.1f}' for s in times)}")
        print("chunked (2 workers) against single:", compare(root / "single.mp4", root / "chunked2.mp4"))


if __name__ == "__main__":
    main()
