"""The worker side of a function environment: a standalone script, run by the function's own interpreter
(any Python >= 3.8, so standard library only and no import of latticework), that imports the handler once and
then answers invocations for as long as it lives.

Channel: the supervisor's pipes on fds 0 (in) and 1 (out), moved aside at start; fd 1 then points at fd 2 (the
function's log file), so stray writes of C code land in the log. Frames are a 1-byte kind, a 4-byte big-endian
length and the body:
    in   I  invocation: header JSON, newline, event payload
    out  S  ready (body: init duration JSON)   X  init failed (error document)
         L  log text                           R  result (stats JSON, newline, payload)
         E  handler error (stats JSON, newline, error document)
         M  out of memory (sent, then the process exits)
Owns no policy: timeouts, concurrency and retries belong to the supervisor.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import resource
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct(">cI")
_OOM_FRAME = _HEADER.pack(b"M", 0)  # built before any handler runs: sending it needs no allocation


class Channel:
    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out

    def send(self, kind: bytes, body: bytes) -> None:
        data = _HEADER.pack(kind, len(body)) + body
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd_out, view) :]

    def receive(self) -> tuple[bytes, bytes]:
        kind, size = _HEADER.unpack(self._exactly(_HEADER.size))
        return kind, self._exactly(size)

    def _exactly(self, size: int) -> bytes:
        chunks = []
        while size:
            chunk = os.read(self.fd_in, min(size, 1 << 20))
            if not chunk:
                os._exit(0)  # the supervisor went away: nothing left to serve
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


class LogStream(io.TextIOBase):
    """sys.stdout and sys.stderr of the handler: complete lines go to the supervisor as L frames."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        if "\n" in self.pending:
            complete, _, self.pending = self.pending.rpartition("\n")
            self.channel.send(b"L", (complete + "\n").encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.channel.send(b"L", self.pending.encode("utf-8", "replace"))
            self.pending = ""


class LambdaContext:
    """The `context` argument (Lambda DG "Using the Lambda context object to retrieve Python function
    information")."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = header["arn"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.aws_request_id = header["id"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = header.get("clientContext")
        self._deadline_ms = int(header["deadline"])

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def error_document(exc: BaseException, error_type: str | None = None, skip: int = 1) -> dict[str, Any]:
    """Lambda's error payload: errorMessage, errorType, requestId, stackTrace (frames of user code only)."""
    tb = exc.__traceback__
    for _ in range(skip):
        tb = tb.tb_next if tb is not None else None
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(traceback.extract_tb(tb)),
    }


def load_handler(spec: str) -> Callable[[Any, LambdaContext], Any]:
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from exc
    except ImportError as exc:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler  # type: ignore[no-any-return]


class _InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def limit_memory() -> None:
    """RLIMIT_AS at the address space after init plus the function's MemorySize: the handler can grow by that
    much, then allocation fails with MemoryError (Linux /proc only; elsewhere the limit is recorded, not
    enforced)."""
    budget = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) * 1024 * 1024
    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = size + budget
    if hard == resource.RLIM_INFINITY or wanted <= hard:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def max_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # Linux reports kilobytes


def log_error(document: dict[str, Any]) -> None:
    # The Python runtime logs an unhandled error as "[ERROR] Type: message" and the traceback.
    trace = "".join(document["stackTrace"])
    sys.stdout.write(f"[ERROR] {document['errorType']}: {document['errorMessage']}\n")
    if trace:
        sys.stdout.write(f"Traceback (most recent call last):\n{trace}")
    sys.stdout.flush()


def invoke(channel: Channel, handler: Callable[[Any, LambdaContext], Any], body: bytes) -> None:
    header_line, _, payload = body.partition(b"\n")
    header = json.loads(header_line)
    try:
        event = json.loads(payload) if payload.strip() else {}
        result = handler(event, LambdaContext(header))
    except MemoryError:
        os.write(channel.fd_out, _OOM_FRAME)
        os._exit(1)
    except Exception as exc:
        document = error_document(exc)
        document["requestId"] = header["id"]
        return finish(channel, b"E", document)
    try:
        output = json.dumps(result).encode()
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        document = {"errorMessage": message, "errorType": "Runtime.MarshalError", "requestId": header["id"]}
        document["stackTrace"] = []
        return finish(channel, b"E", document)
    sys.stdout.flush()
    sys.stderr.flush()
    stats = json.dumps({"maxMemoryMb": max_memory_mb()}).encode()
    channel.send(b"R", stats + b"\n" + output)


def finish(channel: Channel, kind: bytes, document: dict[str, Any]) -> None:
    log_error(document)
    sys.stderr.flush()
    stats = json.dumps({"maxMemoryMb": max_memory_mb()}).encode()
    channel.send(kind, stats + b"\n" + json.dumps(document).encode())


def main() -> None:
    channel = Channel(os.dup(0), os.dup(1))
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    sys.stdout = LogStream(channel)
    sys.stderr = sys.stdout
    started = time.perf_counter()
    root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, root)
    os.chdir(root)
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except _InitError as exc:
        channel.send(b"X", json.dumps(error_document(exc, exc.error_type, skip=99)).encode())
        os._exit(1)
    except Exception as exc:
        channel.send(b"X", json.dumps(error_document(exc)).encode())
        os._exit(1)
    limit_memory()
    channel.send(b"S", json.dumps({"initMs": (time.perf_counter() - started) * 1000}).encode())
    while True:
        kind, body = channel.receive()
        if kind == b"I":
            invoke(channel, handler, body)


if __name__ == "__main__":
    main()
