"""Media for a timeline: fetched once (through draftrender.http, with limits and a cache), then probed."""

from .fetch import cache_path, default_cache_dir, prepare_media
from .probe import Probe, probe

__all__ = [
    "Probe",
    "cache_path",
    "default_cache_dir",
    "prepare_media",
    "probe",
]
