"""Validators: identity numbers, mobiles, plates and names, and 422s that name the field."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from cityos.foundation.privacy import (
    IdNumber,
    Mobile,
    PersonName,
    Plate,
    normalise_id_number,
    normalise_mobile,
    normalise_person_name,
    normalise_plate,
)
from cityos.foundation.privacy.validators import id_number_check_char
from cityos.kernel.errors import install_error_handlers


def test_a_valid_identity_number_is_accepted_with_an_upper_case_x() -> None:
    assert normalise_id_number("11010519491231002x") == "11010519491231002X"
    assert normalise_id_number(" 440303 19900101 0015 ") == "440303199001010015"


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("1101051949123100", "18 characters"),
        ("11010519491231002Y", "17 digits"),
        ("99010519491231002X", "region code"),
        ("11010519490231002X", "date of birth"),
        ("11010518891231002X", "date of birth"),
        ("110105194912310021", "check digit"),
    ],
)
def test_a_malformed_identity_number_says_why(number: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalise_id_number(number)


def test_the_check_digit_follows_iso_7064() -> None:
    assert id_number_check_char("11010519491231002") == "X"
    body = "44030319900101001"
    assert normalise_id_number(body + id_number_check_char(body)).startswith("440303")


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "86-138-1234-5678",
        "138-1234-5678",
        "０１３８"[1:] + "12345678",
    ],
)
def test_mobile_numbers_are_normalised(raw: str) -> None:
    assert normalise_mobile(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "0755-12345678", "+1 138 1234 5678"])
def test_malformed_mobile_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="mobile"):
        normalise_mobile(raw)


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("粤B12345", "粤B12345"),
        ("粤b·1234a", "粤B1234A"),
        ("粤BD12345", "粤BD12345"),
        ("粤B12345D", "粤B12345D"),
    ],
)
def test_plates_old_and_new_energy_are_accepted(raw: str, plate: str) -> None:
    assert normalise_plate(raw) == plate


@pytest.mark.parametrize("raw", ["粤I12345", "AB12345", "粤B1234", "粤BD1234567"])
def test_malformed_plates_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="plate"):
        normalise_plate(raw)


@pytest.mark.parametrize("raw", ["张三", "欧阳娜娜", "买买提•艾力", "阿卜杜·热合曼"])
def test_chinese_names_with_middle_dots_are_accepted(raw: str) -> None:
    assert normalise_person_name(raw) == raw.replace("•", "·")


@pytest.mark.parametrize("raw", ["", "Zhang San", "张三3", "·张三", "张" * 21])
def test_other_names_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="name"):
        normalise_person_name(raw)


class Citizen(BaseModel):
    id_number: IdNumber
    mobile: Mobile
    name: PersonName
    plate: Plate | None = None


def test_annotated_types_normalise_in_pydantic() -> None:
    citizen = Citizen(id_number="11010519491231002x", mobile="+86 138 1234 5678", name="张三")
    assert (citizen.id_number, citizen.mobile) == ("11010519491231002X", "13812345678")


def test_pydantic_names_the_failing_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Citizen(id_number="110105194912310021", mobile=13812345678, name="张三")  # type: ignore[arg-type]
    fields = {error["loc"][0] for error in caught.value.errors()}
    assert fields == {"id_number", "mobile"}


def test_the_api_answers_422_naming_the_field() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/citizens")
    def create(citizen: Citizen) -> dict[str, str]:
        return {"id_number": citizen.id_number}

    answer = TestClient(app).post(
        "/citizens",
        json={"id_number": "110105194912310021", "mobile": "13812345678", "name": "张三"},
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["errors"][0]["field"] == "body.id_number"
    assert "check digit" in body["errors"][0]["message"]
