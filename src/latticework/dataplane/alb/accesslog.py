"""An ALB's access log (ELB User Guide, "Access logs for your Application Load Balancer"): one line per request in
ELB's space-separated syntax, and the S3 object key it lands under (below STATE_DIR/logs/s3, as the Lattice
access logs' S3 destinations do).

Fields, in order: type time elb client:port target:port request_processing_time target_processing_time
response_processing_time elb_status_code target_status_code received_bytes sent_bytes "request" "user_agent"
ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name" "chosen_cert_arn" matched_rule_priority
request_creation_time "actions_executed" "redirect_url" "error_reason" "target:port_list"
"target_status_code_list" "classification" "classification_reason" conn_trace_id. A field that does not apply
is `-`; a processing time that does not apply is -1 (the request never reached a target, or no response came).

Deviations: the object is plain text appended to during its 5-minute window (AWS delivers it gzipped at the
end); its node IP is 127.0.0.1 and its random string is derived from the ALB and the window, so several
data-plane workers append to one object; error_reason, classification and conn_trace_id are always `-`.
Pure: the request's trace and the ALB's decision in, bytes and a path out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from latticework.dataplane.accesslog import S3_WINDOW_SECONDS, FinishedRequest, path_segment
from latticework.dataplane.alb.decide import AlbDecision, AlbFixed, AlbForward, AlbRedirect
from latticework.dataplane.alb.views import AlbView

__all__ = ["AlbHop", "alb_log_line", "alb_log_path"]

NODE_ADDRESS = "127.0.0.1"  # the "load balancer node" that writes the log


@dataclass(frozen=True, slots=True)
class AlbHop:
    """What an ALB did with one request, kept on the request's trace until its access log line is written."""

    alb: AlbView
    scheme: str  # http | https: the listener's
    port: int  # the listener's
    client: tuple[str, int]  # who the ALB saw the request come from
    trace_id: str
    decision: AlbDecision


def alb_log_line(hop: AlbHop, trace: FinishedRequest) -> bytes:
    decision = hop.decision
    forward = decision if isinstance(decision, AlbForward) else None
    target = trace.target_address if forward is not None and trace.target_address else None
    answered = target is not None and trace.response_started is not None and trace.failure_reason is None
    https = hop.scheme == "https"
    listener = hop.alb.listeners.get(hop.port)
    certificate = listener.certificate_arn if https and listener is not None else None
    fields = [
        hop.scheme,
        _time(trace.end),
        hop.alb.arn.partition(":loadbalancer/")[2],
        f"{hop.client[0]}:{hop.client[1]}",
        target or "-",
        _seconds(trace.start, trace.sent_to_target if target else None),
        _seconds(trace.sent_to_target, trace.response_started if answered else None),
        "0.000" if answered else "-1",
        str(trace.status),
        str(trace.status) if answered else "-",
        str(trace.bytes_received),
        str(trace.bytes_sent),
        _quoted(f"{trace.method} {hop.scheme}://{trace.host}:{hop.port}{trace.target} HTTP/1.1"),
        _quoted(trace.user_agent),
        (trace.tls_cipher or "-") if https else "-",
        (trace.tls_version or "-") if https else "-",
        forward.target_group.arn if forward is not None else "-",
        _quoted(hop.trace_id),
        _quoted(trace.sni or "-"),
        _quoted(certificate or "-"),
        str(decision.rule_priority) if isinstance(decision, AlbForward | AlbFixed | AlbRedirect) else "-",
        _time(trace.start),
        _quoted(_action(decision)),
        _quoted(decision.location if isinstance(decision, AlbRedirect) else "-"),
        _quoted("-"),
        _quoted(target or "-"),
        _quoted(str(trace.status) if answered else "-"),
        _quoted("-"),
        _quoted("-"),
        "-",
    ]
    return (" ".join(fields) + "\n").encode()


def alb_log_path(alb: AlbView, when: float) -> PurePosixPath:
    """The S3 key of the object for the 5-minute window holding `when`, under `s3/BUCKET/` (User Guide: bucket
    [/prefix]/AWSLogs/account/elasticloadbalancing/region/yyyy/mm/dd/account_elasticloadbalancing_region_
    app.name.id_end-time_ip-address_random-string.log.gz, end-time being when the window ends)."""
    assert alb.access_log is not None
    window = int(when // S3_WINDOW_SECONDS) * S3_WINDOW_SECONDS
    day, end = datetime.fromtimestamp(window, UTC), datetime.fromtimestamp(window + S3_WINDOW_SECONDS, UTC)
    lb_id = alb.arn.partition(":loadbalancer/")[2].replace("/", ".")
    random = hashlib.sha256(f"{alb.arn}\n{window}".encode()).hexdigest()[:8]
    name = f"{alb.account}_elasticloadbalancing_{alb.region}_{lb_id}_{end:%Y%m%dT%H%MZ}_{NODE_ADDRESS}_{random}.log"
    prefix = [path_segment(part) for part in alb.access_log.prefix.split("/") if part]
    return PurePosixPath(
        "s3", path_segment(alb.access_log.bucket), *prefix, "AWSLogs", alb.account, "elasticloadbalancing",
        alb.region, f"{day:%Y}", f"{day:%m}", f"{day:%d}", name,
    )  # fmt: skip


def _action(decision: AlbDecision) -> str:
    if isinstance(decision, AlbForward):
        return "forward"
    if isinstance(decision, AlbFixed):
        return "fixed-response"
    if isinstance(decision, AlbRedirect):
        return "redirect"
    return "-"


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds(since: float | None, until: float | None) -> str:
    if since is None or until is None:
        return "-1"
    return f"{max(until - since, 0.0):.3f}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
