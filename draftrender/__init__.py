"""draftrender: render JianYing / CapCut drafts to MP4 without the editor."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .errors import DraftRenderError

# Importing the render package sets the attribute `draftrender.render` to it; the function
# defined below must come after this import so that `draftrender.render` is the function.
from .render.pipeline import RenderResult, render_still, render_timeline, with_options
from .timeline import Timeline, load_source, parse
from .timeline.templates import fill, is_template, preview

__all__ = ["DraftRenderError", "RenderResult", "Timeline", "load_draft", "render", "render_frame"]
__version__ = "0.1.0"


def load_draft(source: str | os.PathLike | dict, *, timeline: str | None = None,
               media_roots: list[str | os.PathLike] | None = None, allow_private_urls: bool = True,
               timeout: float = 30.0, data: dict | None = None) -> Timeline:
    """Load a draft from a path, draft folder, URL, wrapper URL or dict into a Timeline.

    `media_roots` confines local media to those folders (and the draft's own folder).
    `data` fills a template's `{{fields}}` (see draftrender.timeline.templates); without it a
    template shows its defaults, and its placeholders where a field has none.
    """
    src = load_source(source, timeline=timeline, timeout=timeout, allow_private_urls=allow_private_urls)
    if data is not None:
        src = replace(src, data=fill(src.data, data))
    elif is_template(src.data):
        src = replace(src, data=preview(src.data))
    roots = tuple(Path(r).resolve() for r in media_roots) if media_roots is not None else None
    return parse(src.data, draft_dir=src.draft_dir, origin=src.origin, base_url=src.base_url, media_roots=roots)


def default_output(source) -> Path:
    """Where a render goes when no output is named: <draft name>.mp4 in the working folder."""
    if isinstance(source, (str, os.PathLike)) and not str(source).startswith(("http://", "https://")):
        p = Path(source)
        stem = p.name if p.is_dir() else (p.parent.name if p.stem in ("draft_content", "draft_info") else p.stem)
        return Path.cwd() / f"{stem or 'draft'}.mp4"
    return Path.cwd() / "draft.mp4"


def render(source, output: str | os.PathLike | None = None, *, timeline: str | None = None,
           media_roots: list[str | os.PathLike] | None = None, data: dict | None = None,
           **options) -> RenderResult:
    """Render a draft (path, folder, URL, wrapper URL or dict) to an MP4 and return the result.

    Options: fps, scale, start, end (seconds), codec, encoder, crf, preset, bitrate,
    audio (False: no audio stream), audio_rate, loudness (target LUFS), audio_bitrate,
    cache_dir, font_dirs, allow_private_urls, progress (a callable taking an event dict),
    providers (the providers file for materials that generate their clips), placeholders
    (True: a clip that cannot be generated shows a placeholder instead of failing).
    `data` fills a template's `{{fields}}`. With `chunk_seconds`, a draft longer than that is
    rendered in chunks of about that length on `chunk_workers` processes (default 2), and
    joined without re-encoding (draftrender.render.chunks).
    """
    chunk_seconds, chunk_workers = options.pop("chunk_seconds", None), options.pop("chunk_workers", 2)
    opts = with_options(**options)
    tl = load_draft(source, timeline=timeline, media_roots=media_roots, allow_private_urls=opts.allow_private_urls,
                    data=data)
    out = Path(output) if output is not None else default_output(source)
    if chunk_seconds and tl.duration > chunk_seconds * 1e6:
        from .render.chunks import in_processes, render_chunked
        from .render.pipeline import generated

        tl = generated(tl, opts)  # here, once: chunks on several processes must not each submit a clip
        return render_chunked(tl, out, opts, chunk_seconds, in_processes(tl, opts, chunk_workers))
    return render_timeline(tl, out, opts)


def render_frame(source, t: float, output: str | os.PathLike | None = None, *, timeline: str | None = None,
                 media_roots: list[str | os.PathLike] | None = None, data: dict | None = None, **options):
    """One frame at `t` seconds as an HxWx3 RGB array; also written as an image if `output` is given."""
    opts = with_options(**options)
    tl = load_draft(source, timeline=timeline, media_roots=media_roots, allow_private_urls=opts.allow_private_urls,
                    data=data)
    return render_still(tl, t, Path(output) if output is not None else None, opts)
