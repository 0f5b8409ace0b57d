"""Result URLs a provider names: same-host downloads work, other hosts pass the private-address guard."""
import asyncio

import pytest

from draftrender.generate.base import ProviderError
from draftrender.generate.http import ApiClient


def no_error(status, body):
    return None, None


def test_a_result_on_the_apis_own_host_downloads(tmp_path, http_server):
    body = b"\x00\x00\x00\x18ftypmp42" + b"x" * 1000
    url = http_server.serve("/result.mp4", body)
    client = ApiClient("fake", http_server.url(""), "sk-test", no_error, retries=0)
    dest = asyncio.run(client.download(url, tmp_path / "clip.mp4"))
    assert dest.read_bytes() == body


def test_a_result_on_another_host_resolving_to_loopback_is_refused(tmp_path, http_server):
    url = http_server.serve("/result.mp4", b"secret")
    client = ApiClient("fake", http_server.url(""), "sk-test", no_error, retries=0)
    elsewhere = url.replace("127.0.0.1", "localhost")
    with pytest.raises(ProviderError, match="refused.*private address"):
        asyncio.run(client.download(elsewhere, tmp_path / "clip.mp4"))
    assert not list(tmp_path.iterdir())  # nothing written, not even a part file
    assert http_server.hits["/result.mp4"] == 0  # refused before any connection
