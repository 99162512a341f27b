"""Identity's own permissions, and how role patterns (``geo.*``) expand to permission names."""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

PERMISSIONS: dict[str, dict[str, str]] = {
    "identity.profile.read": {"zh": "查看本人账号信息", "en": "Read one's own account"},
    "identity.users.read": {"zh": "查看用户", "en": "Read users"},
    "identity.users.manage": {"zh": "管理用户", "en": "Manage users"},
    "identity.departments.read": {"zh": "查看部门", "en": "Read departments"},
    "identity.departments.manage": {"zh": "管理部门", "en": "Manage departments"},
    "identity.roles.read": {"zh": "查看角色与授权", "en": "Read roles and assignments"},
    "identity.roles.manage": {"zh": "管理角色与授权", "en": "Manage roles and assignments"},
    "identity.tokens.issue": {"zh": "签发访问令牌", "en": "Issue access tokens"},
    "identity.tokens.revoke": {"zh": "吊销访问令牌", "en": "Revoke access tokens"},
    "identity.keys.rotate": {"zh": "轮换签名密钥", "en": "Rotate signing keys"},
    "identity.clients.manage": {"zh": "管理接入应用", "en": "Manage OAuth clients"},
    "identity.apikeys.manage": {"zh": "管理接口密钥", "en": "Manage API keys"},
}

PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_-]*)(\.(\*|[a-z][a-z0-9_-]*))*$")


def is_glob(pattern: str) -> bool:
    return "*" in pattern


def expand(patterns: Iterable[str], declared: Iterable[str]) -> frozenset[str]:
    """The declared permission names the patterns match (``*`` spans dots)."""
    names = list(declared)
    return frozenset(name for pattern in patterns for name in names if fnmatchcase(name, pattern))
