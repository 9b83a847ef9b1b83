"""Reason and outcome codes: short stable codes stored in the timeline and the
fairness log (reports group by them), with the Chinese label people see.

A departure from queue order without a code from its list is refused
(`ReasonRequired`), so the fairness log never holds free text nobody can count.
"""

from __future__ import annotations

from typing import Final

from central.queueing.errors import ReasonRequired

# 插队: a specific ticket called ahead of the call-next rule.
OUT_OF_ORDER: Final = {
    "returning_citizen": "补正材料后返回",
    "supervisor": "值班主管指示",
    "special_needs": "特殊困难群众",
    "appointment_late": "预约群众迟到补叫",
    "complaint": "投诉处理",
    "system_fault": "系统故障补叫",
}
# 绿色通道 at issue, or a priority raised later.
PRIORITY: Final = {
    "elderly": "70岁以上老人",
    "disabled": "残疾人",
    "pregnant": "孕妇",
    "military": "军人依法优先",
    "vip_rule": "按管理规则优先",
}
PARK: Final = {
    "documents_missing": "材料不全，补材料",
    "copy_documents": "复印材料",
    "citizen_away": "群众暂时离开",
    "consult_colleague": "咨询同事或后台",
    "payment": "缴费",
}
NO_SHOW: Final = {
    "max_recalls": "多次呼叫未到",
    "citizen_left": "群众已离开",
    "wrong_ticket": "取错号",
}
TRANSFER: Final = {
    "wrong_service": "取错业务",
    "additional_service": "需办理关联业务",
    "specialist": "需专窗办理",
    # The caller box's transfer button: to the service an admin set for that caller.
    "preset_route": "按呼叫器预设业务转办",
}
PRESET_ROUTE: Final = "preset_route"
# What a clerk may choose at the workstation (the box's own code is the box's).
TRANSFER_BY_CLERK: Final = {k: v for k, v in TRANSFER.items() if k != PRESET_ROUTE}
PAUSE: Final = {
    "break": "休息",
    "meeting": "会议",
    "training": "培训",
    "consultation": "现场咨询",
    "system_fault": "系统故障",
    "backoffice": "后台审批",
}
CANCEL: Final = {
    "citizen": "群众取消",
    "duplicate": "重复取号",
    "staff": "工作人员取消",
}
OUTCOMES: Final = {
    "completed": "办结",
    "accepted": "受理（后续审批）",
    "incomplete": "材料不全，一次性告知",
    "consulted": "咨询",
    "rejected": "不予受理",
    "referred": "引导至其他部门",
}


def check(code: str | None, allowed: dict[str, str], *, what: str) -> str:
    """The code if it is in `allowed`, else `ReasonRequired` listing the choices."""
    if code and code in allowed:
        return code
    choices = "、".join(f"{k}（{v}）" for k, v in allowed.items())
    if not code:
        raise ReasonRequired(f"{what}需要填写原因代码，可选：{choices}")
    raise ReasonRequired(f"未知的{what}原因代码 {code!r}，可选：{choices}")
