"""The 兆投算力 gateway adapter (kling, jimeng, vidu): its own /v1/video/generations format.

From its document: POST /v1/video/generations with `image`, `duration`, `size` and
`metadata` per model family; GET /v1/video/generations/{task_id} (status `succeeded` with
`url`, or `failed` with `error.message`); the file from GET /v1/videos/{id}/content when
the answer has no url. The request's extras go into `metadata` (kling: cfg_scale,
camera_control; vidu: movement_amplitude, callback_url).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import GenerationRequest, InvalidGeneration, Job, ProviderError, Variant, is_url
from .http import Response
from .remote import RemoteProvider, error_fields, ratio_and_resolution, timestamp, whole_seconds


def metadata(request: GenerationRequest) -> dict[str, Any]:
    """The family's own fields, from the request; its extras last, so they win."""
    family = request.model.lower()
    ratio, resolution = ratio_and_resolution(request)
    if family.startswith("jimeng"):
        meta: dict[str, Any] = {"req_key": request.model, "aspect_ratio": ratio}
        if request.images:
            meta["image_urls"] = list(request.images)
    elif family.startswith("vidu"):
        meta = {"resolution": resolution, "bgm": request.audio, "seed": request.seed}
    else:  # kling, and any other family: the common fields
        meta = {"seed": request.seed, "negative_prompt": request.negative_prompt}
    meta.update(request.extra)
    return {k: v for k, v in meta.items() if v is not None}


class Zhaotou(RemoteProvider):
    async def submit(self, request: GenerationRequest) -> Job:
        if any(not is_url(i) for i in request.images):
            raise InvalidGeneration(f"{self.name}: the gateway takes image URLs only, not files", code="image_not_url")
        optional = {"image": request.images[0] if request.images else None,
                    "duration": whole_seconds(request.seconds), "size": request.size}
        given = {k: v for k, v in optional.items() if v is not None}
        body = {"model": request.model, "prompt": request.prompt, **given, "metadata": metadata(request)}
        return self._job(await self.client.call("POST", "/v1/video/generations", json_body=body, submit=True),
                         request.model)

    async def poll(self, job_id: str) -> Job:
        return self._job(await self.client.call("GET", f"/v1/video/generations/{job_id}"), "")

    def _job(self, r: Response, model: str) -> Job:
        body = r.body if isinstance(r.body, dict) else {}
        job_id = body.get("task_id") or body.get("id")
        if not job_id:
            raise ProviderError(f"{self.name}: the answer has no task_id", code="bad_response")
        return self.job(job_id, body.get("model") or model, body.get("status") or "submitted",
                        progress=body.get("progress"), video_url=body.get("url") or body.get("video_url"),
                        created_at=timestamp(body.get("created_at")), completed_at=timestamp(body.get("completed_at")),
                        **error_fields(body.get("error")))

    async def download(self, job: Job, variant: Variant, dest: Path) -> Path:
        if variant != "video":
            raise ProviderError(f"{self.name}: the gateway serves no {variant}", code="no_result")
        return await self.client.download(job.video_url or f"/v1/videos/{job.id}/content", dest)

    async def cancel(self, job_id: str) -> None:
        """The gateway documents no cancel."""
