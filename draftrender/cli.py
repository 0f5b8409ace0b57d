"""The `draftrender` command: render, inspect, template, serve, keys, bench, generate, providers, effects.

Errors print one line on stderr and exit non-zero; a traceback only with DRAFTRENDER_DEBUG=1.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from . import load_draft, render, render_frame
from .errors import DraftRenderError, InvalidData
from .options import add_option_flags, flag_values, render_options
from .generate.command import add_generate_arguments, add_providers_arguments, run_generate, run_providers
from .timeline import load_source
from .timeline.rows import read_rows
from .timeline.summary import describe
from .timeline.templates import fields


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, `timeout`): unwinds like Ctrl-C, so the partial output is removed."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv[:1] == ["bench"]:
        # Its options are the harness's, parsed there: a render never imports bench/.
        from .bench.command import parser as bench_parser

        args = bench_parser().parse_args(argv[1:])
        args.command, args.run = "bench", cmd_bench
    else:
        args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.run(args)
    except DraftRenderError as e:
        print(f"draftrender: error: {e}", file=sys.stderr)
        if getattr(args, "json", False):  # the whole error, e.g. every unreachable medium
            print(json.dumps({"status": e.status, **e.to_json()}, ensure_ascii=False, indent=2))
        return 1
    except Terminated:
        print("draftrender: terminated", file=sys.stderr)
        return 143
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
    add_option_flags(p)
    p.add_argument("--timeline", help="the timeline id, for draft folders with several")
    p.add_argument("--data", type=Path, metavar="ROW.json|ROW.csv",
                   help="fill a template's {{fields}} from this JSON object or one-row CSV/XLSX table")
    p.add_argument("--row", type=int, metavar="N", help="with --data: the table's Nth data row (from 1)")
    p.add_argument("--cache-dir", type=Path, help="where downloaded media (and generated clips) are kept")
    p.add_argument("--providers", type=Path, metavar="FILE",
                   help="the providers file, for materials that generate their clips (see `draftrender providers`)")
    p.add_argument("--placeholders", action="store_true",
                   help="a clip that cannot be generated shows a grey placeholder (named in the fidelity report) "
                        "instead of failing the render")
    p.add_argument("--font-dir", type=Path, action="append", default=[], help="a folder of fonts to prefer")
    p.add_argument("--chunk-seconds", type=float, metavar="S",
                   help="a draft longer than this renders in chunks of about S seconds, joined without re-encoding")
    p.add_argument("--chunk-workers", type=int, default=2, metavar="N", help="processes rendering chunks at once")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_render)

    p = sub.add_parser("inspect", help="show a draft's canvas, tracks, materials and fidelity report")
    p.add_argument("source", help="draft_content.json, draft folder, URL or wrapper URL")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--timeline", help="the timeline id, for draft folders with several")
    p.set_defaults(run=cmd_inspect)

    p = sub.add_parser("template", help="a template draft's {{fields}}")
    tsub = p.add_subparsers(dest="template_command", required=True)
    t = tsub.add_parser("fields", help="list the fields a template draft expects, with their types")
    t.add_argument("source", help="draft_content.json, draft folder, URL or wrapper URL")
    t.add_argument("--json", action="store_true", help="print a JSON list")
    t.add_argument("--timeline", help="the timeline id, for draft folders with several")
    t.set_defaults(run=cmd_template_fields)

    p = sub.add_parser("serve", help="run the gen_video HTTP service")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data-dir", type=Path, help="tasks, drafts, videos and the media cache "
                                                 "(default: ~/.local/share/draftrender/server)")
    p.add_argument("--workers", type=int, help="renders at once, each in its own process")
    p.add_argument("--queue-size", type=int, default=32, help="tasks that may wait for a worker; more get 503")
    p.add_argument("--api-key", action="append", default=[], metavar="KEY",
                   help="require Authorization: Bearer KEY "
                        "(repeatable; a key here shows in ps: prefer --api-keys-file)")
    p.add_argument("--api-keys-file", type=Path, metavar="FILE", help="API keys, one a line")
    p.add_argument("--admin-keys-file", type=Path, metavar="FILE",
                   help="API keys that see every task, one a line (any other key sees only its own tasks)")
    p.add_argument("--allow-private-urls", action="store_true",
                   help="let drafts and media come from private, loopback and link-local addresses")
    p.add_argument("--media-root", type=Path, action="append", default=[], metavar="DIR",
                   help="a folder drafts may name local media in (repeatable; default: none)")
    p.add_argument("--task-timeout", type=float, default=1800.0, metavar="S", help="seconds per render (504 after)")
    p.add_argument("--retention-hours", type=float, default=24.0, metavar="H",
                   help="finished tasks and their videos are removed after this long")
    p.add_argument("--public-url", metavar="BASE", help="base of video_url, e.g. https://render.example.com")
    p.add_argument("--max-draft-mb", type=float, default=32.0, help="largest draft JSON fetched")
    p.add_argument("--max-media-mb", type=float, default=2048.0, help="largest medium downloaded")
    p.add_argument("--webhook-secret", metavar="SECRET",
                   help="signs VideoMatic webhooks of callers without a key of their own (see draftrender keys)")
    scale_out_arguments(p, "render nothing here: put each render on the broker, for `draftrender worker`s")
    p.add_argument("--max-output-pixels", type=int, default=4096 * 2160, metavar="N",
                   help="largest video area rendered, width × height (default: 4096×2160, 4K)")
    p.add_argument("--draft-fetches", type=int, default=16, metavar="N",
                   help="drafts downloading at once; one more is answered 503 with Retry-After")
    p.add_argument("--draft-timeout", type=float, default=30.0, metavar="S", help="seconds to download a draft")
    p.add_argument("--media-timeout", type=float, default=900.0, metavar="S", help="seconds to download one medium")
    p.add_argument("--max-cache-gb", type=float, default=20.0, metavar="GB",
                   help="downloaded media kept for later renders; the least recently used go first")
    p.add_argument("--chunk-seconds", type=float, metavar="S",
                   help="with --broker: a draft longer than this renders in chunks of about S seconds on "
                        "several workers, joined without re-encoding")
    p.add_argument("--request-timeout", type=float, default=30.0, metavar="S",
                   help="seconds a client has to send a request's head, and again its body")
    p.add_argument("--max-connections", type=int, default=0, metavar="N",
                   help="open connections at once; more get 503 (default: the descriptor limit less 256)")
    p.add_argument("--providers", type=Path, metavar="FILE",
                   help="the providers file for the generation gateway: model → provider, [[price]] rules "
                        "(default: $DRAFTRENDER_PROVIDERS, else ~/.config/draftrender/providers.toml)")
    p.add_argument("--generation-retention-hours", type=float, default=24.0, metavar="H",
                   help="generated videos are deleted after this long; their records stay")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("worker", help="run renders and generations from the broker (a Celery worker), beside "
                                      "`serve --broker`")
    scale_out_arguments(p, "the broker `draftrender serve --broker` publishes to", required=True)
    p.add_argument("--data-dir", type=Path, help="this machine's work and media cache "
                                                 "(default: ~/.local/share/draftrender/worker)")
    p.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="renders at once on this machine (default: half the CPU cores, 1 to 4)")
    p.add_argument("--queues", default="render,generate",
                   help="the queues to take tasks from: render (drafts) and generate (the gateway's generations)")
    p.add_argument("--providers", type=Path, metavar="FILE",
                   help="the providers file, with the provider keys of this machine (as for serve; "
                        "default: $DRAFTRENDER_PROVIDERS, else ~/.config/draftrender/providers.toml)")
    p.add_argument("--visibility-timeout", type=float, default=3600.0, metavar="S",
                   help="seconds before a task whose worker went silent goes to another worker; "
                        "longer than the longest render")
    p.set_defaults(run=cmd_worker)

    p = sub.add_parser("keys", help="API keys, users and webhook secrets of a service's data dir")
    p.add_argument("--data-dir", type=Path, help="the service's data dir (default: as draftrender serve)")
    p.add_argument("--store", metavar="URL", help="the service's --store database, when it has one")
    ksub = p.add_subparsers(dest="keys_command", required=True)
    k = ksub.add_parser("create", help="make an API key (printed once)")
    k.add_argument("--name", default="", help="a label for people")
    k.add_argument("--plan", default="free", help="free, starter, pro, enterprise or unlimited (default: free)")
    k.add_argument("--credits", type=int, help="credits for generations (default: unlimited)")
    k.add_argument("--user", metavar="USER_ID", help="the user the key belongs to (from keys add-user)")
    k.add_argument("--webhook-secret", metavar="SECRET", help="signs this key's webhooks (default: a random one)")
    k.set_defaults(run=cmd_keys)
    k = ksub.add_parser("list", help="list keys (not the keys themselves)")
    k.set_defaults(run=cmd_keys)
    k = ksub.add_parser("show", help="one key's plan, credits and webhook secret")
    k.add_argument("key_id")
    k.set_defaults(run=cmd_keys)
    k = ksub.add_parser("set", help="change a key's plan, credits, name or webhook secret")
    k.add_argument("key_id")
    k.add_argument("--name")
    k.add_argument("--plan")
    k.add_argument("--credits", type=int)
    k.add_argument("--webhook-secret", metavar="SECRET")
    k.set_defaults(run=cmd_keys)
    k = ksub.add_parser("revoke", help="revoke a key: it stops working at once")
    k.add_argument("key_id")
    k.set_defaults(run=cmd_keys)
    k = ksub.add_parser("add-user", help="add a user who logs in with POST /v1/auth/login (password on stdin)")
    k.add_argument("email")
    k.add_argument("--plan", default="free")
    k.set_defaults(run=cmd_keys)

    p = sub.add_parser("bench", help="time draftrender against an ffmpeg filter graph and MoviePy")
    p.set_defaults(run=cmd_bench)  # its options: see main()

    p = sub.add_parser("generate", help="generate a clip with an AI provider, or offline with a local model")
    add_generate_arguments(p)
    p.set_defaults(run=run_generate)

    p = sub.add_parser("providers", help="list the configured generation providers, and whether they answer")
    add_providers_arguments(p)
    p.set_defaults(run=run_providers)

    p = sub.add_parser("effects", help="list the parametric transitions and animations, or draw them")
    p.add_argument("--gallery", type=Path, metavar="OUT.png",
                   help="write a labelled contact sheet of every transition and animation")
    p.set_defaults(run=cmd_effects)
    return parser


def cmd_render(args) -> int:
    options = flag_values(args)
    render_options(options, flags=True)  # a bad flag is named as the flag, before the draft loads
    opts = dict(options, cache_dir=args.cache_dir, font_dirs=tuple(args.font_dir), providers=args.providers,
                placeholders=args.placeholders)
    data = data_row(args.data, args.row) if args.data else None
    if args.row is not None and data is None:
        raise InvalidData("--row needs --data FILE")
    if args.frame is not None:
        out = Path(args.output or "frame.png")
        render_frame(args.source, args.frame, out, timeline=args.timeline, data=data,
                     **opts)
        print(f"wrote {out}")
        return 0
    bar = None if args.quiet or args.json else ProgressBar(sys.stderr)
    result = render(args.source, args.output, timeline=args.timeline, data=data, progress=bar,
                    chunk_seconds=args.chunk_seconds, chunk_workers=args.chunk_workers, **opts)
    if bar:
        bar.finish()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return 0
    print(f"wrote {result.output} ({result.width}x{result.height}, {result.fps} fps, {result.duration:.2f} s, "
          f"{result.size_bytes / 1e6:.1f} MB, {result.encoder}) in {result.timings['total']:.1f} s")
    if result.fidelity:
        print(f"fidelity: {len(result.fidelity)} feature(s) approximated or ignored "
              f"(see `draftrender inspect`):")
        for n in result.fidelity:
            print(f"  {n.status:<12} {n.feature}: {n.reason}")
    return 0


def data_row(path: Path, row: int | None) -> dict:
    """One row of a data file: a JSON object, or the only (or --row Nth) row of a table."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InvalidData(f"cannot read --data {path}: {e.strerror or e}") from None
    rows = read_rows(raw, str(path))
    if row is None and len(rows) > 1:
        raise InvalidData(f"{path} holds {len(rows)} rows: choose one with --row N")
    if row is not None and not 1 <= row <= len(rows):
        raise InvalidData(f"--row {row} is not in {path}, which holds {len(rows)} row(s)")
    return rows[(row or 1) - 1]


def cmd_template_fields(args) -> int:
    found = fields(load_source(args.source, timeline=args.timeline).data)
    if args.json:
        print(json.dumps([f.to_json() for f in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no {{fields}} in this draft")
        return 0
    width = max(len(f.name) for f in found)
    for f in found:
        need = "required" if f.required else f"default {f.default!r}"
        print(f"{f.name:<{width}}  {f.type:<6}  {need:<20}  {'; '.join(f.places)}")
    return 0


class ProgressBar:
    """A one-line progress bar on a terminal. Elsewhere (logs, CI, systemd) a progress line at
    each stage's start and end and every `every` seconds between: stage, percent, speed, ETA."""

    def __init__(self, stream, every: float = 5.0):
        self.stream = stream
        self.live = stream.isatty()
        self.every = every
        self.stage, self.stage_started = "", 0.0
        self.last_line: float | None = None
        self.last_frac = -1.0

    def __call__(self, event: dict) -> None:
        if not event["total"]:
            return
        frac = min(event["done"] / event["total"], 1.0)
        if self.live:
            filled = int(frac * 30)
            self.stream.write(f"\r{event['stage']:<8} [{'#' * filled}{'.' * (30 - filled)}] {frac:6.1%}")
            self.stream.flush()
            return
        now = time.monotonic()
        if event["stage"] != self.stage:
            self.stage, self.stage_started, self.last_line, self.last_frac = event["stage"], now, None, -1.0
        due = self.last_line is None or (frac >= 1 and self.last_frac < 1) or now - self.last_line >= self.every
        if not due or frac == self.last_frac:
            return
        self.last_line, self.last_frac = now, frac
        spent = now - self.stage_started
        rate = event["done"] / spent if spent > 0 and event["done"] else 0.0
        unit = "frames" if event["stage"] in ("render", "encode") else "steps"
        speed = f", {rate:.1f}/s" if rate else ""
        eta = f", ETA {(event['total'] - event['done']) / rate:.0f} s" if rate and frac < 1 else ""
        self.stream.write(f"draftrender: {event['stage']} {frac:.0%} ({event['done']}/{event['total']} {unit}"
                          f"{speed}{eta})\n")
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


def scale_out_arguments(p, broker_help: str, required: bool = False) -> None:
    p.add_argument("--broker", required=required, metavar="URL", help=f"redis://HOST:6379/0: {broker_help}")
    p.add_argument("--store", required=required, metavar="URL",
                   help="the task store shared by the service and the workers: postgresql://USER@HOST/DB "
                        "(default: SQLite in the data dir)")
    p.add_argument("--storage", required=required, metavar="DIR|s3://BUCKET/PREFIX",
                   help="drafts and videos, shared by the service and the workers (default: the data dir)")


def cmd_serve(args) -> int:
    # Imported here: render and inspect need none of the service.
    import asyncio
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from .server import ServerConfig
    from .server.config import read_keys_file
    from .server.listen import serve
    from .service.store import DataDirInUse

    keys = set(args.api_key)
    try:
        if args.api_keys_file:
            keys |= read_keys_file(args.api_keys_file)
        admin_keys = read_keys_file(args.admin_keys_file) if args.admin_keys_file else frozenset()
        options = dict(host=args.host, port=args.port, queue_size=args.queue_size, api_keys=frozenset(keys),
                       admin_keys=admin_keys,
                       allow_private_urls=args.allow_private_urls, media_roots=tuple(args.media_root),
                       task_timeout=args.task_timeout, retention_hours=args.retention_hours,
                       public_url=args.public_url, max_draft_bytes=int(args.max_draft_mb * (1 << 20)),
                       max_media_bytes=int(args.max_media_mb * (1 << 20)), max_output_pixels=args.max_output_pixels,
                       broker=args.broker, store=store_url(args.store), storage=args.storage,
                       chunk_seconds=args.chunk_seconds,
                       request_timeout=args.request_timeout, max_connections=args.max_connections,
                       webhook_secret=args.webhook_secret, providers_file=args.providers,
                       generation_retention_hours=args.generation_retention_hours,
                       draft_fetches=args.draft_fetches, draft_timeout=args.draft_timeout,
                       media_timeout=args.media_timeout, max_cache_bytes=int(args.max_cache_gb * (1 << 30)))
        if args.broker and not (args.store and args.storage):
            raise ValueError("--broker needs --store and --storage that every worker shares as well")
        if args.data_dir:
            options["data_dir"] = args.data_dir
        if args.workers is not None:
            options["workers"] = args.workers
        config = ServerConfig(**options)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        if not (config.api_keys or config.admin_keys) and args.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"draftrender: warning: serving on {args.host} with no API key", file=sys.stderr)
        where = f"renders on {args.broker}" if args.broker else f"{config.workers} worker(s)"
        asyncio.run(serve(config, ready=lambda: print(
            f"draftrender: serving gen_video on http://{args.host}:{args.port} (data in {config.data_dir}, {where})",
            file=sys.stderr, flush=True)))
    except (OSError, ValueError, DataDirInUse, SQLAlchemyError) as e:
        print(f"draftrender: error: cannot serve: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


def cmd_worker(args) -> int:
    import logging

    from sqlalchemy.exc import SQLAlchemyError

    from .server.config import default_data_dir, default_workers
    from .service.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    data_dir = args.data_dir or default_data_dir().with_name("worker")
    store = store_url(args.store)
    assert store is not None  # --store is required of a worker
    try:
        run_worker(broker=args.broker, store=store, storage=args.storage, data_dir=data_dir,
                   concurrency=args.concurrency or default_workers(),
                   queues=tuple(q for q in args.queues.split(",") if q), visibility_timeout=args.visibility_timeout,
                   providers=args.providers)
    except (OSError, ValueError, SQLAlchemyError) as e:
        print(f"draftrender: error: cannot start the worker: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


def store_url(url: str | None) -> str | None:
    """postgresql://… means psycopg 3, the driver draftrender installs."""
    if url and url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def cmd_keys(args) -> int:
    """draftrender keys …: the accounts in a data dir's database (the service may be running)."""
    from .server.config import default_data_dir
    from .service.accounts import Accounts
    from .service.db import open_database, sqlite_url

    data_dir = args.data_dir or default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_database(store_url(args.store) or sqlite_url(data_dir / "tasks.sqlite3"))
    try:
        return run_keys(args, Accounts(engine))
    finally:
        engine.dispose()


def run_keys(args, accounts) -> int:
    command = args.keys_command
    if command == "create":
        key, key_id = accounts.create_key(name=args.name, user_id=args.user, plan=args.plan, credits=args.credits)
        if args.webhook_secret:
            accounts.update_key(key_id, webhook_secret=args.webhook_secret)
        print(f"{key_id}  {key}")
        print("the key is shown only now: keep it", file=sys.stderr)
    elif command == "list":
        for k in accounts.list_keys():
            state = "revoked" if k["revoked"] else "active"
            credits = "unlimited" if k["credits"] is None else k["credits"]
            print(f"{k['id']}  {state:<8} {k['plan']:<10} credits {credits}  {k['name']}")
    elif command == "show":
        info = accounts.key_info(args.key_id)
        if info is None:
            raise InvalidData(f"no key {args.key_id}: see draftrender keys list")
        print(json.dumps(info, ensure_ascii=False, indent=2))
    elif command == "set":
        values = {k: v for k, v in (("name", args.name), ("plan", args.plan), ("credits", args.credits),
                                    ("webhook_secret", args.webhook_secret)) if v is not None}
        if not values:
            raise InvalidData("nothing to change: give --name, --plan, --credits or --webhook-secret")
        if not accounts.update_key(args.key_id, **values):
            raise InvalidData(f"no key {args.key_id}: see draftrender keys list")
        print(f"{args.key_id}: set {', '.join(values)}")
    elif command == "revoke":
        if not accounts.revoke_key(args.key_id):
            raise InvalidData(f"no active key {args.key_id}: see draftrender keys list")
        print(f"{args.key_id}: revoked")
    elif command == "add-user":
        password = getpass.getpass() if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        user_id = accounts.create_user(args.email, password, plan=args.plan)
        print(f"{user_id}  {args.email}")
    return 0


def cmd_effects(args) -> int:
    from .effects.animations import STEPS
    from .effects.transitions import TRANSITIONS

    if args.gallery is None:
        print(f"transitions ({len(TRANSITIONS)}): {', '.join(TRANSITIONS)}")
        print(f"animations ({len(STEPS)}): {', '.join(STEPS)}")
        return 0
    import numpy as np

    from .effects.gallery import contact_sheet
    from .render.pipeline import write_image

    write_image(np.asarray(contact_sheet()), args.gallery)
    print(f"wrote {args.gallery} ({len(TRANSITIONS)} transitions, {len(STEPS)} animations)")
    return 0


def cmd_bench(args) -> int:
    from .bench.command import run  # the peers' packages load only when benchmarking

    return run(args)


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
        muted = "".join(f" ({word})" for word in ("muted", "hidden") if t[word])
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
