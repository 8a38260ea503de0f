"""Uploaded photos and evidence files: type checked by content (never by name or the client's
Content-Type), size-limited, stored under a name the server makes (SHA-256 + extension), so a
client's file name can never choose a path. The original name is kept, sanitised, for display.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from gep.errors import GepError

IMAGE_TYPES = {"jpeg": ("image/jpeg", ".jpg"), "png": ("image/png", ".png")}
PDF = ("application/pdf", ".pdf")


class UploadError(GepError, ValueError):
    """An upload that is not a real JPEG/PNG (or PDF), or too large; the message says why."""


@dataclass(frozen=True)
class Stored:
    stored_name: str
    original_name: str
    content_type: str
    sha256: str
    size_bytes: int


def safe_display_name(name: str | None) -> str:
    """The last path component, without control characters, at most 120 characters."""
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"^\.+", "", name).strip()
    return name[:120] or "file"


def sniff(data: bytes, allow_pdf: bool = False) -> tuple[str, str]:
    """(content type, extension) from the bytes; UploadError unless a real JPEG/PNG (or PDF)."""
    if data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n"):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as im:
                fmt = (im.format or "").lower()
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise UploadError(f"the file is not a readable image ({exc})") from None
        if fmt in IMAGE_TYPES:
            return IMAGE_TYPES[fmt]
    if allow_pdf and data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:]:
        return PDF
    kinds = "JPEG, PNG" + (" or PDF" if allow_pdf else "")
    raise UploadError(f"only {kinds} files are accepted (checked by content)")


def store(data: bytes, original_name: str | None, folder: Path, max_bytes: int,
          allow_pdf: bool = False) -> Stored:
    if len(data) > max_bytes:
        raise UploadError(f"file larger than {max_bytes // (1024 * 1024)} MB")
    if not data:
        raise UploadError("empty file")
    ctype, ext = sniff(data, allow_pdf)
    sha = hashlib.sha256(data).hexdigest()
    name = sha + ext
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return Stored(name, safe_display_name(original_name), ctype, sha, len(data))
