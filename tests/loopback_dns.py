"""A resolver that answers every name with 127.0.0.1, as a rebinding DNS server answers the
lookup that counts (the one made to connect); substituted for aiohttp's in the guard tests."""

from __future__ import annotations

import socket


class LoopbackDNS:
    def __init__(self) -> None:
        self.asked: list[str] = []  # the names looked up, in order

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict]:
        self.asked.append(host)
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass
