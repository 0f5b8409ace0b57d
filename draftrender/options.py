"""Every render option, defined once: its type, range, default and help.

The CLI's `render` flags, the service's `options` checks and the `Options` schema in
/openapi.json are all made from these two models, so a new option is one field here.
`RenderOptions` also carries what a program sets around a render (cache, fonts, progress):
those fields are not options a user picks, and PROGRAM_ONLY keeps them out of the three.
"""

from __future__ import annotations

import argparse
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator
from pydantic.fields import FieldInfo

from .errors import InvalidOption

# x264's speed/size presets, fastest first (NVENC gets the closest of its own).
Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
# Sample rates the AAC encoder takes.
AudioRate = Literal[8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000]
AUDIO_RATES: tuple[int, ...] = typing.get_args(AudioRate)
Progress = Callable[[dict], None]


class EncodeSettings(BaseModel):
    """How the video and sound are encoded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    codec: Literal["h264", "h265"] = Field("h264", description="video codec")
    encoder: Literal["libx264", "libx265", "nvenc", "auto"] = Field(
        "libx264", description="libx264: the CPU encoder (libx265 for h265); nvenc: an NVIDIA GPU, falling back "
                               "to the CPU when it cannot open; auto: nvenc when a GPU is present")
    crf: int = Field(20, ge=0, le=51, description="quality: lower is better and bigger (x264/x265 CRF)")
    preset: Preset = Field("veryfast", description="encoder speed: slower presets make smaller files")
    bitrate: int | None = Field(None, ge=100_000, le=200_000_000, description="video bits per second; overrides crf")
    audio_bitrate: int = Field(192_000, ge=32_000, le=512_000, description="AAC bits per second")
    # Encoder threads; 0: for libx264 a frame thread per core, at most encode.X264_THREADS_MAX
    # (encode.video_threads), for the others the encoder's own choice. x264's output depends on
    # its thread count: a fixed count (the local generation provider uses 1) keeps the bytes
    # the same on every machine.
    threads: int = Field(0, ge=0, le=64)


class RenderOptions(BaseModel):
    """What to render and how; `encode` holds the encoder's settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fps: float | None = Field(None, ge=1, le=240, description="output frame rate (default: the draft's)")
    scale: float = Field(1.0, ge=0.05, le=4, description="resolution scale, e.g. 0.5 for a fast preview")
    start: float | None = Field(None, ge=0, le=86_400, description="render from this time, in seconds")
    end: float | None = Field(None, gt=0, le=86_400, description="render up to this time, in seconds")
    encode: EncodeSettings = EncodeSettings()
    audio: bool = Field(True, description="an audio stream in the MP4")
    audio_rate: AudioRate = Field(48_000, description="audio sample rate in Hz")
    loudness: float | None = Field(None, ge=-70, le=0,
                                   description="normalise the sound to this integrated loudness in LUFS, e.g. -14")
    cache_dir: Path | None = None
    font_dirs: tuple[Path, ...] = ()
    allow_private_urls: bool = True
    progress: Progress | None = None
    # Materials that generate their clips (draftrender_generation): the providers file (None:
    # the default one, see generate/providers.py), and whether a failed generation shows a grey
    # placeholder, named in the fidelity report, instead of failing the render.
    providers: Path | None = None
    placeholders: bool = False

    @model_validator(mode="after")
    def _end_after_start(self) -> RenderOptions:
        if self.end is not None and self.end <= (self.start or 0):
            raise ValueError(f"end ({self.end:g}) must come after start ({self.start or 0:g})")
        return self


# Set by the program around a render, never by a user's option.
PROGRAM_ONLY = frozenset({"encode", "threads", "cache_dir", "font_dirs", "allow_private_urls", "progress",
                          "providers", "placeholders"})
# Units shown in the CLI's help.
METAVARS = {"fps": "FPS", "start": "SECONDS", "end": "SECONDS", "loudness": "LUFS", "bitrate": "BPS",
            "audio_bitrate": "BPS", "audio_rate": "HZ"}


def option_fields() -> dict[str, FieldInfo]:
    """The user's options by name (flat: the encoder's settings beside the rest)."""
    fields = {**RenderOptions.model_fields, **EncodeSettings.model_fields}
    return {name: info for name, info in fields.items() if name not in PROGRAM_ONLY}


def render_options(options: Mapping[str, Any], *, flags: bool = False, **program: Any) -> RenderOptions:
    """RenderOptions from the user's flat options (crf=, scale=, ...; None: the default) and
    the program's own fields (cache_dir=, progress=, encode= as a base, ...).

    Raises InvalidOption naming each bad option (as its CLI flag when `flags`)."""
    known = option_fields()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InvalidOption(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    given = {k: v for k, v in options.items() if v is not None}
    encode = {k: given.pop(k) for k in list(given) if k in EncodeSettings.model_fields}
    base = program.pop("encode", None) or EncodeSettings()
    try:
        settings = EncodeSettings.model_validate({**base.model_dump(exclude_unset=True), **encode})
        return RenderOptions.model_validate({**given, **program, "encode": settings})
    except ValidationError as e:
        raise InvalidOption(describe(e, flags=flags)) from None


def option_values(opts: RenderOptions, names: Iterable[str]) -> dict[str, Any]:
    """The named options' values in `opts`, flat, leaving out those that are None."""
    values = {**opts.model_dump(include=set(RenderOptions.model_fields) - PROGRAM_ONLY),
              **opts.encode.model_dump(exclude={"threads"})}
    return {name: values[name] for name in sorted(names) if values.get(name) is not None}


def describe(error: ValidationError, *, flags: bool = False) -> str:
    """One line naming each bad option, its value and what it must be."""
    said = []
    for e in error.errors(include_url=False):
        name = ".".join(str(p) for p in e["loc"] if p != "encode")
        message = e["msg"].removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        if not name:  # a rule over several options, such as end after start
            said.append(message)
            continue
        shown = f"--{name.replace('_', '-')}" if flags else f"option {name}"
        said.append(f"{shown} {e['input']!r}: {message}")
    return "; ".join(said)


def options_model() -> type[BaseModel]:
    """The user's options as one flat model: what /openapi.json documents as `Options`."""
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in option_fields().items()}
    return create_model("Options", __config__=ConfigDict(extra="forbid"),
                        __doc__="Render options; each may be left out for its default.", **fields)


# ---------------------------------------------------------------- the CLI


def add_option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per option, with its type, choices and default in the help."""
    for name, info in option_fields().items():
        flag = "--" + name.replace("_", "-")
        default = info.get_default()
        kind = info.annotation
        if kind is bool:
            # Only the non-default is a flag: --no-audio for an option that is on by default.
            negated = f"--no-{name.replace('_', '-')}" if default else flag
            parser.add_argument(negated, dest=name, action="store_false" if default else "store_true",
                                default=None, help=f"without {info.description}" if default else info.description)
            continue
        choices = _choices(kind)
        shown = "" if default is None else f" (default: {default})"
        parser.add_argument(flag, dest=name, default=None, metavar=METAVARS.get(name), choices=choices,
                            type=type(choices[0]) if choices else _scalar(kind), help=f"{info.description}{shown}")


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line (the rest keep their defaults)."""
    return {name: getattr(args, name) for name in option_fields() if getattr(args, name, None) is not None}


def _choices(kind: Any) -> list | None:
    if typing.get_origin(kind) is Literal:
        return list(typing.get_args(kind))
    return None


def _scalar(kind: Any) -> type:
    """int or float for `int`, `float | None` and the like."""
    args = [a for a in typing.get_args(kind) if a is not type(None)] or [kind]
    return int if args[0] is int else float
