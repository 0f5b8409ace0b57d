"""The OpenAI /v1/videos adapter, and the gateways that copy it.

From the `openai` package's videos resource: POST /v1/videos (JSON, or multipart when the
reference image is a file), GET /v1/videos/{id} (honouring `openai-poll-after-ms`),
GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet, DELETE /v1/videos/{id}.
Gateways answer in their own shapes, all accepted: 易尚云 with `task_id`, `video_url`,
`thumbnail_url` and `processing`; 兆投算力's /v1/videos with `succeeded`.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import aiohttp

from .base import GenerationRequest, InvalidGeneration, Job, ProviderError, Variant, is_url
from .http import Response
from .remote import RemoteProvider, error_fields, timestamp


class OpenAIVideos(RemoteProvider):
    # 易尚云's document sends `input_reference` as a list of URLs; OpenAI takes one {"image_url": ...}.
    reference_list = False

    async def submit(self, request: GenerationRequest) -> Job:
        fields: dict[str, Any] = {"model": request.model, "prompt": request.prompt}
        if request.seconds is not None:
            fields["seconds"] = f"{request.seconds:g}"  # the API's seconds are strings: "4", "8", "12"
        if request.size:
            fields["size"] = request.size
        fields.update(request.extra)
        files = [i for i in request.images if not is_url(i)]
        urls = [i for i in request.images if is_url(i)]
        if files:
            if len(request.images) > 1:
                raise InvalidGeneration(f"{self.name}: one reference image when it is a file "
                                        f"(got {len(request.images)})",
                                        code="too_many_images")
            path = Path(files[0])
            data = path.read_bytes()

            def form() -> aiohttp.FormData:
                body = aiohttp.FormData()
                for k, v in fields.items():
                    body.add_field(k, str(v))
                body.add_field("input_reference", data, filename=path.name,
                               content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")
                return body

            r = await self.client.call("POST", "/v1/videos", form=form, submit=True)
        else:
            if urls:
                if self.reference_list:
                    fields["input_reference"] = urls
                elif len(urls) == 1:
                    fields["input_reference"] = {"image_url": urls[0]}
                else:
                    raise InvalidGeneration(f"{self.name}: OpenAI takes one reference image (got {len(urls)})",
                                            code="too_many_images")
            r = await self.client.call("POST", "/v1/videos", json_body=fields, submit=True)
        return self._job(r, request.model)

    async def poll(self, job_id: str) -> Job:
        return self._job(await self.client.call("GET", f"/v1/videos/{job_id}"), "")

    def _job(self, r: Response, model: str) -> Job:
        body = r.body if isinstance(r.body, dict) else {}
        job_id = body.get("id") or body.get("task_id")
        if not job_id:
            raise ProviderError(f"{self.name}: the answer has no id or task_id", code="bad_response")
        after = r.headers.get("openai-poll-after-ms")
        return self.job(
            job_id, body.get("model") or model, body.get("status"), progress=body.get("progress"),
            video_url=body.get("video_url") or body.get("url"), thumbnail_url=body.get("thumbnail_url"),
            created_at=timestamp(body.get("created_at")), completed_at=timestamp(body.get("completed_at")),
            poll_after=int(after) / 1000 if after and after.isdigit() else None,
            **error_fields(body.get("error")))

    async def download(self, job: Job, variant: Variant, dest: Path) -> Path:
        url = {"video": job.video_url, "thumbnail": job.thumbnail_url}.get(variant)
        return await self.client.download(url or f"/v1/videos/{job.id}/content?variant={variant}", dest)

    async def cancel(self, job_id: str) -> None:
        await self.client.call("DELETE", f"/v1/videos/{job_id}")


class YisangyunVideos(OpenAIVideos):
    reference_list = True
