"""Where a backup goes: an S3 prefix (`s3://bucket/prefix`) or a local folder.

Both are operator input: an S3 bucket must be a valid bucket name and its prefix plain path
segments (no `..`, no control characters); a local folder is made 0700 and must be a real folder
of ours, never a symlink, since a dump holds tenant data unencrypted. Object and file names below
the destination are ours (a timestamp, a validated cluster name, part numbers), never typed text.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from control_plane.domain.text import clean_text
from control_plane.errors import ConfigError, InvalidInput

DESTINATION_MAX = 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._=+-]{1,200}$")


@dataclass(frozen=True)
class Destination:
    """`bucket` set: S3 under `prefix` (ends with '/' or is empty); otherwise the folder `folder`."""

    bucket: str | None = None
    prefix: str = ""
    folder: Path | None = None

    def describe(self, key: str = "") -> str:
        if self.bucket is not None:
            return f"s3://{self.bucket}/{self.prefix}{key}"
        assert self.folder is not None
        return str(self.folder / key) if key else str(self.folder)


def parse(value: object) -> Destination:
    text = clean_text(value, "Backup destination", DESTINATION_MAX)
    if not text:
        raise InvalidInput("A backup destination is required: s3://BUCKET[/PREFIX] or a local folder.")
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://"):].partition("/")
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise InvalidInput(f"Invalid S3 bucket name {bucket!r}: 3-63 lowercase letters, digits, '.' or '-'.")
        segments = [s for s in prefix.split("/") if s]
        for segment in segments:
            if segment in (".", "..") or not _SEGMENT.fullmatch(segment):
                raise InvalidInput(f"Invalid S3 prefix segment {segment!r}: letters, digits and . _ = + - only, "
                                   "no '.' or '..'.")
        return Destination(bucket=bucket, prefix="".join(f"{s}/" for s in segments))
    if "://" in text:
        raise InvalidInput("A backup destination is s3://BUCKET[/PREFIX] or a local folder; other schemes are "
                           "not supported.")
    return Destination(folder=Path(text).expanduser().absolute())


def private_folder(folder: Path) -> Path:
    """`folder` created 0700 (parents as the umask says), or checked to be a real folder of ours."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError as exc:
        raise ConfigError(f"Cannot use {folder} as a backup folder ({exc.strerror}).") from exc
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise ConfigError(f"{folder} is not a folder owned by this user (or is a symlink); backups hold tenant "
                          "data and are written only to a private folder.")
    if stat.S_IMODE(info.st_mode) & 0o077:
        folder.chmod(0o700)
    return folder



def checksum_lines(files: list[dict[str, Any]]) -> str:
    """`sha256sum -c` input for the files of a manifest."""
    return "".join(f"{f['sha256']}  {f['name']}\n" for f in files)
