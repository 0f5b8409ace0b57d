"""draftrender.timeline.load: paths, draft folders, URLs, wrapper URLs, and every way a draft
can fail to load. HTTP goes to a real aiohttp server on 127.0.0.1 (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from urllib.parse import quote

import pytest
from aiohttp import web

from draftrender.errors import (
    AmbiguousDraft,
    DraftEmpty,
    DraftNotFound,
    DraftUrlMissing,
    EncryptedDraft,
    InvalidDraftUrl,
    MalformedDraft,
)
from draftrender.timeline.load import DraftSource, load_source, unwrap_url
from service_harness import free_port


def draft(draft_id: str = "root", **extra) -> dict:
    """A minimal draft: one empty video track is enough for the loader."""
    return {"id": draft_id, "materials": {"videos": []},
            "tracks": [{"id": "t1", "type": "video", "segments": []}], **extra}


def write_json(path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- local files and folders


def test_file_path(tmp_path):
    write_json(tmp_path / "d" / "draft_content.json", draft("a"))
    src = load_source(str(tmp_path / "d" / "draft_content.json"))
    assert isinstance(src, DraftSource)
    assert src.data["id"] == "a"
    assert src.draft_dir == (tmp_path / "d").resolve()
    assert src.origin.endswith("draft_content.json") and src.base_url is None


def test_pathlike_and_draft_info_json(tmp_path):
    write_json(tmp_path / "mac" / "draft_info.json", draft("mac"))
    assert load_source(tmp_path / "mac" / "draft_info.json").data["id"] == "mac"
    assert load_source(tmp_path / "mac").data["id"] == "mac"


def test_folder_with_root_file_only(tmp_path):
    write_json(tmp_path / "draft_content.json", draft("only"))
    src = load_source(str(tmp_path))
    assert src.data["id"] == "only" and src.draft_dir == tmp_path.resolve()


def test_timelines_only_uses_project_main_timeline(tmp_path):
    write_json(tmp_path / "Timelines" / "A" / "draft_content.json", draft("A"))
    write_json(tmp_path / "Timelines" / "B" / "draft_content.json", draft("B"))
    write_json(tmp_path / "Timelines" / "project.json",
               {"main_timeline_id": "B", "timelines": [{"id": "A"}, {"id": "B"}]})
    src = load_source(tmp_path)
    assert src.data["id"] == "B"
    # Media placeholders resolve against the draft folder, not Timelines/B/.
    assert src.draft_dir == tmp_path.resolve()


def test_single_timeline_without_project_json(tmp_path):
    write_json(tmp_path / "Timelines" / "X" / "draft_content.json", draft("X"))
    assert load_source(tmp_path).data["id"] == "X"


def test_both_layouts_timeline_layout_decides_over_stale_root(tmp_path):
    write_json(tmp_path / "draft_content.json", draft("A"))  # a stale mirror of A
    write_json(tmp_path / "Timelines" / "A" / "draft_content.json", draft("A", name="a"))
    write_json(tmp_path / "Timelines" / "B" / "draft_content.json", draft("B"))
    write_json(tmp_path / "Timelines" / "project.json", {"main_timeline_id": "A"})
    write_json(tmp_path / "timeline_layout.json", {"activeTimeline": "B", "dockItems": []})
    assert load_source(tmp_path).data["id"] == "B"


def test_both_layouts_root_id_decides(tmp_path):
    write_json(tmp_path / "draft_content.json", draft("B", name="mirror"))
    write_json(tmp_path / "Timelines" / "A" / "draft_content.json", draft("A"))
    write_json(tmp_path / "Timelines" / "B" / "draft_content.json", draft("B", name="real"))
    src = load_source(tmp_path)
    assert src.data["name"] == "real"  # the Timelines copy, not the root mirror


def test_only_timeline_not_deleted(tmp_path):
    write_json(tmp_path / "draft_content.json", draft("gone"))
    write_json(tmp_path / "Timelines" / "A" / "draft_content.json", draft("A"))
    write_json(tmp_path / "Timelines" / "B" / "draft_content.json", draft("B"))
    write_json(tmp_path / "Timelines" / "project.json",
               {"timelines": [{"id": "A", "is_marked_delete": True}, {"id": "B", "is_marked_delete": False}]})
    assert load_source(tmp_path).data["id"] == "B"


def test_ambiguous_folder_asks_for_timeline(tmp_path):
    write_json(tmp_path / "draft_content.json", draft("neither"))
    write_json(tmp_path / "Timelines" / "A" / "draft_content.json", draft("A"))
    write_json(tmp_path / "Timelines" / "B" / "draft_content.json", draft("B"))
    write_json(tmp_path / "Timelines" / "project.json", {"timelines": [{"id": "A"}, {"id": "B"}]})
    with pytest.raises(AmbiguousDraft) as exc:
        load_source(tmp_path)
    message = one_line(exc)
    assert "A, B" in message and "timeline=" in message
    assert load_source(tmp_path, timeline="A").data["id"] == "A"
    with pytest.raises(DraftNotFound, match="'C' not found"):
        load_source(tmp_path, timeline="C")


def test_timelines_file_given_directly_uses_folder_root(tmp_path):
    file = tmp_path / "Timelines" / "A" / "draft_content.json"
    write_json(file, draft("A"))
    assert load_source(file).draft_dir == tmp_path.resolve()


def test_folder_without_draft(tmp_path):
    with pytest.raises(DraftNotFound, match="no draft_content.json or draft_info.json"):
        load_source(tmp_path)


def test_dict_is_returned_as_is():
    data = draft("d")
    src = load_source(data)
    assert src.data is data and src.draft_dir is None


def test_bom_and_utf16(tmp_path):
    text = json.dumps(draft("enc", name="中文"), ensure_ascii=False)
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "u16.json").write_bytes(text.encode("utf-16"))
    (tmp_path / "u16le.json").write_bytes(text.encode("utf-16-le"))
    for name in ("bom.json", "u16.json", "u16le.json"):
        assert load_source(tmp_path / name).data["name"] == "中文"


# ---------------------------------------------------------------- URLs


def test_plain_url(http_server):
    url = http_server.serve("/d/draft.json", json.dumps(draft("web")), content_type="application/json")
    src = load_source(url)
    assert src.data["id"] == "web"
    assert src.draft_dir is None and src.base_url == url and src.origin == url


def test_wrapper_url_in_query(http_server):
    inner = http_server.serve("/d/q.json", json.dumps(draft("q")))
    assert load_source(f"http://127.0.0.1:{http_server.port}/view?draft_url={quote(inner, safe='')}").data["id"] == "q"
    assert load_source(http_server.url(f"/view?lang=zh&draft_id={inner}")).data["id"] == "q"


def test_coze_wrapper_in_fragment(http_server):
    inner = http_server.serve("/draft/4f0c.json", json.dumps(draft("coze")))
    plain = f"https://ts.fyshark.com/#/cozeToJianyin?drafId={inner}"
    encoded = f"https://ts.fyshark.com/#/cozeToJianyin?drafId={quote(inner, safe='')}"
    for wrapper in (plain, encoded):
        src = load_source(wrapper)
        assert src.data["id"] == "coze" and src.base_url == inner and src.origin == wrapper


@pytest.mark.parametrize("wrapper, inner", [
    ("https://ts.fyshark.com/#/cozeToJianyin?drafId=https://b.example/x/draft/1.json",
     "https://b.example/x/draft/1.json"),
    ("https://ts.fyshark.com/#/cozeToJianyin?drafId=https%3A%2F%2Fb.example%2Fd%2F1.json",
     "https://b.example/d/1.json"),
    # An unencoded inner URL keeps its own signed query.
    ("https://w.example/p?x=1&draft_url=https://b.example/1.json?sig=a+b&exp=2",
     "https://b.example/1.json?sig=a+b&exp=2"),
    ("https://w.example/p?draft_id=https%253A%252F%252Fb.example%252F2.json",
     "https://b.example/2.json"),
    # A wrapper inside a wrapper.
    ("https://w.example/p?draft_url=" + quote("https://ts.fyshark.com/#/c?drafId=https://b.example/3.json", safe=""),
     "https://b.example/3.json"),
    ("https://b.example/plain.json?v=1", "https://b.example/plain.json?v=1"),
])
def test_unwrap_url(wrapper, inner):
    assert unwrap_url(wrapper) == inner


def test_wrapper_carrying_no_url():
    with pytest.raises(InvalidDraftUrl, match="not an http"):
        load_source("https://ts.fyshark.com/#/cozeToJianyin?drafId=7c1e-uuid")


def test_retries_5xx_then_succeeds(http_server):
    calls = []

    async def flaky(request):
        calls.append(1)
        if len(calls) < 3:
            return web.Response(status=503)
        return web.json_response(draft("third time"))

    url = http_server.route("/flaky.json", flaky)
    assert load_source(url).data["id"] == "third time"
    assert len(calls) == 3


def test_works_inside_a_running_event_loop(http_server):
    url = http_server.serve("/loop.json", json.dumps(draft("loop")))

    async def caller():
        return load_source(url)

    assert asyncio.run(caller()).data["id"] == "loop"


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("given", [None, "", "   "])
def test_missing_source(given):
    with pytest.raises(DraftUrlMissing):
        load_source(given)


@pytest.mark.parametrize("given", ["ftp://x/draft.json", "http://", "https://", "http:draft.json",
                                   "https://exa mple.com/d.json", "http://host:99999/d.json",
                                   "file:///etc/draft.json"])
def test_invalid_url(given):
    with pytest.raises(InvalidDraftUrl) as exc:
        load_source(given)
    assert repr(given)[1:-1] in one_line(exc) or given in one_line(exc)


def test_not_a_url_nor_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DraftNotFound, match="no such draft file or folder: not a url"):
        load_source("not a url")
    with pytest.raises(DraftNotFound, match="missing.json"):
        load_source(tmp_path / "missing.json")


@pytest.mark.parametrize("status", [404, 410])
def test_http_not_found(http_server, status):
    url = http_server.serve("/gone.json", "nope", status=status)
    with pytest.raises(DraftNotFound) as exc:
        load_source(url)
    assert f"HTTP {status}" in one_line(exc) and url in one_line(exc)
    assert http_server.hits["/gone.json"] == 1  # 4xx is not retried


def test_connection_refused():
    url = f"http://127.0.0.1:{free_port()}/d.json"
    with pytest.raises(DraftNotFound, match="cannot connect") as exc:
        load_source(url, timeout=3)
    assert url in one_line(exc)


def test_unknown_host():
    with pytest.raises(DraftNotFound, match="draft.invalid"):
        load_source("http://draft.invalid/d.json", timeout=3)


def test_timeout_is_bounded(http_server):
    async def never(request):
        await asyncio.sleep(30)
        return web.Response()

    url = http_server.route("/slow.json", never)
    started = time.monotonic()
    with pytest.raises(DraftNotFound, match=r"timed out after 0\.5 s"):
        load_source(url, timeout=0.5)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("body", [b"", b"  \n\t ", b"\xef\xbb\xbf", b"{}", b'{"id": "x", "version": 3}'])
def test_empty_drafts(tmp_path, body):
    (tmp_path / "draft_content.json").write_bytes(body)
    with pytest.raises(DraftEmpty):
        load_source(tmp_path)


def test_empty_draft_over_http(http_server):
    with pytest.raises(DraftEmpty):
        load_source(http_server.serve("/empty.json", b""))


def test_invalid_json_says_line_and_column(tmp_path):
    path = tmp_path / "draft_content.json"
    path.write_text('{\n  "tracks": [],\n  "materials": {,}\n}')
    with pytest.raises(MalformedDraft) as exc:
        load_source(path)
    message = one_line(exc)
    assert "line 3, column 17" in message and str(path) in message


def test_top_level_not_an_object(tmp_path):
    (tmp_path / "d.json").write_text("[1, 2]")
    with pytest.raises(MalformedDraft, match="JSON object, not a list"):
        load_source(tmp_path / "d.json")


def test_html_page_is_malformed_not_encrypted(http_server):
    url = http_server.serve("/page", "<!doctype html><html><body>Login required</body></html>",
                            content_type="text/html")
    with pytest.raises(MalformedDraft, match="not JSON"):
        load_source(url)


def test_encrypted_base64_draft(tmp_path):
    blob = base64.b64encode(os.urandom(3000))
    (tmp_path / "draft_content.json").write_bytes(blob)
    with pytest.raises(EncryptedDraft) as exc:
        load_source(tmp_path)
    assert "JianYing 6" in one_line(exc) and "unencrypted" in one_line(exc)


def test_encrypted_binary_draft_over_http(http_server):
    url = http_server.serve("/enc.json", bytes(range(256)) * 8)
    with pytest.raises(EncryptedDraft):
        load_source(url)


def test_size_cap_by_content_length(http_server):
    url = http_server.serve("/big.json", json.dumps(draft(pad="x" * 5000)))
    with pytest.raises(MalformedDraft, match="1 KiB cap"):
        load_source(url, max_bytes=1024)


def test_size_cap_while_streaming(http_server):
    sent = []

    async def endless(request):
        # Chunked, no Content-Length: only counting while reading can stop it.
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b'{"tracks": [')
        for _ in range(200):
            sent.append(1)
            await resp.write(b"0," * 512)
        return resp

    url = http_server.route("/stream.json", endless)
    with pytest.raises(MalformedDraft, match="4 KiB cap"):
        load_source(url, max_bytes=4096)


def test_size_cap_on_file(tmp_path):
    write_json(tmp_path / "draft_content.json", draft(pad="x" * 5000))
    with pytest.raises(MalformedDraft, match="cap"):
        load_source(tmp_path, max_bytes=1000)


def test_private_urls_refused_when_not_allowed(http_server):
    url = http_server.serve("/p.json", json.dumps(draft("p")))
    for given in (url, url.replace("127.0.0.1", "localhost"),
                  f"https://ts.fyshark.com/#/cozeToJianyin?drafId={url}"):
        with pytest.raises(InvalidDraftUrl, match="private address .*; --allow-private-urls allows it"):
            load_source(given, allow_private_urls=False)
    assert http_server.hits["/p.json"] == 0
    assert load_source(url).data["id"] == "p"  # allowed by default


def test_redirects_are_followed(http_server):
    async def bounce(request):
        raise web.HTTPFound(http_server.url("/p.json"))

    url = http_server.route("/r", bounce)
    http_server.serve("/p.json", json.dumps(draft("p")))
    assert load_source(url).data["id"] == "p"


def test_the_timeline_imports_nothing_downstream_of_it():
    # Data flows one way (draft → timeline → assets → render): a timeline module that imported
    # assets/ or render/ would make an import cycle, since those read the timeline's model.
    import ast
    from pathlib import Path

    import draftrender.timeline

    downstream = tuple(f"draftrender.{p}" for p in ("assets", "render", "server", "service", "generate", "bench"))
    for path in Path(draftrender.timeline.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [{0: "", 1: "draftrender.timeline.", 2: "draftrender."}[node.level] + (node.module or "")]
            else:
                continue
            assert not any(n.startswith(downstream) for n in names), f"{path.name} imports {names}"
