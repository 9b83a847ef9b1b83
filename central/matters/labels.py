"""Chinese names of the matter document's fields, for the diff, the
completeness report, the admin pages and the Excel column headers."""

from __future__ import annotations

from typing import Final

MATTER_FIELDS: Final[dict[str, str]] = {
    "key": "事项标识",
    "name": "事项名称",
    "basic_code": "基本编码",
    "implementation_code": "实施编码",
    "handling_code": "业务办理项编码",
    "matter_type": "事项类型",
    "legal_basis": "设定依据",
    "authority": "实施主体",
    "authority_credit_code": "实施主体统一社会信用代码",
    "conditions": "受理条件",
    "procedure": "办理流程",
    "legal_limit": "法定办结时限",
    "promised_limit": "承诺办结时限",
    "case_kind": "办件类型",
    "visits": "到办事现场次数",
    "audience": "服务对象",
    "fee": "收费",
    "location": "办理地点",
    "hours": "办理时间",
    "consultation": "咨询方式",
    "complaint": "监督投诉方式",
    "result_name": "结果名称",
    "result_sample": "结果样本",
    "online": "是否支持网上办理",
    "bookable": "是否支持预约办理",
    "daily_bookings": "每天可预约办理量",
    "service": "大厅服务代码",
    "keywords": "关键词",
    "materials": "材料",
    "base_materials": "基本材料",
    "questions": "情形问题",
    "root": "首问问题",
}

MATERIAL_FIELDS: Final[dict[str, str]] = {
    "key": "材料标识",
    "name": "材料名称",
    "kind": "材料类型",
    "form": "材料形式",
    "copies": "份数",
    "spec": "规格",
    "necessity": "必要性",
    "source": "来源渠道",
    "source_note": "来源说明",
    "blank_form": "空白表格",
    "sample_form": "示例样表",
    "fill_notes": "填报须知",
    "acceptance_standard": "受理标准",
    "basis": "依据",
}

QUESTION_FIELDS: Final[dict[str, str]] = {
    "key": "问题标识",
    "text": "问题",
    "help": "说明",
    "options": "选项",
}

OPTION_FIELDS: Final[dict[str, str]] = {
    "key": "选项标识",
    "label": "选项",
    "add_materials": "增加材料",
    "remove_materials": "减少材料",
    "add_conditions": "增加条件",
    "fee": "收费",
    "promised_limit": "承诺办结时限",
    "next": "后续问题",
}
