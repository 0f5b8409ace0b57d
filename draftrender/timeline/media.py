"""Where a medium the draft names actually is.

Recovery order (DRAFT_FORMAT.md): the path as written; the editor's draft-path placeholder;
a path relative to the draft folder (also under materials/ and media/); the same base name
found once inside the draft folder. A path that climbs out of the draft folder, or out of
the configured media roots, is refused rather than followed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

PLACEHOLDER = re.compile(r"^##_draftpath_placeholder_[0-9A-Fa-f-]+_##[/\\]?")
# Enough to find a medium by name in any real draft folder, and bounded on hostile ones.
MAX_FOLDER_ENTRIES = 20_000


@dataclass
class MediaLocator:
    """Resolves written paths against one draft's folder (or URL) and the allowed roots."""

    draft_dir: Path | None = None
    base_url: str | None = None
    roots: tuple[Path, ...] | None = None  # None: any local path may be read
    _names: dict[str, list[Path]] | None = field(default=None, repr=False)

    def locate(self, written: str) -> tuple[Path | None, str | None, tuple[str, ...]]:
        """(local path, URL, where it was looked for). Both None: missing."""
        written = written.strip()
        if not written:
            return None, None, ("the material has no path",)
        if "\x00" in written:  # the OS refuses such a path with ValueError, not "not found"
            return None, None, (f"{written!r:.80} (refused: it contains a NUL byte)",)
        if re.match(r"^https?://", written, re.I):
            return None, written, ()
        if written.lower().startswith("file://"):
            written = unquote(urlparse(written).path)
        looked: list[str] = []

        rest = PLACEHOLDER.sub("", written) if PLACEHOLDER.match(written) else None
        # (candidate, joined onto the draft folder): joined ones must stay inside it.
        candidates: list[tuple[Path, bool]] = []
        if rest is not None:
            if self.draft_dir is not None:
                candidates.append((self.draft_dir / rest.replace("\\", "/"), True))
        elif is_absolute(written):
            if not is_windows_drive(written) or os.name == "nt":  # C:\... means nothing on Linux
                candidates.append((Path(written), False))
        elif self.draft_dir is not None:
            rel = written.replace("\\", "/")
            candidates += [(self.draft_dir / sub / rel, True) for sub in ("", "materials", "media")]
        elif self.base_url:
            return None, urljoin(self.base_url, written.replace("\\", "/")), ()
        else:
            return None, None, (f"{written} (a relative path, and the draft has no folder to resolve it in)",)

        for cand, joined in candidates:
            refusal = self.refusal(cand, joined)
            if refusal:
                looked.append(f"{cand} (refused: {refusal})")
                continue
            looked.append(str(cand))
            if is_file(cand):
                return cand.resolve(), None, ()

        found = self.by_name(written)
        if found is not None:
            return found, None, ()
        if self.draft_dir is not None:
            looked.append(f"files named {base_name(written)!r} inside {self.draft_dir}")
        return None, None, tuple(looked)

    def refusal(self, path: Path, joined: bool) -> str:
        """Why this path may not be read, or '' when it may."""
        real = Path(os.path.realpath(path))
        inside_draft = self.draft_dir is not None and is_within(real, self.draft_dir)
        if joined and not inside_draft:
            return "it climbs out of the draft folder"
        if self.roots is not None and not inside_draft and not any(is_within(real, r) for r in self.roots):
            return "it is outside the allowed media folders"
        return ""

    def by_name(self, written: str) -> Path | None:
        """The one file in the draft folder with this base name, if exactly one exists."""
        if self.draft_dir is None:
            return None
        if self._names is None:
            self._names = index_folder(self.draft_dir)
        hits = self._names.get(base_name(written).lower(), [])
        if len(hits) != 1 or not is_within(Path(os.path.realpath(hits[0])), self.draft_dir):
            return None
        return hits[0].resolve()


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system is simply not there
        return False


def is_windows_drive(written: str) -> bool:
    return bool(re.match(r"^[A-Za-z]:[/\\]", written))


def is_absolute(written: str) -> bool:
    # Windows drive paths (C:/ or C:\) count as absolute: they never resolve under the draft.
    return written.startswith(("/", "\\")) or is_windows_drive(written)


def is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(Path(os.path.realpath(root)))
    except ValueError:
        return False
    return True


def base_name(written: str) -> str:
    return re.split(r"[/\\]", written.rstrip("/\\"))[-1]


def index_folder(folder: Path) -> dict[str, list[Path]]:
    names: dict[str, list[Path]] = {}
    seen = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        seen += len(dirnames)  # folders count too: a draft saved at / must not walk the disk
        for name in filenames:
            names.setdefault(name.lower(), []).append(Path(dirpath) / name)
            seen += 1
            if seen >= MAX_FOLDER_ENTRIES:
                return names
    return names
