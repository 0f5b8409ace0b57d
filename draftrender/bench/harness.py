"""Runs each tool on each scenario in a child process and measures it.

Wall time is taken around the child; peak memory is the largest sum of RSS over the child's
whole process tree (ffmpeg and MoviePy work in several processes), sampled with psutil.
Without psutil it falls back to getrusage, which only sees the largest single process.

Work folder layout: media/ (shared, made once), and per scenario <name>/ with the draft,
the ffmpeg graph and caption files, and <tool>.mp4 / <tool>.log for the last run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DraftRenderError
from . import peers_ffmpeg, peers_moviepy
from .drafts import write_draft
from .media import ensure_media
from .scenarios import ENCODING, Encoding, Scenario

TOOLS = ("draftrender", "ffmpeg", "moviepy")
SAMPLE_S = 0.05  # RSS sampling period: short enough to catch ffmpeg's brief peaks


class BenchUnavailable(DraftRenderError):
    """A tool the benchmark needs is not installed."""


def default_work_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "draftrender" / "bench"


@dataclass
class Run:
    """One child process: how long it took, how much memory its tree held, how it ended."""

    wall_s: float
    peak_rss_mb: float | None
    rss_method: str
    returncode: int
    error: str = ""
    cpu_s: float = 0.0  # user + system time of the child and its reaped descendants
    stages: dict[str, float] = field(default_factory=dict)  # draftrender's own timings
    fidelity: list[dict] = field(default_factory=list)  # what draftrender approximated or ignored


@dataclass
class Measured:
    """A tool on a scenario over the repeats, with its last output."""

    scenario: Scenario
    tool: str
    runs: list[Run]
    output: Path
    unsupported: dict[str, str]


# ---------------------------------------------------------------- the tools


def invocation(tool: str, sc: Scenario, work: Path, media: Path,
               enc: Encoding = ENCODING) -> tuple[list[str], dict[str, str]]:
    """(argv, features the tool cannot express) for rendering `sc` to <work>/<sc>/<tool>.mp4
    with the encoder settings `enc`."""
    folder = work / sc.name
    output = folder / f"{tool}.mp4"
    if tool == "draftrender":
        draft = write_draft(sc.comp, media, folder)
        return [sys.executable, "-m", "draftrender", "render", str(draft), "-o", str(output), "--json", "-q",
                "--crf", str(enc.crf), "--preset", enc.preset, "--scale", f"{sc.scale:g}",
                "--cache-dir", str(work / "cache")], {}
    if tool == "ffmpeg":
        return peers_ffmpeg.command(sc, media, folder, output, enc), used(peers_ffmpeg.UNSUPPORTED, sc)
    if tool == "moviepy":
        argv = [sys.executable, "-m", "draftrender.bench.peers_moviepy", "--scenario", sc.name,
                "--media", str(media), "--output", str(output), "--preset", enc.preset]
        return argv, used(peers_moviepy.UNSUPPORTED, sc)
    raise BenchUnavailable(f"unknown tool {tool!r}: choose from {', '.join(TOOLS)}")


def used(unsupported: dict[str, str], sc: Scenario) -> dict[str, str]:
    """The unsupported features this scenario actually asks for."""
    return {k: why for k, why in unsupported.items() if k in sc.features}


def check_tools(tools: list[str]) -> None:
    """Fail early, with the fix, when a peer's package is missing."""
    needs = {"ffmpeg": "imageio_ffmpeg", "moviepy": "moviepy"}
    for tool in tools:
        if tool not in TOOLS:
            raise BenchUnavailable(f"unknown tool {tool!r}: choose from {', '.join(TOOLS)}")
        module = needs.get(tool)
        if module:
            try:
                __import__(module)
            except ImportError:
                raise BenchUnavailable(f"the {tool} peer needs the {module} package: "
                                       "pip install 'draftrender[bench]'") from None


# ---------------------------------------------------------------- measuring a child


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, self.tree_rss())
            self.done.wait(SAMPLE_S)

    def tree_rss(self) -> int:
        total = 0
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except self.psutil.Error:
            return 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except self.psutil.Error:  # it exited between listing and reading
                pass
        return total


def child_env() -> dict[str, str]:
    """The environment for a child: this draftrender importable even from a checkout that is not
    installed, since children run in the scenario's folder (tools leave temporary files in theirs)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def run_child(argv: list[str], log: Path, timeout: float | None) -> tuple[Run, str]:
    """Run argv in the folder of `log`, stdout captured and stderr to `log`; returns the Run and
    the stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "wb") as err, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, cwd=log.parent,
                                                  env=child_env(), stdin=subprocess.DEVNULL) as proc:
        t0 = time.perf_counter()
        try:
            sampler = TreeSampler(proc.pid)
            sampler.start()
        except Exception:  # noqa: BLE001 - no psutil, or the child is already gone
            sampler = None
        out: list[bytes] = []
        stdout = proc.stdout
        assert stdout is not None  # Popen(stdout=PIPE)
        reader = threading.Thread(target=lambda: out.append(stdout.read()), daemon=True)
        reader.start()
        try:
            code = proc.wait(timeout=timeout)
            error = ""
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            code, error = -9, f"timed out after {timeout:g} s"
        wall = time.perf_counter() - t0
        reader.join()
        if sampler is not None:
            sampler.done.set()
            sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak: float | None
    if sampler is not None and sampler.peak:
        peak, method = sampler.peak / 2**20, "process tree (psutil)"
    else:  # ru_maxrss is in KiB on Linux, and only rises: it names this run only when it rose
        peak, method = (after.ru_maxrss / 1024 if after.ru_maxrss > before.ru_maxrss else None,
                        "largest process (getrusage)")
    if code != 0 and not error:
        error = last_line(log) or f"exit status {code}"
    # CPU time is steadier than wall time on a shared machine: other jobs delay a run, not its work.
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(wall, peak, method, code, error, cpu_s=cpu), b"".join(out).decode("utf-8", "replace")


def kill_tree(proc: subprocess.Popen) -> None:
    try:
        import psutil

        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
    except Exception:  # noqa: BLE001 - best effort: the child itself is killed below
        pass
    proc.kill()
    proc.wait()


def last_line(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


# ---------------------------------------------------------------- the run


def measure(scenarios: list[Scenario], tools: list[str], repeat: int, work: Path,
            timeout: float | None = None, say=lambda msg: None, enc: Encoding = ENCODING) -> list[Measured]:
    """Every tool on every scenario, `repeat` times, tools interleaved within each repeat so that
    a slow spell on a shared machine does not fall on one tool only."""
    check_tools(tools)
    media = ensure_media([m for sc in scenarios for m in sc.comp.media], work / "media",
                         log=lambda msg: say(f"media: {msg}"))
    results = []
    for sc in scenarios:
        (work / sc.name).mkdir(parents=True, exist_ok=True)
        rows = {}
        for tool in tools:
            argv, unsupported = invocation(tool, sc, work, media, enc)
            rows[tool] = (argv, Measured(sc, tool, [], work / sc.name / f"{tool}.mp4", unsupported))
        for r in range(repeat):
            for tool in tools:
                argv, m = rows[tool]
                m.output.unlink(missing_ok=True)
                run, stdout = run_child(argv, work / sc.name / f"{tool}.log", timeout)
                if tool == "draftrender" and run.returncode == 0:
                    read_result(run, stdout)
                m.runs.append(run)
                rss = f"{run.peak_rss_mb:.0f} MB" if run.peak_rss_mb is not None else "? MB"
                say(f"[{sc.name} {r + 1}/{repeat}] {tool:<11} {run.wall_s:8.1f} s  {run.cpu_s:8.1f} CPU s  {rss}"
                    + (f"  FAILED: {run.error}" if run.error else ""))
        results += [m for _, m in rows.values()]
    return results


def read_result(run: Run, stdout: str) -> None:
    """Take the stage timings and fidelity notes from `draftrender render --json`."""
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        return
    run.stages = {k: float(v) for k, v in (data.get("timings") or {}).items()}
    run.fidelity = [n for n in data.get("fidelity") or [] if n.get("status") in ("ignored", "approximated")]
