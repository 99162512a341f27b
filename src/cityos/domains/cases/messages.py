"""Titles of the cases module's problem codes, zh-CN first: what the operator, handler or
citizen reads when a step is refused (the problem's ``detail`` stays for developers)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "case_not_found": {
        "zh-CN": "案件不存在或不在您的管辖范围内",
        "en": "No such case within your reach",
    },
    "no_workflow": {"zh-CN": "该案件没有进行中的流程", "en": "This case has no running workflow"},
    "attachment_invalid": {
        "zh-CN": "附件不是已上传的文件，或类型不符合要求",
        "en": "An attachment is not an uploaded file of the right type",
    },
    "location_invalid": {
        "zh-CN": "位置不是有效的经纬度（WGS84）",
        "en": "The location is not a WGS84 longitude and latitude",
    },
    "category_unknown": {"zh-CN": "没有这个案件类别", "en": "No such case category"},
    "category_required": {"zh-CN": "立案需要选择案件类别", "en": "Registering needs a category"},
    "description_required": {"zh-CN": "请描述问题", "en": "Describe the problem"},
    "reporter_name_invalid": {
        "zh-CN": "反映人姓名格式不正确",
        "en": "The reporter's name is not a name",
    },
    "reporter_phone_invalid": {
        "zh-CN": "反映人电话不是有效的手机号码",
        "en": "The reporter's phone is not a mainland mobile number",
    },
    "merge_master_invalid": {
        "zh-CN": "并单需要一个未结案、未被合并的主案件",
        "en": "Merging needs an open master case that is not itself merged",
    },
    "satisfaction_invalid": {
        "zh-CN": "满意度应为 1（非常不满意）至 5（非常满意）",
        "en": "Satisfaction is 1 (very dissatisfied) to 5 (very satisfied)",
    },
    "no_routing_rule": {
        "zh-CN": "没有适用于该案件的派遣规则，请指定处置部门",
        "en": "No routing rule matches this case; choose the department",
    },
    "citizen_channel_only": {
        "zh-CN": "市民请通过 i罗湖 随手拍上报",
        "en": "Citizens report through the i Luohu portal",
    },
}
