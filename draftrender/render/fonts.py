"""Which font draws each character of a text.

Owns the font search order (the draft's font file, then the configured font folders, then
system fonts through fontconfig), per-character coverage from fontconfig charsets, real bold
and italic faces, the colour emoji font, and the cache of loaded FreeType fonts. Nothing here
lays out or draws text: that is `text_layout.py` and `text_raster.py`.
"""

from __future__ import annotations

import bisect
import functools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import ImageFont, features

# Chinese captions need a CJK font first; its Latin glyphs also keep mixed text in one design.
DEFAULT_PATTERN = "sans-serif:lang=zh-cn"
EMOJI_PATTERN = "emoji:color=true"
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
# fontconfig weights and slants (fontconfig.h): bold is 200, italic 100, oblique 110.
FC_BOLD, FC_ITALIC = 200, 100
_FIELDS = "%{file}\t%{index}\t%{family}\t%{weight}\t%{slant}\t%{color}\t%{outline}\t%{pixelsize}\t%{charset}\n"
# With libraqm, runs are shaped by HarfBuzz (kerning, ligatures, emoji sequences, 'vert').
SHAPING = bool(features.check("raqm"))
_LAYOUT = ImageFont.Layout.RAQM if SHAPING else ImageFont.Layout.BASIC


@dataclass(frozen=True, slots=True)
class Face:
    """One face of a font file, as fontconfig describes it. Equal faces share path and index."""

    path: str
    index: int
    family: str
    weight: int = 80
    slant: int = 0
    color: bool = False
    strike: int = 0  # the only pixel size of a bitmap (colour emoji) font; 0 when scalable
    families: tuple[str, ...] = field(default=(), compare=False)
    # Sorted, disjoint codepoint ranges [lo, hi]; None when fontconfig could not tell.
    starts: tuple[int, ...] | None = field(default=None, compare=False, repr=False)
    ends: tuple[int, ...] | None = field(default=None, compare=False, repr=False)

    def covers(self, cp: int) -> bool:
        if self.starts is None or self.ends is None:
            return True
        i = bisect.bisect_right(self.starts, cp) - 1
        return i >= 0 and cp <= self.ends[i]

    def named(self, name: str) -> bool:
        wanted = name.strip().casefold()
        return any(f.casefold() == wanted for f in self.families or (self.family,))

    def font(self, px: float) -> ImageFont.FreeTypeFont:
        """The face loaded at `px` pixels per em (at its strike size for a bitmap font)."""
        return load_font(self.path, self.index, float(self.strike or px))


@functools.lru_cache(maxsize=256)
def load_font(path: str, index: int, px: float) -> ImageFont.FreeTypeFont:
    if not path:  # no font file anywhere: Pillow's own scalable font keeps text visible
        return ImageFont.load_default(px)  # type: ignore[return-value]
    return ImageFont.truetype(path, px, index=index, layout_engine=_LAYOUT)


# ---------------------------------------------------------------- fontconfig


def parse_charset(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """fontconfig's '20-7e a0-17f 3000' → range starts and ends."""
    starts, ends = [], []
    for item in text.split():
        lo, _, hi = item.partition("-")
        try:
            a, b = int(lo, 16), int(hi or lo, 16)
        except ValueError:
            continue
        starts.append(a)
        ends.append(b)
    return tuple(starts), tuple(ends)


def first_number(text: str, default: float) -> float:
    # Variable fonts write ranges such as "[80 200]": their first value is the default instance.
    for token in text.replace("[", " ").replace("]", " ").split():
        try:
            return float(token)
        except ValueError:
            continue
    return default


def parse_faces(output: str) -> tuple[Face, ...]:
    faces = []
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) < 9 or not parts[0]:
            continue
        path, index, families, weight, slant, color, outline, pixelsize, charset = parts[:9]
        names = tuple(n.strip() for n in families.split(",") if n.strip())
        starts, ends = parse_charset(charset)
        is_color = color.strip() == "True"
        faces.append(Face(
            path=path, index=int(first_number(index, 0)), family=names[0] if names else Path(path).stem,
            weight=int(first_number(weight, 80)), slant=int(first_number(slant, 0)), color=is_color,
            strike=int(round(first_number(pixelsize, 0))) if outline.strip() == "False" else 0,
            families=names, starts=starts if charset.strip() else None, ends=ends if charset.strip() else None))
    return tuple(faces)


@functools.lru_cache(maxsize=512)
def fontconfig(*args: str) -> tuple[Face, ...]:
    """Faces printed by one fontconfig command (fc-match, fc-list, fc-scan, fc-query); none
    when fontconfig is not installed. Cached: the installed fonts do not change mid-render."""
    try:
        out = subprocess.run([args[0], "--format", _FIELDS, *args[1:]], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return parse_faces(out)


def file_faces(path: Path) -> tuple[Face, ...]:
    """Every face in a font file; a bare face when fontconfig cannot read it."""
    faces = fontconfig("fc-query", "--", str(path))
    return faces or (Face(str(path), 0, path.stem),)


def folder_faces(dirs: Sequence[Path]) -> tuple[Face, ...]:
    faces: list[Face] = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            continue
        for f in sorted(p for p in d.rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file()):
            faces.extend(file_faces(f))
    return tuple(faces)


def cjk_first(faces: Sequence[Face]) -> Face | None:
    return next((f for f in faces if f.covers(0x4E2D) and not f.color), None) or (faces[0] if faces else None)


# ---------------------------------------------------------------- the font book


class FontBook:
    """The faces one renderer may use, and the choice of face for each character."""

    def __init__(self, font_dirs: Sequence[Path] = ()):
        self.folder = folder_faces(font_dirs)
        self.system = fontconfig("fc-match", "-s", DEFAULT_PATTERN)
        self.emoji = next((f for f in self.folder if f.color), None) or next(
            (f for f in fontconfig("fc-match", EMOJI_PATTERN) if f.color), None)
        default = cjk_first([f for f in self.folder if not f.color]) or cjk_first(self.system)
        self.warnings: list[str] = []
        self.replaced: dict[str, str] = {}  # each font the draft names and this machine lacks → the family drawn
        if default is None:
            default = Face("", 0, "Pillow default")
            self.warn("no font found (fontconfig and font folders are empty): text uses Pillow's built-in font")
        self.default = default
        self._primary: dict[tuple[str, str], Face] = {}
        self._styled: dict[tuple[Face, bool, bool], tuple[Face, bool, bool]] = {}
        self._covering: dict[int, Face | None] = {}

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    # ------------------------------------------------------------ choosing a face

    def primary(self, font_path: str, font_name: str = "") -> Face:
        """The face a style asks for: its font file when it exists, then a font of that name
        in the font folders or fontconfig, then the default (CJK) font."""
        key = (font_path, font_name)
        if key not in self._primary:
            self._primary[key] = self._find_primary(font_path, font_name)
        return self._primary[key]

    def _find_primary(self, font_path: str, font_name: str) -> Face:
        path = Path(font_path.replace("\\", "/")) if font_path else None
        # Only a path the parser's locator resolved (absolute) is opened: a bare name is
        # looked up below, never against the working directory.
        if path is not None and path.is_absolute() and path.suffix.lower() in FONT_SUFFIXES and path.is_file():
            return file_faces(path)[0]
        # A path written on another machine still names its file; placeholders like "D:" name nothing.
        file_name = path.name if path is not None and path.suffix.lower() in FONT_SUFFIXES else ""
        for face in self.folder:
            if file_name and Path(face.path).name.casefold() == file_name.casefold():
                return face
            if font_name and (face.named(font_name) or Path(face.path).stem.casefold() == font_name.casefold()):
                return face
        if font_name:
            # "--": a name that starts with "-" is a pattern, never an fc-match option.
            matches = fontconfig("fc-match", "--", f"{font_name}:lang=zh-cn")
            found = next((f for f in matches if f.named(font_name)), None)
            if found is not None:
                return found
        if file_name:
            installed = fontconfig("fc-list", ":")
            found = next((f for f in installed if Path(f.path).name.casefold() == file_name.casefold()), None)
            if found is not None:
                return found
        wanted = font_name or file_name
        if wanted:
            self.replaced.setdefault(wanted, self.default.family)
        return self.default

    def chain(self, primary: Face) -> tuple[Face, ...]:
        """Faces to try for a character, in order: the style's face, the font folders, the system."""
        seen: dict[Face, None] = {primary: None}
        for f in (*self.folder, *self.system):
            if not f.color:
                seen.setdefault(f, None)
        return tuple(seen)

    def face_for(self, cluster: str, chain: Sequence[Face], emoji: bool) -> Face:
        """The first face that has the cluster's base character, so that no glyph is tofu.
        Emoji go to the colour emoji font first: text fonts (DejaVu) carry monochrome ones."""
        cp = base_codepoint(cluster)
        if emoji and self.emoji is not None and self.emoji.covers(cp):
            return self.emoji
        for face in chain:
            if face.covers(cp):
                return face
        if self.emoji is not None and self.emoji.covers(cp):
            return self.emoji
        found = self.covering(cp)
        if found is not None:
            return found
        self.warn(f"no installed font has U+{cp:04X} ({cluster!r})")
        return chain[0]

    def covering(self, cp: int) -> Face | None:
        """Any installed face that has the codepoint, asked of fontconfig once per codepoint."""
        if cp not in self._covering:
            self._covering[cp] = next(iter(fontconfig("fc-list", "--", f":charset={cp:x}")), None)
        return self._covering[cp]

    def styled(self, face: Face, bold: bool, italic: bool) -> tuple[Face, bool, bool]:
        """(face, synthetic bold, synthetic italic): a real bold or italic face of the same
        family when one is installed, else the face itself drawn emboldened or sheared."""
        if face.color or face.strike:
            return face, False, False  # colour bitmaps are neither emboldened nor sheared
        bold = bold and face.weight < FC_BOLD
        italic = italic and face.slant < FC_ITALIC
        if not bold and not italic:
            return face, False, False
        key = (face, bold, italic)
        if key not in self._styled:
            self._styled[key] = self._find_styled(face, bold, italic)
        return self._styled[key]

    def _find_styled(self, face: Face, bold: bool, italic: bool) -> tuple[Face, bool, bool]:
        wants = [(bold, italic)] + ([(True, False)] if bold and italic else []) \
            + ([(False, True)] if bold and italic else [])
        for want_bold, want_italic in wants:
            weight = FC_BOLD if want_bold else face.weight
            slant = FC_ITALIC if want_italic else face.slant
            candidates = [f for f in self.folder if f.family == face.family]
            # fontconfig may answer with the regular file marked for synthetic bold/oblique: read
            # the answer's own file to know what it really is.
            for m in fontconfig("fc-match", "--", f"{escape(face.family)}:weight={weight}:slant={slant}"):
                candidates += [f for f in file_faces(Path(m.path)) if f.index == m.index]
            for f in candidates:
                if (f.named(face.family) and (f.weight >= FC_BOLD) == (want_bold or face.weight >= FC_BOLD)
                        and (f.slant >= FC_ITALIC) == (want_italic or face.slant >= FC_ITALIC)):
                    return f, bold and not want_bold, italic and not want_italic
        return face, bold, italic


def escape(family: str) -> str:
    # fontconfig patterns treat these as syntax inside a family name.
    for ch in "\\-:,":
        family = family.replace(ch, "\\" + ch)
    return family


# Characters that attach to the character before them and never choose a font of their own.
def is_extender(ch: str) -> bool:
    cp = ord(ch)
    return (cp == 0x200D or 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F
            or cp == 0x20E3 or 0xE0100 <= cp <= 0xE01EF)


def base_codepoint(cluster: str) -> int:
    return next((ord(c) for c in cluster if not is_extender(c)), ord(cluster[0]))
