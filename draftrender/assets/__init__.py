"""Media for a timeline: fetched once (HTTP with limits and a cache), then probed."""

from .fetch import cache_path, default_cache_dir, prepare_media
from .http import ensure_public_url, fetch_bytes, fetch_to_file
from .probe import Probe, probe

__all__ = [
    "Probe",
    "cache_path",
    "default_cache_dir",
    "ensure_public_url",
    "fetch_bytes",
    "fetch_to_file",
    "prepare_media",
    "probe",
]
