"""`draftrender generate` and `draftrender providers`: the arguments and what they print."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from .base import GenerationRequest, InvalidGeneration, Job


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="e.g. local-title, local-kenburns, or a model in the providers file")
    p.add_argument("--prompt", default="", help="what the clip shows (local-title: the title)")
    p.add_argument("--image", action="append", default=[], metavar="PATH|URL",
                   help="a reference image (repeat for several; local-kenburns moves over them)")
    p.add_argument("--seconds", type=float, help="clip length (default: the provider's; local: 5)")
    p.add_argument("--size", help="WxH, e.g. 1280x720 (default: the provider's; local: 1280x720)")
    p.add_argument("--seed", type=int, help="the same seed and request give the same clip, where the provider allows")
    p.add_argument("--audio", action="store_true", help="ask for a clip with sound")
    p.add_argument("--negative-prompt", help="what the clip must not show")
    p.add_argument("-o", "--output", type=Path, required=True, help="the MP4 to write")
    add_common(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def add_providers_arguments(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--no-check", dest="check", action="store_false", help="do not try to reach the remote ones")


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--providers", type=Path, metavar="FILE",
                   help="the providers file "
                        "(default: $DRAFTRENDER_PROVIDERS, else ~/.config/draftrender/providers.toml)")
    p.add_argument("--cache-dir", type=Path, help="where generated clips are kept")


def run_generate(args) -> int:
    from .clips import generate_clip, save_clip
    from .providers import load_configs

    fields = dict(model=args.model, prompt=args.prompt, images=tuple(args.image), seconds=args.seconds,
                  size=args.size, seed=args.seed, audio=args.audio, negative_prompt=args.negative_prompt)
    try:
        request = GenerationRequest(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        raise InvalidGeneration(f"--{'-'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    seen: list[tuple[str, int]] = []

    def show(job: Job) -> None:
        state = (job.status.value, job.progress)
        if not args.quiet and (not seen or seen[-1] != state):
            seen.append(state)
            print(f"{job.provider} job {job.id}: {job.status.value} {job.progress} %", file=sys.stderr)

    clip = generate_clip(request, configs=load_configs(args.providers), cache_dir=args.cache_dir, on_update=show)
    out = save_clip(clip, args.output)
    print(f"wrote {out} ({clip.provider}{', from the cache' if clip.cached else ''})")
    return 0


def run_providers(args) -> int:
    from .providers import load_configs

    for c in load_configs(args.providers):
        print(f"{c.name}: {c.kind}{' ' + c.base_url if c.base_url else ''}")
        print(f"  models: {', '.join(c.models) or '(none)'}")
        if c.kind == "local":
            print("  offline, no key: always available")
            continue
        try:
            c.api_key()
            key = f"key: set ({'$' + c.key_env if c.key_env and _env_set(c.key_env) else c.key_file})"
        except InvalidGeneration as e:
            key = f"key: missing ({e})"
        print(f"  {key}")
        if args.check:
            print(f"  {reachable(c.base_url, min(c.timeout, 10.0))}")
    return 0


def _env_set(name: str) -> bool:
    import os

    return bool(os.environ.get(name, "").strip())


def reachable(base_url: str, timeout: float) -> str:
    """Whether the API's host answers HTTP at all (any status counts: it is up)."""
    import aiohttp

    from ..http import run_sync

    async def probe() -> str:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s, \
                    s.get(base_url) as r:
                return f"reachable (HTTP {r.status})"
        except (aiohttp.ClientError, TimeoutError) as e:
            return f"unreachable: {type(e).__name__} {e}".strip()

    return run_sync(probe)
