"""The VideoMatic SDK (draftrender.videomatic) against a real service on loopback: the
document's Python examples, as written but for the import line and the base URL, and the
SDK's own surface (templates, uploads, errors)."""

from __future__ import annotations

import textwrap

import openpyxl
import pytest
from drafts import draft_file
from media_factory import make_image
from template_drafts import product_template, text_template
from videomatic_harness import colours, frame_of, near

import draftrender.videomatic as sdk
from draftrender.server.app import ACCOUNTS
from draftrender.videomatic import Video, VideoMatic, VideoMaticError

# The document's examples (sections 三, 七 and 八), indented as Python needs. Changed: the
# import line, and base_url=BASE added where the client is made.
SDK_EXAMPLE = '''
from draftrender.videomatic import VideoMatic
# 初始化
client = VideoMatic(api_key="your_api_key", base_url=BASE)
# 创建单个视频
video = client.videos.create(
    template_id="template_abc123",
    data={
        "product_name": "iPhone 15 Pro",
        "price": 7999,
        "product_image": "https://example.com/image.jpg"
    }
)
print(f"视频ID: {video.id}")
print(f"状态: {video.status}")
# 等待完成
video.wait_until_completed()
print(f"视频URL: {video.file_url}")
# 批量创建
batch = client.videos.batch_create(
    template_id="template_abc123",
    data_source=PRODUCTS_CSV
)
# 监控进度
for progress in batch.watch_progress():
    print(f"进度: {progress['completed']}/{progress['total']}")
'''

RETRY_EXAMPLE = '''
import time
def create_video_with_retry(client, params, max_retries=3):
    """带重试的视频创建"""
    for attempt in range(max_retries):
        try:
            return client.videos.create(**params)
        except Exception as e:
            if attempt == max_retries - 1:
                raise
            time.sleep(2 ** attempt) # 指数退避
'''

PANDAS_EXAMPLE = '''
from draftrender.videomatic import VideoMatic
import pandas as pd
# 初始化
client = VideoMatic(api_key="your_api_key", base_url=BASE)
# 读取商品数据
df = pd.read_excel("products.xlsx")
# 批量创建
batch = client.videos.batch_create(
    template_id="ecommerce_showcase_v1",
    data=df.to_dict('records'),
    webhook_url="https://yourapp.com/webhook"
)
print(f"批量任务ID: {batch.id}")
print(f"共 {batch.total} 个视频")
# 监控进度(可选)
for progress in batch.watch_progress():
    print(f"已完成: {progress['completed']}/{progress['total']}")
    if progress['failed'] > 0:
        print(f"失败: {progress['failed']}")
# 下载所有视频
videos = batch.get_completed_videos()
for video in videos:
    video.download(f"output/{video.id}.mp4")
'''


@pytest.fixture
def service(start_service, http_server, tmp_path):
    """A service whose key is the document's "your_api_key", with the document's two template ids."""
    service = start_service(workers=2)
    service.on_loop(lambda: service.app[ACCOUNTS].create_key(key="your_api_key", plan="pro"))
    for name, folder in (("card", text_template(tmp_path / "t")), ("tpl", product_template(tmp_path / "t"))):
        http_server.serve(f"/{name}/draft_content.json", draft_file(folder).read_bytes(),
                          content_type="application/json")
        for medium in (folder / "media").iterdir():
            http_server.serve(f"/{name}/media/{medium.name}", medium.read_bytes())
    client = VideoMatic(api_key="your_api_key", base_url=service.url + "/v1", poll_interval=0.1)
    client.templates.create("商品卡片", "ecommerce", {"draft_url": http_server.url("/card/draft_content.json")},
                            id="template_abc123")
    client.templates.create("电商展示", "ecommerce", {"draft_url": http_server.url("/tpl/draft_content.json")},
                            id="ecommerce_showcase_v1")
    service.client = client
    return service


def run_example(code: str, base: str, capsys, **names) -> str:
    exec(compile(textwrap.dedent(code), "example", "exec"), {"BASE": base, **names})
    return capsys.readouterr().out


def test_the_documents_sdk_example(service, http_server, capsys, monkeypatch):
    monkeypatch.setattr(sdk, "POLL_INTERVAL", 0.1)  # the examples poll as written: faster, for a short test
    csv = "product_name,price\n" + "".join(f"Phone {i},{1000 + i}\n" for i in range(5))
    # The one other change: the batch's CSV is on loopback, as this machine has no internet.
    url = http_server.serve("/products.csv", csv.encode(), content_type="text/csv")
    out = run_example(SDK_EXAMPLE, service.url + "/v1", capsys, PRODUCTS_CSV=url).splitlines()
    assert out[0].startswith("视频ID: video_") and out[1] == "状态: queued"
    assert out[2].startswith(f"视频URL: {service.url}/files/") and out[2].endswith(".mp4")
    assert out[3:] and out[-1] == "进度: 5/5"

    names: dict = {}
    exec(RETRY_EXAMPLE, names)  # defines the function; called as the document means it
    video = names["create_video_with_retry"](service.client, {"template_id": "template_abc123",
                                                              "data": {"product_name": "Pad"}})
    assert isinstance(video, Video) and video.wait_until_completed().status == "completed"


def test_the_documents_pandas_example(service, tmp_path, capsys, monkeypatch, http_server):
    monkeypatch.setattr(sdk, "POLL_INTERVAL", 0.1)  # the examples poll as written: faster, for a short test
    monkeypatch.chdir(tmp_path)
    book = openpyxl.Workbook()
    book.active.append(["product_name", "price", "product_image"])
    for i, rgb in enumerate(colours(3)):
        image = http_server.serve(f"/img/{i}.png", make_image(tmp_path / f"{i}.png", (100, 100), rgb).read_bytes())
        book.active.append([f"Shoe {i}", 99.5 + i, image])
    book.active.append(["Broken", "n/a", None])  # price is text: fine; no image: the template's own
    book.save("products.xlsx")
    out = run_example(PANDAS_EXAMPLE, service.url + "/v1", capsys).splitlines()
    assert out[0].startswith("批量任务ID: batch_") and out[1] == "共 4 个视频"
    assert out[-1] == "已完成: 4/4"
    files = sorted((tmp_path / "output").glob("video_*.mp4"))
    assert len(files) == 4
    seen = [frame_of(f.read_bytes(), tmp_path / "probe.mp4")[90, 80] for f in files]
    for rgb in colours(3):
        assert sum(near(px, rgb) for px in seen) == 1  # each row's own image, once
    assert sum(near(px, (128, 128, 128)) for px in seen) == 1  # and the template's own for the empty cell


def test_the_sdk_surface(service, tmp_path):
    client = service.client
    assert [t["id"] for t in client.templates.list(category="ecommerce")] == [
        "ecommerce_showcase_v1", "template_abc123"]
    fields = client.templates.get("ecommerce_showcase_v1")["fields"]
    assert {f["name"]: f["type"] for f in fields}["product_image"] == "image"

    with pytest.raises(VideoMaticError) as e:
        client.videos.create(template_id="ecommerce_showcase_v1", data={"product_name": "x", "zoom": "big"})
    assert (e.value.status, e.value.code, e.value.field) == (400, "invalid_data", "zoom")
    with pytest.raises(VideoMaticError) as e:
        client.videos.create(template_id="missing", data={})
    assert (e.value.status, e.value.code) == (404, "template_not_found")
    with pytest.raises(VideoMaticError) as e:
        VideoMatic(api_key="wrong", base_url=client.base_url).templates.list()
    assert (e.value.status, e.value.code) == (401, "unauthorized")

    # A local table is uploaded; a bad row fails alone and says which.
    table = tmp_path / "rows.csv"
    table.write_text("product_name,zoom\nA,0.5\nB,big\nC,1\n", encoding="utf-8")
    batch = client.videos.batch_create("ecommerce_showcase_v1", table, concurrent=2)
    assert batch.total == 3
    final = batch.wait_until_completed(timeout=120)
    assert (final["completed"], final["failed"]) == (2, 1)
    assert [v["error"]["row"] for v in final["videos"] if v["status"] == "failed"] == [2]
    done = batch.get_completed_videos()
    assert len(done) == 2 and all(v.file_url and v.duration == 1.0 for v in done)
    path = done[0].download(tmp_path / "a" / "b.mp4")
    assert path.stat().st_size == done[0].file_size
    assert client.videos.get(done[0].id).status == "completed"
    assert client.templates.delete("template_abc123") == {"id": "template_abc123", "deleted": True}
