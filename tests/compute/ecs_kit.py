"""Helpers the ECS tests share: a task definition whose container is a tiny Python HTTP server, and waiting."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

# Serves GET with {"task", "version"} and /health with 200; prints one line per request to stdout (the task log).
HTTP_SERVER = """
import http.server, json, os
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = json.dumps({"task": os.environ["ECS_TASK_ARN"], "version": os.environ.get("VERSION")}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, format, *args):
        print("served", self.path, flush=True)
print("listening on", os.environ["PORT"], flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""

CRASH = "import sys; print('crashing', flush=True); sys.exit(3)"


def web_container(version: str = "1", script: str = HTTP_SERVER, **extra: Any) -> dict[str, Any]:
    return {
        "name": "web",
        "image": "local/web",
        "entryPoint": [sys.executable, "-c"],
        "command": [script],
        "portMappings": [{"containerPort": 8080, "name": "http"}],
        "environment": [{"name": "VERSION", "value": version}],
        **extra,
    }


def wait_for(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1) -> Any:
    """The first truthy value `check` returns; AssertionError when none comes in time."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s (last value {value!r})")
        time.sleep(interval)


def service_of(ecs: Any, cluster: str, name: str) -> dict[str, Any]:
    return dict(ecs.describe_services(cluster=cluster, services=[name])["services"][0])


def tasks_of(ecs: Any, cluster: str, service: str, status: str = "RUNNING") -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus=status)["taskArns"]
    return list(ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]) if arns else []


def served_by(port: int) -> str | None:
    """The task ARN the HTTP_SERVER container on `port` answers with; None when nothing answers (a later task
    may have been given the same port: the ARN tells them apart)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return str(json.loads(response.read())["task"])
    except OSError:
        return None
