"""One local generation job, run as a process of its own: `python -m draftrender.generate.local_job FOLDER CACHE`.

The render runs on the process's main thread: rendered on a worker thread of a busy process,
the same clip came out in different bytes from run to run (the encoded frames differed
slightly), and a process also keeps a long render off the caller's interpreter and can be
stopped at once. Writes `progress` (a percentage) as it goes, then the clip's files or
`error.json`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..errors import DraftRenderError
from .base import GenerationRequest
from .local import make_clip


def write_atomically(path: Path, text: str) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def run(folder: Path, cache_dir: Path) -> int:
    shown = [-1]

    def progress(p: int) -> None:
        if p != shown[0]:
            shown[0] = p
            write_atomically(folder / "progress", str(p))

    try:
        request = GenerationRequest.model_validate_json((folder / "request.json").read_text(encoding="utf-8"))
        make_clip(request, folder, cache_dir, progress)
    except Exception as e:  # noqa: BLE001 - a job's failure is its result, never a traceback
        code = getattr(e, "code", None) or "generation_failed"
        message = str(e) if isinstance(e, DraftRenderError) else f"{type(e).__name__}: {e}"
        write_atomically(folder / "error.json", json.dumps({"code": code, "message": message}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), Path(sys.argv[2])))
