"""Webhook endpoints (v1) and event destinations (v2) as the Stripe stub keeps them, for
tests of ``manage.py stripe_endpoints``: created, listed and updated in memory, with the
signing secret returned by creation only (as Stripe does). Served by
:class:`~stripe_django.testing.stripe_stub.StripeStub` at ``/v1/webhook_endpoints`` and
``/v2/core/event_destinations``."""

from __future__ import annotations

import itertools
import json
import secrets
from typing import Any

from ._http import Reply, StubRequest

__all__ = ["Destinations"]

_NO_HEADERS: dict[str, str] = {}
V1_PATH = "/v1/webhook_endpoints"
V2_PATH = "/v2/core/event_destinations"


class Destinations:
    """What the stub holds: :attr:`webhook_endpoints` and :attr:`event_destinations`,
    oldest first, without their secrets (kept apart in :attr:`secrets`)."""

    def __init__(self) -> None:
        self.webhook_endpoints: list[dict[str, Any]] = []
        self.event_destinations: list[dict[str, Any]] = []
        self.secrets: dict[str, str] = {}  # id -> signing secret
        self._ids = itertools.count(1)

    def handles(self, request: StubRequest) -> bool:
        return request.path.startswith((V1_PATH, V2_PATH))

    def respond(self, request: StubRequest) -> Reply:
        v2 = request.path.startswith(V2_PATH)
        base = V2_PATH if v2 else V1_PATH
        held = self.event_destinations if v2 else self.webhook_endpoints
        object_id = request.path.removeprefix(base).strip("/")
        if request.method == "GET" and not object_id:
            data = list(reversed(held))  # newest first
            if v2:
                include = _form_list(request.query, "include")
                return 200, {"data": [_shown(d, include) for d in data], "next_page_url": None,
                             "previous_page_url": None}, _NO_HEADERS
            return 200, {"object": "list", "data": data, "has_more": False, "url": V1_PATH}, _NO_HEADERS
        if request.method not in ("GET", "POST"):
            return 405, {"error": {"type": "invalid_request_error", "message": "method"}}, _NO_HEADERS
        if not object_id:  # POST: create
            params = json.loads(request.body or b"{}") if v2 else _form(request)
            include = params.pop("include", []) if v2 else []
            made = self._create(params, v2)
            held.append(made)
            if not v2:
                return 200, {**made, "secret": self.secrets[made["id"]]}, _NO_HEADERS
            shown = _shown(made, include)
            if "webhook_endpoint.signing_secret" in include:
                shown["webhook_endpoint"] = {**shown["webhook_endpoint"],
                                             "signing_secret": self.secrets[made["id"]]}
            return 200, shown, _NO_HEADERS
        object_id, _, action = object_id.partition("/")  # ed_1/enable, ed_1/disable
        found = next((d for d in held if d["id"] == object_id), None)
        if found is None:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": f"No such destination: '{object_id}'"}}, _NO_HEADERS
        if request.method == "GET":
            return 200, _shown(found, []) if v2 else found, _NO_HEADERS
        if action in ("enable", "disable"):
            found["status"] = action + "d"
            return 200, _shown(found, []), _NO_HEADERS
        params = json.loads(request.body or b"{}") if v2 else _form(request)
        include = params.pop("include", []) if v2 else []
        for key, value in params.items():
            if key == "webhook_endpoint" and v2:
                found["webhook_endpoint"] = {**found["webhook_endpoint"], **value}
            elif key == "disabled" and not v2:
                found["status"] = "disabled" if value in (True, "true") else "enabled"
            else:
                found[key] = value
        return 200, _shown(found, include) if v2 else found, _NO_HEADERS

    def _create(self, params: dict[str, Any], v2: bool) -> dict[str, Any]:
        number = next(self._ids)
        if v2:
            made = {"id": f"ed_test_{number:06d}", "object": "v2.core.event_destination",
                    "created": "2026-12-07T00:00:00.000Z", "updated": "2026-12-07T00:00:00.000Z",
                    "description": "", "livemode": False, "metadata": {}, "status": "enabled",
                    "status_details": None, "snapshot_api_version": None, "events_from": ["self"],
                    "amazon_eventbridge": None, "azure_event_grid": None, **params}
            made["webhook_endpoint"] = {"signing_secret": None,
                                        **(params.get("webhook_endpoint") or {})}
        else:
            made = {"id": f"we_test_{number:06d}", "object": "webhook_endpoint", "created": 1765065600,
                    "api_version": None, "application": None, "description": None,
                    "livemode": False, "metadata": {}, "status": "enabled", **params}
        self.secrets[made["id"]] = "whsec_" + secrets.token_hex(16)
        return made


def _shown(destination: dict[str, Any], include: list[str]) -> dict[str, Any]:
    """A v2 destination as answered: its endpoint's URL only when asked for."""
    shown = dict(destination)
    endpoint = dict(shown.get("webhook_endpoint") or {})
    if endpoint and "webhook_endpoint.url" not in include:
        endpoint["url"] = None
    if endpoint:
        shown["webhook_endpoint"] = endpoint
    return shown


def _form(request: StubRequest) -> dict[str, Any]:
    """stripe-python's form encoding back to values (``enabled_events[0]=...``: a list)."""
    made: dict[str, Any] = {}
    lists: dict[str, dict[int, str]] = {}
    for key, values in request.form.items():
        name, _, index = key.partition("[")
        if index.endswith("]") and index[:-1].isdigit():
            lists.setdefault(name, {})[int(index[:-1])] = values[-1]
        else:
            made[key] = values[-1]
    for name, items in lists.items():
        made[name] = [items[i] for i in sorted(items)]
    return made


def _form_list(query: dict[str, list[str]], name: str) -> list[str]:
    return [v for key, values in query.items() if key.split("[")[0] == name for v in values]
