"""Listener operations. A listener belongs to one service (record parent); its default action lives in its
default rule, a rule record with isDefault=True that ListRules and GetRule show and that only UpdateListener
changes. Every rule's forward action is mirrored in tgref records (see _actions).

Protocol and port are immutable; one listener per port and per name in a service (API reference,
CreateListener; User Guide "Listeners").
"""

from __future__ import annotations

from typing import Any

from latticework.control.backend._actions import (
    check_target_group_quota,
    checked_action,
    drop_tgrefs,
    sync_tgrefs,
    target_group_ids,
)
from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._paging import page
from latticework.control.errors import ConflictException, ResourceNotFoundException, ValidationException
from latticework.control.store import Record

__all__ = ["create_listener", "delete_listener", "get_listener", "list_listeners", "update_listener"]

# API reference, CreateListener.port: "For HTTP, the default is 80. For HTTPS, the default is 443."
DEFAULT_PORTS = {"HTTP": 80, "HTTPS": 443}
DEFAULT_RULE_NAME = "default"
_SHOWN = ("arn", "defaultAction", "id", "name", "port", "protocol", "serviceArn", "serviceId")


def create_listener(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviation: a TLS_PASSTHROUGH listener needs an explicit port (the API documents defaults for HTTP and
    HTTPS only)."""
    service = ctx.resolve("service", params["serviceIdentifier"])
    name, protocol = params["name"], params["protocol"]
    ctx.require_unique_name("listener", name, parent=service.id)
    port = _port(params, protocol)
    _check_passthrough_service(service, protocol)
    _check_port_free(ctx, service, port)
    ctx.check_quota("listeners_per_service", ctx.count("listener", parent=service.id), "LISTENER")
    action = checked_action(
        ctx, params["defaultAction"], field="defaultAction", listener_protocol=protocol, service=service
    )
    listener = _new_listener(ctx, service, params, port)
    rule = _new_default_rule(ctx, service, listener, action)
    check_target_group_quota(ctx, service, rule.id, target_group_ids(action))
    listener.doc["_defaultRuleId"] = rule.id
    ctx.tx.put(listener)
    sync_tgrefs(ctx, service, ctx.tx.put(rule))
    return pick({**listener.doc, "defaultAction": action}, *_SHOWN)


def get_listener(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    _, listener = owned_listener(ctx, params)
    doc = {**listener.doc, "defaultAction": default_rule(ctx, listener).doc["action"]}
    return pick(doc, *_SHOWN, "createdAt", "lastUpdatedAt")


def list_listeners(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    service = ctx.resolve("service", params["serviceIdentifier"])

    def item(record: Record) -> dict[str, Any]:
        return pick(record.doc, "arn", "createdAt", "id", "lastUpdatedAt", "name", "port", "protocol")

    return page(ctx, "ListListeners", params, "listener", item, parent=service.id)


def update_listener(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Only the default action changes (API reference, UpdateListener)."""
    service, listener = owned_listener(ctx, params)
    rule = default_rule(ctx, listener)
    action = checked_action(
        ctx,
        params["defaultAction"],
        field="defaultAction",
        listener_protocol=listener.doc["protocol"],
        service=service,
    )
    check_target_group_quota(ctx, service, rule.id, target_group_ids(action))
    rule.doc["action"] = action
    sync_tgrefs(ctx, service, ctx.touch(rule))
    ctx.touch(listener)
    return pick({**listener.doc, "defaultAction": action}, *_SHOWN)


def delete_listener(ctx: Ctx, params: dict[str, Any]) -> None:
    """Deletes the listener with all its rules, the default rule included, and their tgref records."""
    service, listener = owned_listener(ctx, params)
    for rule in ctx.find("rule", parent=listener.id):
        drop_tgrefs(ctx, service.id, rule)
        ctx.tx.delete(rule)
    ctx.tx.delete(listener)


# -- shared with rules.py -----------------------------------------------------------------------------------


def owned_listener(ctx: Ctx, params: dict[str, Any]) -> tuple[Record, Record]:
    """(service, listener) named by the request path; a listener of another service is not found."""
    service = ctx.resolve("service", params["serviceIdentifier"])
    identifier = params["listenerIdentifier"]
    listener = ctx.lookup("listener", identifier)
    if listener is None or listener.parent != service.id:
        raise ResourceNotFoundException(
            "LISTENER", identifier, f"Listener '{identifier}' was not found in service {service.id}."
        )
    return service, listener


def default_rule(ctx: Ctx, listener: Record) -> Record:
    rule = ctx.get_or_none("rule", listener.doc["_defaultRuleId"])
    if rule is None:  # cannot happen while listeners and their default rules are written together
        raise ResourceNotFoundException("RULE", listener.doc["_defaultRuleId"])
    return rule


# -- records and checks ---------------------------------------------------------------------------------------


def _new_listener(ctx: Ctx, service: Record, params: dict[str, Any], port: int) -> Record:
    doc = {
        "protocol": params["protocol"],
        "port": port,
        "serviceArn": service.arn,
        "serviceId": service.id,
        "tags": params.get("tags") or {},
    }
    return ctx.new_record("listener", doc, name=params["name"], parent=service.id, arn_prefix=service.arn)


def _new_default_rule(ctx: Ctx, service: Record, listener: Record, action: dict[str, Any]) -> Record:
    doc = {"isDefault": True, "action": action, "serviceId": service.id, "listenerId": listener.id, "tags": {}}
    return ctx.new_record("rule", doc, name=DEFAULT_RULE_NAME, parent=listener.id, arn_prefix=listener.arn)


def _port(params: dict[str, Any], protocol: str) -> int:
    if params.get("port") is not None:
        return int(params["port"])
    if protocol in DEFAULT_PORTS:
        return DEFAULT_PORTS[protocol]
    raise ValidationException.field("port", "A TLS_PASSTHROUGH listener needs a port: give one from 1 to 65535.")


def _check_passthrough_service(service: Record, protocol: str) -> None:
    # User Guide "TLS listeners": "The VPC Lattice service must have a custom domain name." (the SNI match)
    if protocol == "TLS_PASSTHROUGH" and not service.doc.get("customDomainName"):
        raise ValidationException.field(
            "protocol",
            f"Service {service.id} has no customDomainName: a TLS_PASSTHROUGH listener routes by SNI on the "
            "service's custom domain name. Create the service with a customDomainName first.",
        )


def _check_port_free(ctx: Ctx, service: Record, port: int) -> None:
    for other in ctx.find("listener", parent=service.id):
        if other.doc["port"] == port:
            raise ConflictException(
                f"Service {service.id} already has listener {other.id} on port {port}; "
                "each listener of a service needs its own port.",
                "LISTENER",
                other.id,
            )
