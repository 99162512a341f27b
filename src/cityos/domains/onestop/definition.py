"""The service-item catalogue (事项清单) as data: ``packs/*/items.yaml`` in a profile.

After GB/T 39554 (全国一体化政务服务平台 政务服务事项基本目录及实施清单): each item has its code,
name, type, competent department, legal and promised time limits in working days, who may
apply, the materials (each saying which e-licence or shared dataset can stand in for it, so
the applicant need not hand it in: 免提交), fees, in-person visits, the legal basis, the life
events and subjects it belongs to, and its application form as a JSON Schema. A file::

    items:
      - code: "11440303MB2C93XXXX-XK-0001"
        name: {zh: 食品经营许可证核发, en: Food business licence}
        type: 行政许可
        department: market-regulation
        applicant: [enterprise]
        legal_days: 20
        promised_days: 10
        visits: 0
        fee: {zh: 不收费, en: Free}
        legal_basis: ["《中华人民共和国食品安全法》第三十五条"]
        life_events: [开餐馆]
        materials:
          - {code: business-licence, name: {zh: 营业执照, en: Business licence},
             replaced_by: {elicence: business-licence}}
        form: {type: object, required: [shop_name], properties: {shop_name: {type: string}}}
        demo: true
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cityos.kernel.i18n import LocalizedText

ItemType = Literal[
    "行政许可",
    "行政确认",
    "行政给付",
    "行政征收",
    "行政奖励",
    "行政裁决",
    "行政检查",
    "其他行政权力",
    "公共服务",
]
Applicant = Literal["citizen", "enterprise"]


class Replacement(BaseModel):
    """What the district already holds that stands in for a material: an e-licence type,
    or a shared dataset (the catalogue's resource code)."""

    model_config = ConfigDict(extra="forbid")

    elicence: str | None = Field(default=None, max_length=64)
    dataset: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one(self) -> Replacement:
        if (self.elicence is None) == (self.dataset is None):
            raise ValueError("a replacement is an elicence or a dataset")
        return self


class MaterialDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z][a-z0-9-]{1,63}$")
    name: LocalizedText
    required: bool = True
    original: bool = False  # the original must be shown (原件核验)
    copies: int = Field(default=1, ge=0, le=10)
    replaced_by: Replacement | None = None


class ItemDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9A-Za-z-]{4,64}$")
    name: LocalizedText
    type: ItemType
    department: str = Field(min_length=1, max_length=64)
    applicant: list[Applicant] = Field(min_length=1)
    legal_days: int = Field(ge=0, le=365)
    promised_days: int = Field(ge=0, le=365)
    visits: int = Field(default=0, ge=0, le=5)
    fee: LocalizedText
    legal_basis: list[str] = Field(min_length=1)
    life_events: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    eligibility: LocalizedText | None = None
    materials: list[MaterialDef] = Field(default_factory=list)
    form: dict[str, Any]
    demo: bool = False

    @field_validator("form")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"form is not a JSON Schema: {exc.message}") from None
        if value.get("type") != "object":
            raise ValueError("form must be an object schema")
        return value

    @model_validator(mode="after")
    def _limits(self) -> ItemDef:
        if self.promised_days > self.legal_days:
            raise ValueError("the promised time limit cannot exceed the legal one")
        codes = [m.code for m in self.materials]
        if len(codes) != len(set(codes)):
            raise ValueError("material codes repeat")
        return self


class ItemsFile(BaseModel):
    """``packs/*/items.yaml``."""

    model_config = ConfigDict(extra="forbid")

    items: list[ItemDef] = Field(min_length=1)
