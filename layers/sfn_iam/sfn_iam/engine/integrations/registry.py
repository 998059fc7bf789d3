"""Registry of optimized-integration handlers. Pure core: standard library only."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from sfn_iam.engine.integrations.base import REQUEST_RESPONSE, Handler


class Entry(NamedTuple):
    handler: Handler
    patterns: tuple[str, ...]


HANDLERS: dict[tuple[str, str], Entry] = {}


def register(service: str, *apis: str, patterns: tuple[str, ...] = (REQUEST_RESPONSE,)) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``arn:aws:states:::SERVICE:API`` with the integration patterns it supports."""

    def wrap(handler: Handler) -> Handler:
        for api in apis:
            key = (service, api.lower())
            if key in HANDLERS:
                raise ValueError(f"integration {service}:{api} registered twice")
            HANDLERS[key] = Entry(handler, patterns)
        return handler

    return wrap


def lookup(service: str, api: str) -> Entry | None:
    return HANDLERS.get((service, api.lower()))
