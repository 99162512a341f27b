"""The OIDC provider at ``/oidc`` (discovery at ``/.well-known/openid-configuration``):
authorization code with PKCE, rotated refresh tokens, client credentials, userinfo,
revocation and RP-initiated logout, on authlib's server core (``server``), with the
sign-in pages (``api``, ``pages``) and the browser session (``browser``)."""

from __future__ import annotations

from cityos.foundation.identity.oidc.api import discovery_document, router

__all__ = ["discovery_document", "router"]
