"""Where drafts and videos live: a folder (the data dir, or one shared by several machines)
or an S3-compatible bucket. Names are relative, like "videos/<task>.mp4".

An object appears under its final name only once complete: a folder writes a hidden
temporary file beside it and renames it into place; S3 shows an upload only once it ends.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit


class Storage(Protocol):
    def put_file(self, src: Path, name: str) -> None:
        """Move the finished local file `src` in as `name`."""

    def put_bytes(self, data: bytes, name: str) -> None: ...

    def read_bytes(self, name: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""

    def get_file(self, name: str, dest: Path) -> None:
        """Copy the object to the local file `dest`; FileNotFoundError when there is none."""

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None:
        """Remove the object; nothing when there is none."""

    def names(self, prefix: str) -> list[str]:
        """Every name under the folder `prefix` ("videos/")."""

    def path(self, name: str) -> Path | None:
        """The object as a local file, when storage is a folder (the service serves it)."""

    def url(self, name: str) -> str | None:
        """A presigned URL for the object, when storage is a bucket (callers fetch it there)."""


class FolderStorage:
    def __init__(self, root: Path):
        self.root = Path(root)

    def put_file(self, src: Path, name: str) -> None:
        final = self._file(name)
        try:
            os.replace(src, final)  # same file system: the rename is the whole write
            return
        except OSError:
            pass
        tmp = self._partial(final)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        Path(src).unlink(missing_ok=True)

    def put_bytes(self, data: bytes, name: str) -> None:
        final = self._file(name)
        tmp = self._partial(final)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def read_bytes(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def get_file(self, name: str, dest: Path) -> None:
        shutil.copyfile(self.root / name, dest)

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def delete(self, name: str) -> None:
        (self.root / name).unlink(missing_ok=True)

    def names(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return [f"{prefix}{p.name}" for p in folder.iterdir() if not p.name.startswith(".")]

    def path(self, name: str) -> Path | None:
        return self.root / name

    def url(self, name: str) -> str | None:
        return None

    def _file(self, name: str) -> Path:
        final = self.root / name
        final.parent.mkdir(parents=True, exist_ok=True)
        return final

    @staticmethod
    def _partial(final: Path) -> Path:
        # Hidden, and unique: two workers finishing the same task never share a temporary file.
        return final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.part")


class BucketStorage:
    """An S3-compatible bucket through boto3; credentials and the endpoint come from boto3's
    usual settings (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, ~/.aws)."""

    def __init__(self, bucket: str, prefix: str = "", *, url_seconds: int = 3600):
        import boto3  # only for bucket storage

        self.bucket, self.prefix, self.url_seconds = bucket, prefix.strip("/"), url_seconds
        self.s3 = boto3.client("s3")

    def put_file(self, src: Path, name: str) -> None:
        self.s3.upload_file(str(src), self.bucket, self._key(name))
        Path(src).unlink(missing_ok=True)

    def put_bytes(self, data: bytes, name: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)

    def read_bytes(self, name: str) -> bytes:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            raise FileNotFoundError(f"s3://{self.bucket}/{self._key(name)}") from None

    def get_file(self, name: str, dest: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            self.s3.download_file(self.bucket, self._key(name), str(dest))
        except ClientError as e:
            raise FileNotFoundError(f"s3://{self.bucket}/{self._key(name)}: {e}") from None

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=self._key(name))
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def delete(self, name: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self._key(name))

    def names(self, prefix: str) -> list[str]:
        start = len(self._key(""))
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
        return [o["Key"][start:] for page in pages for o in page.get("Contents", [])]

    def path(self, name: str) -> Path | None:
        return None

    def url(self, name: str) -> str | None:
        return self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": self._key(name)},
                                              ExpiresIn=self.url_seconds)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name


def open_storage(spec: str | Path) -> Storage:
    """s3://bucket/prefix → a bucket; anything else is a folder path."""
    text = str(spec)
    if text.startswith("s3://"):
        parts = urlsplit(text)
        if not parts.netloc:
            raise ValueError(f"--storage {text}: name the bucket, as in s3://bucket/prefix")
        return BucketStorage(parts.netloc, parts.path)
    return FolderStorage(Path(text))
