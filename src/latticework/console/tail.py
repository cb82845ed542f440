"""Recent requests for the console's live tail: the access log records under STATE_DIR/logs, read the way
`latticework logs -f` reads them (`cli.logs.poll_new_lines`: every destination, each line once), kept in a ring
of the latest ones, and the filters the page offers. Reads files only; never writes them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latticework.cli.logs import FollowState, parse_records, poll_new_lines, service_matches

__all__ = ["RequestTail", "matches"]

_KEPT = 1000


class RequestTail:
    """The latest access log records, oldest first; `recent()` reads what was appended since the last call."""

    def __init__(self, logs_dir: Path, kept: int = _KEPT) -> None:
        self.state = FollowState(logs_dir)
        self.records: deque[dict[str, Any]] = deque(maxlen=kept)

    def recent(self) -> list[dict[str, Any]]:
        self.records.extend(record for _, record in parse_records(poll_new_lines(self.state)))
        return list(self.records)


def matches(record: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    """The live tail's filters, all optional: `service` (name, ID or ARN), `status` (`5`, `5XX` or `503`),
    `method`, and `q` (a substring of the host or path)."""
    service, status = query.get("service", "").strip(), query.get("status", "").strip().upper().rstrip("X")
    method, text = query.get("method", "").strip().upper(), query.get("q", "").strip().lower()
    if service and not service_matches(dict(record), service):
        return False
    if status and not str(record.get("responseCode", "")).startswith(status):
        return False
    if method and str(record.get("requestMethod", "")).upper() != method:
        return False
    haystack = f"{record.get('hostHeader', '')} {record.get('requestPath', '')}".lower()
    return not text or text in haystack
