"""The EC2 query protocol subset (CreateVpc, DescribeVpcs, DeleteVpc, tags): form in, XML out. (to be written)"""

from __future__ import annotations

from latticework.control.api.restjson import Response
from latticework.control.backend import Backend, Caller
from latticework.control.errors import ApiError, Ec2Error

__all__ = ["error_response", "handle"]


def handle(backend: Backend, caller: Caller, form: list[tuple[str, str]], request_id: str) -> Response:
    action = next((v for k, v in form if k == "Action"), "")
    raise Ec2Error("InvalidAction", f"The action {action} is not valid for this web service.")


def error_response(error: ApiError, request_id: str) -> Response:
    body = (
        f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{error.code}</Code>"
        f"<Message>{error.message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
    )
    return Response(error.status, [("content-type", "text/xml")], body.encode())
