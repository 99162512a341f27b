"""Who sees personal data how: masking rules, the per-role policy, and audited reveal.

Hand-written: the masks follow the shapes Chinese government systems show
(``110***********1234``, ``138****5678``, ``张*``), and the policy is data keyed by our own
roles, which no library knows. A name shows only its first character, whatever its length
(``张*``, ``欧**``): compound surnames cannot be told from given names reliably, and showing
less is the safe side. An address keeps everything up to the last road, street, lane,
village or community word and masks the digits and letters after it (door, building, room).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from cityos.foundation.privacy import validators
from cityos.kernel.errors import ValidationFailed


class PiiKind(StrEnum):
    """The kinds of personal data the platform masks, encrypts and indexes."""

    ID_NUMBER = "id_number"
    MOBILE = "mobile"
    NAME = "name"
    ADDRESS = "address"
    PLATE = "plate"


class Visibility(StrEnum):
    """How one role sees one kind of personal data."""

    PLAIN = "plain"
    MASKED = "masked"
    HIDDEN = "hidden"


_RANK = {Visibility.HIDDEN: 0, Visibility.MASKED: 1, Visibility.PLAIN: 2}
_ROAD = re.compile(r".*(?:大道|路|街|巷|弄|胡同|里|村|社区|小区|花园)")
_DOOR = re.compile(r"[0-9０-９A-Za-zＡ-Ｚａ-ｚ]")


def _keep_ends(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def _mask_address(value: str) -> str:
    road = _ROAD.match(value)
    cut = road.end() if road else 0
    return value[:cut] + _DOOR.sub("*", value[cut:])


def _normal_or_raw(normalise: Any, value: str) -> str:
    try:
        result: str = normalise(value)
    except ValueError:
        return value.strip()
    return result


def mask(kind: PiiKind | str, value: str) -> str:
    """``value`` masked for display: enough to recognise, not enough to use."""
    kind = PiiKind(kind)
    if kind is PiiKind.ID_NUMBER:
        return _keep_ends(_normal_or_raw(validators.normalise_id_number, value), 3, 4)
    if kind is PiiKind.MOBILE:
        return _keep_ends(_normal_or_raw(validators.normalise_mobile, value), 3, 4)
    if kind is PiiKind.NAME:
        name = value.strip()
        return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*" * len(name)
    if kind is PiiKind.PLATE:
        return _keep_ends(_normal_or_raw(validators.normalise_plate, value), 2, 2)
    return _mask_address(value.strip())


@dataclass(frozen=True)
class PiiPolicy:
    """Per role and kind: plain, masked or hidden. The most open of a person's roles wins.

    Built from data (``from_mapping``), for instance a profile's YAML::

        default: hidden        # roles not listed
        owner: plain           # a person looking at their own record
        roles:
          staff: {"*": masked}
          case_handler: {mobile: plain, name: plain}
    """

    roles: Mapping[str, Mapping[str, Visibility]] = field(default_factory=dict)
    default: Visibility = Visibility.HIDDEN
    owner: Visibility = Visibility.PLAIN

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PiiPolicy:
        """A policy from parsed YAML/JSON; unknown kinds or visibilities raise ``ValueError``."""
        roles: dict[str, dict[str, Visibility]] = {}
        for role, rules in dict(data.get("roles") or {}).items():
            roles[str(role)] = {}
            for kind, visibility in dict(rules).items():
                key = "*" if kind == "*" else PiiKind(kind).value
                roles[str(role)][key] = Visibility(visibility)
        return cls(
            roles=roles,
            default=Visibility(data.get("default", Visibility.HIDDEN)),
            owner=Visibility(data.get("owner", Visibility.PLAIN)),
        )

    def visibility(
        self, kind: PiiKind | str, *, roles: Iterable[str], is_owner: bool
    ) -> Visibility:
        """How someone with ``roles`` sees ``kind`` (the owner of the record, or not)."""
        kind = PiiKind(kind)
        best = self.owner if is_owner else self.default
        for role in roles:
            rules = self.roles.get(role, {})
            found = rules.get(kind.value, rules.get("*"))
            if found is not None and _RANK[found] > _RANK[best]:
                best = found
        return best


DEFAULT_POLICY = PiiPolicy.from_mapping(
    {"default": "hidden", "owner": "plain", "roles": {"staff": {"*": "masked"}}}
)


def present(
    value: str | None,
    kind: PiiKind | str,
    *,
    policy: PiiPolicy = DEFAULT_POLICY,
    roles: Iterable[str],
    is_owner: bool = False,
) -> str | None:
    """``value`` as the viewer may see it: whole, masked, or ``None`` when hidden."""
    if value is None:
        return None
    seen = policy.visibility(kind, roles=roles, is_owner=is_owner)
    if seen is Visibility.PLAIN:
        return value
    if seen is Visibility.MASKED:
        return mask(kind, value)
    return None


class RevealHook(Protocol):
    """Records that a value was revealed (the audit trail provides one)."""

    def __call__(
        self, *, actor: str, kind: PiiKind, field: str, record_id: str, purpose: str
    ) -> None: ...


class PurposeRequired(ValidationFailed):
    code = "reveal_purpose_required"


def reveal(
    value: str,
    kind: PiiKind | str,
    *,
    actor: str,
    field: str,
    record_id: str,
    purpose: str,
    on_reveal: RevealHook,
) -> str:
    """``value`` in full, after ``on_reveal`` has recorded who, what and why.

    Authorising the actor is the caller's job (the route's permission); this makes the
    purpose mandatory and the record unskippable: if the hook fails, nothing is revealed.
    """
    reason = purpose.strip()
    if not reason:
        raise PurposeRequired("revealing personal data needs a purpose")
    on_reveal(actor=actor, kind=PiiKind(kind), field=field, record_id=record_id, purpose=reason)
    return value
