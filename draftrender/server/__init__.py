"""The gen_video service: POST /v1/gen_video on aiohttp, with tasks that survive restarts.

app: routes and guards · intake: requests and drafts · store: SQLite tasks and their files ·
pool: worker processes, queue, time limits · worker: one render in a child process ·
openapi, page: the description and the pages.
"""

from .app import create_app
from .config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
