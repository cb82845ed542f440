"""Function code on disk: a deployment package (zip) is unpacked once to STATE_DIR/functions/NAME/<sha256 hex>/
and never changed after, so a warm worker's code cannot shift under it; an update unpacks a new directory.

A local path (CreateFunction `Code={"S3Bucket": "local", "S3Key": "/abs/path"}`) names a directory or a .zip on
this machine; a directory is packed into a deterministic zip first, so CodeSha256 and CodeSize mean what they
mean for an uploaded package. File-system I/O only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["BadPackage", "code_sha256", "pack_directory", "read_local", "remove_function_code", "unpack"]

LOCAL_BUCKET = "local"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class BadPackage(ValueError):
    """The package cannot be used; the message says why (InvalidParameterValueException)."""


def code_sha256(package: bytes) -> str:
    """CodeSha256 as Lambda reports it: the base64 of the package's SHA-256 digest (Lambda API reference
    FunctionConfiguration.CodeSha256)."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode()


def unpack(state_dir: Path, name: str, package: bytes) -> Path:
    """The directory holding the unpacked package (reused when the same package was unpacked before)."""
    target = state_dir / "functions" / name / hashlib.sha256(package).hexdigest()
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        _extract(package, staging)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
    return target


def _extract(package: bytes, into: Path) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile:
        # The message Lambda answers for a ZipFile that is not a zip.
        raise BadPackage("Could not unzip uploaded file. Please check your file, then try to upload again.") from None
    with archive:
        for member in archive.namelist():
            path = PurePosixPath(member)
            if path.is_absolute() or ".." in path.parts:
                raise BadPackage(f"The package holds an unsafe path '{member}'; paths must be relative.")
        archive.extractall(into)


def pack_directory(directory: Path) -> bytes:
    """A zip of every file under `directory`, in name order with fixed timestamps, so the same tree always
    gives the same CodeSha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            info = zipfile.ZipInfo(path.relative_to(directory).as_posix(), _FIXED_TIME)
            info.external_attr = (path.stat().st_mode & 0o777) << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def read_local(key: str) -> bytes:
    """The package a local path names: a directory (packed) or a zip file."""
    path = Path(key)
    if not path.is_absolute():
        raise BadPackage(f"S3Key '{key}' for S3Bucket '{LOCAL_BUCKET}' must be an absolute path on the server.")
    if path.is_dir():
        return pack_directory(path)
    if path.is_file():
        return path.read_bytes()
    raise BadPackage(f"S3Key '{key}' for S3Bucket '{LOCAL_BUCKET}' is neither a directory nor a file on the server.")


def remove_function_code(state_dir: Path, name: str) -> None:
    shutil.rmtree(state_dir / "functions" / name, ignore_errors=True)
