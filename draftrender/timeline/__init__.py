"""Draft → typed timeline: loading any source, parsing every editor quirk, the model."""

from .load import DraftSource, load_source, unwrap_url
from .model import Timeline
from .parse import parse

__all__ = ["DraftSource", "Timeline", "load_source", "parse", "unwrap_url"]
