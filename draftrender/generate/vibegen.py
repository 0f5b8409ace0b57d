"""The vibegen adapter (Seedance): POST /api/v1/generations, GET /api/v1/tasks/{id}.

From its document: answers wrapped in `{success, data}` (201 on create), statuses pending,
processing, completed, failed (a job fails by itself after 10 minutes), errors as
`{"error": {"code", "message"}}` (401, 400, 402, 404, 429, 502, 500), image URLs only,
`callback_url` passed through from the request's extras, and result URLs that expire after
24 hours (the runner downloads at completion). There is no cancel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import GenerationRequest, InvalidGeneration, Job, ProviderError, Variant, is_url
from .http import Response
from .remote import RemoteProvider, error_fields, ratio_and_resolution, timestamp, whole_seconds


class Vibegen(RemoteProvider):
    @staticmethod
    def api_root(base_url: str) -> str:
        # The document gives both https://vibegen.art/api/v1 as the base and /api/v1/... as the paths.
        root = base_url.rstrip("/")
        return root[: -len("/api/v1")] if root.endswith("/api/v1") else root

    async def submit(self, request: GenerationRequest) -> Job:
        if any(not is_url(i) for i in request.images):
            raise InvalidGeneration(f"{self.name}: vibegen takes image URLs only, not files", code="image_not_url")
        ratio, resolution = ratio_and_resolution(request)
        body: dict[str, Any] = {"model": request.model, "prompt": request.prompt,
                                "generate_audio": request.audio}
        optional = {"image_urls": list(request.images) or None, "duration": whole_seconds(request.seconds),
                    "aspect_ratio": ratio, "resolution": resolution}
        body.update({k: v for k, v in optional.items() if v is not None})
        body.update(request.extra)
        return self._job(await self.client.call("POST", "/api/v1/generations", json_body=body, submit=True))

    async def poll(self, job_id: str) -> Job:
        return self._job(await self.client.call("GET", f"/api/v1/tasks/{job_id}"))

    def _job(self, r: Response) -> Job:
        data = r.body.get("data") if isinstance(r.body, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            raise ProviderError(f"{self.name}: the answer has no data.id", code="bad_response")
        return self.job(data["id"], data.get("model"), data.get("status"), progress=data.get("progress"),
                        video_url=data.get("video_url"), created_at=timestamp(data.get("created_at")),
                        completed_at=timestamp(data.get("completed_at")), **error_fields(data.get("error")))

    async def download(self, job: Job, variant: Variant, dest: Path) -> Path:
        if variant != "video" or not job.video_url:
            raise ProviderError(f"{self.name}: job {job.id} has no {variant} URL", code="no_result")
        return await self.client.download(job.video_url, dest)

    async def cancel(self, job_id: str) -> None:
        """vibegen has no cancel: its jobs fail by themselves after 10 minutes."""
