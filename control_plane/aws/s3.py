"""Archive objects in S3: always written with server-side encryption requested.

Every call goes through the client's bounded timeouts and retries (control_plane/aws/clients.py);
transfers add no retry loop of their own on top (s3transfer would otherwise retry a stalled
download five more times, each with the client's full budget).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig

from control_plane.aws.errors import AWS_FAILURES, AwsNotFound, error_code, translate
from control_plane.errors import InvalidInput

SSE = "AES256"
TRANSFER = TransferConfig(num_download_attempts=1)
# boto3's transfer manager wraps botocore errors (S3UploadFailedError, RetriesExceededError).
TRANSFER_FAILURES = (*AWS_FAILURES, Boto3Error)


def _unwrap(exc: BaseException) -> BaseException:
    """The botocore error inside a transfer manager's wrapper, so codes and timeouts still show."""
    inner = getattr(exc, "last_exception", None) or exc.__cause__ or exc.__context__
    return inner if isinstance(exc, Boto3Error) and isinstance(inner, AWS_FAILURES) else exc


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    last_modified: datetime


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def parse_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise InvalidInput(f"Not an S3 URI: {uri!r} (expected s3://bucket/key).")
    return parsed.netloc, parsed.path.lstrip("/")


class ArchiveStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def _fail(self, exc: Exception, op: str, key: str | None = None):
        exc = _unwrap(exc)
        where = s3_uri(self.bucket, key) if key else f"bucket {self.bucket!r}"
        if error_code(exc) in ("NoSuchBucket",):
            return AwsNotFound(f"S3 {op} failed: bucket {self.bucket!r} does not exist; create it or set "
                               "CP_ARCHIVE_BUCKET.")
        return translate(exc, f"S3 {op} of {where}")

    def upload_file(self, path: Path, key: str, metadata: dict[str, str] | None = None) -> str:
        try:
            self._s3.upload_file(str(path), self.bucket, key,
                                 ExtraArgs={"ServerSideEncryption": SSE, "Metadata": metadata or {}},
                                 Config=TRANSFER)
        except TRANSFER_FAILURES as exc:
            raise self._fail(exc, "upload", key) from exc
        return s3_uri(self.bucket, key)

    def put_json(self, key: str, payload: dict[str, Any]) -> str:
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(payload, indent=2).encode(),
                                ContentType="application/json", ServerSideEncryption=SSE)
        except AWS_FAILURES as exc:
            raise self._fail(exc, "put", key) from exc
        return s3_uri(self.bucket, key)

    def put_bytes(self, key: str, body: bytes) -> str:
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ServerSideEncryption=SSE)
        except AWS_FAILURES as exc:
            raise self._fail(exc, "put", key) from exc
        return s3_uri(self.bucket, key)

    def download_file(self, key: str, path: Path) -> None:
        try:
            self._s3.download_file(self.bucket, key, str(path), Config=TRANSFER)
        except TRANSFER_FAILURES as exc:
            if error_code(_unwrap(exc)) in ("404", "NoSuchKey", "NotFound"):
                raise AwsNotFound(f"Archive {s3_uri(self.bucket, key)} is missing from S3.") from exc
            raise self._fail(exc, "download", key) from exc

    def get_json(self, key: str) -> dict[str, Any]:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except AWS_FAILURES as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise AwsNotFound(f"Archive manifest {s3_uri(self.bucket, key)} is missing from S3.") from exc
            raise self._fail(exc, "get", key) from exc
        return json.loads(body)

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            return self._s3.head_object(Bucket=self.bucket, Key=key)
        except AWS_FAILURES as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail(exc, "head", key) from exc

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            if not chunk:
                continue
            try:
                self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk],
                                                                    "Quiet": True})
            except AWS_FAILURES as exc:
                raise self._fail(exc, "delete", chunk[0]) from exc

    def list(self, prefix: str) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found.append(ObjectInfo(item["Key"], int(item["Size"]), item["LastModified"]))
        except AWS_FAILURES as exc:
            raise self._fail(exc, "list") from exc
        return found
