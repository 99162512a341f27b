"""How a route declares who may call it, so a test can prove every route declares it.

A route depends on exactly one *access declaration*: ``public()`` here, or identity's
``require(permission)``. Each is a dependency callable carrying ``ACCESS_ATTRIBUTE``, and
``route_permission`` finds it by walking the route's dependency tree. The kernel holds only
the marker (its own routes are public); checking permissions is identity's job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

ACCESS_ATTRIBUTE = "__cityos_access__"
PUBLIC = "public"


def declare(dependency: Callable[..., Any], access: str) -> Callable[..., Any]:
    """Mark ``dependency`` as the access declaration ``access`` (a permission or ``public``)."""
    setattr(dependency, ACCESS_ATTRIBUTE, access)
    return dependency


def public() -> Callable[[], None]:
    """The declaration of a route anyone may call, signed in or not."""

    def anyone() -> None:
        return None

    declare(anyone, PUBLIC)
    return anyone


def _declarations(dependant: Dependant) -> list[str]:
    found: list[str] = []
    access = getattr(dependant.call, ACCESS_ATTRIBUTE, None)
    if isinstance(access, str):
        found.append(access)
    for child in dependant.dependencies:
        found.extend(_declarations(child))
    return found


@dataclass(frozen=True)
class MountedRoute:
    """An API route as mounted: full path, methods and effective dependency tree (prefix
    and router dependencies applied; FastAPI 0.16x includes routers lazily, so
    ``app.routes`` nests them and their ``APIRoute`` objects lack both)."""

    path: str
    methods: frozenset[str]
    dependant: Dependant


RouteLike = APIRoute | MountedRoute


def api_routes(app: FastAPI) -> list[MountedRoute]:
    """Every API route of ``app`` as mounted."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # a FastAPI that flattens included routers itself
        return [
            MountedRoute(r.path, frozenset(r.methods or ()), r.dependant)
            for r in app.routes
            if isinstance(r, APIRoute)
        ]
    return [
        MountedRoute(str(c.path), frozenset(c.methods or ()), c.dependant)
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute)
    ]


def route_declarations(route: RouteLike) -> list[str]:
    """Every access declaration a route depends on (router-level ones included)."""
    return _declarations(route.dependant)


def route_permission(route: RouteLike) -> str | None:
    """The permission a route declares, ``"public"``, or ``None`` if it declares none.

    Raises ``ValueError`` when a route declares more than one: which would apply is unclear.
    """
    found = sorted(set(route_declarations(route)))
    if len(found) > 1:
        raise ValueError(f"{route.path} declares several accesses: {', '.join(found)}")
    return found[0] if found else None
