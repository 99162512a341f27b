"""Masking, the per-role policy, and reveal with a purpose and an audit hook."""

from __future__ import annotations

from typing import Any

import pytest

from cityos.foundation.privacy import (
    DEFAULT_POLICY,
    PiiKind,
    PiiPolicy,
    PurposeRequired,
    Visibility,
    mask,
    present,
    reveal,
)


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        ("id_number", "11010519491231002x", "110***********002X"),
        ("mobile", "+86 138 1234 5678", "138****5678"),
        ("name", "张三", "张*"),
        ("name", "欧阳娜娜", "欧***"),
        ("name", "李", "*"),
        ("plate", "粤B12345", "粤B***45"),
        ("plate", "粤BD12345", "粤B****45"),
        (
            "address",
            "深圳市罗湖区东门街道人民北路123号4栋501室",
            "深圳市罗湖区东门街道人民北路***号*栋***室",
        ),
        ("address", "罗湖区翠竹社区12号", "罗湖区翠竹社区**号"),
    ],
)
def test_values_are_masked_by_kind(kind: str, value: str, masked: str) -> None:
    assert mask(kind, value) == masked


def test_the_default_policy_masks_for_staff_hides_from_others_and_shows_the_owner() -> None:
    assert present("13812345678", PiiKind.MOBILE, roles={"staff"}) == "138****5678"
    assert present("13812345678", PiiKind.MOBILE, roles={"citizen"}) is None
    assert present("13812345678", PiiKind.MOBILE, roles={"citizen"}, is_owner=True) == "13812345678"
    assert present(None, PiiKind.MOBILE, roles={"staff"}) is None


def test_a_policy_from_data_takes_the_most_open_of_a_persons_roles() -> None:
    policy = PiiPolicy.from_mapping(
        {
            "default": "hidden",
            "owner": "masked",
            "roles": {
                "staff": {"*": "masked"},
                "case_handler": {"mobile": "plain"},
                "guest": {"*": "hidden"},
            },
        }
    )
    roles = {"staff", "case_handler", "guest"}
    assert policy.visibility("mobile", roles=roles, is_owner=False) is Visibility.PLAIN
    assert policy.visibility("id_number", roles=roles, is_owner=False) is Visibility.MASKED
    assert present(
        "11010519491231002X", "id_number", policy=policy, roles=set(), is_owner=True
    ) == ("110***********002X")
    assert DEFAULT_POLICY.visibility("plate", roles=(), is_owner=False) is Visibility.HIDDEN


def test_a_policy_with_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="passport"):
        PiiPolicy.from_mapping({"roles": {"staff": {"passport": "plain"}}})


def test_reveal_needs_a_purpose_and_records_it_first() -> None:
    seen: list[dict[str, Any]] = []

    def audit(**record: Any) -> None:
        seen.append(record)

    with pytest.raises(PurposeRequired):
        reveal(
            "13812345678",
            "mobile",
            actor="u1",
            field="phone",
            record_id="r1",
            purpose="  ",
            on_reveal=audit,
        )
    assert seen == []
    value = reveal(
        "13812345678",
        "mobile",
        actor="u1",
        field="phone",
        record_id="r1",
        purpose="回访 callback",
        on_reveal=audit,
    )
    assert value == "13812345678"
    assert seen == [
        {
            "actor": "u1",
            "kind": PiiKind.MOBILE,
            "field": "phone",
            "record_id": "r1",
            "purpose": "回访 callback",
        }
    ]


def test_nothing_is_revealed_when_the_audit_hook_fails() -> None:
    def broken(**record: Any) -> None:
        raise RuntimeError("audit store down")

    with pytest.raises(RuntimeError):
        reveal(
            "13812345678",
            "mobile",
            actor="u1",
            field="phone",
            record_id="r1",
            purpose="x",
            on_reveal=broken,
        )
