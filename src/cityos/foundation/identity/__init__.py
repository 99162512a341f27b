"""Unified identity (统一身份认证): the organisation, its people and demo accounts."""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.identity.profile import departments_section
from cityos.foundation.identity.service import DemoAccount, demo_accounts, hash_password
from cityos.kernel.registry import Module

module = Module(
    name="identity",
    models=("cityos.foundation.identity.models",),
    migrations=Path(__file__).parent / "migrations",
    profile_sections=(departments_section,),
)

__all__ = ["DemoAccount", "demo_accounts", "hash_password", "module"]
