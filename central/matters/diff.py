"""Field-level differences between two versions of a matter.

Materials, questions and options are matched by key, so a reordered list is
not reported as everything changed, and a renamed material shows as its name
changing. Paths use keys: ``materials.id_card.copies``,
``questions.q_site.options.rent.add_materials``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from central.matters.labels import MATERIAL_FIELDS, MATTER_FIELDS, OPTION_FIELDS, QUESTION_FIELDS
from central.matters.schema import Matter


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


CHANGE_LABELS = {ChangeKind.ADDED: "新增", ChangeKind.REMOVED: "删除", ChangeKind.CHANGED: "修改"}


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    path: str
    label: str
    """What changed, in Chinese: 材料“身份证”的份数."""
    old: Any = None
    new: Any = None

    @property
    def kind_label(self) -> str:
        return CHANGE_LABELS[self.kind]


def show(value: Any) -> str:
    """A value as an admin reads it."""
    if value is None:
        return "（无）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(show(v) for v in value) if value else "（无）"
    if isinstance(value, dict):
        if set(value) == {"amount", "unit"}:
            return f"{value['amount']} {value['unit']}"
        if set(value) == {"charged", "basis", "description"}:
            if not value["charged"]:
                return "不收费"
            return f"收费：{value['description'] or '—'}（依据：{value['basis'] or '—'}）"
        return "；".join(f"{k}：{show(v)}" for k, v in value.items())
    return str(value)


def _fields(
    old: dict[str, Any], new: dict[str, Any], labels: dict[str, str], path: str, what: str,
    skip: frozenset[str] = frozenset(),
) -> list[Change]:  # fmt: skip
    out = []
    for field, label in labels.items():
        if field in skip or field == "key":
            continue
        if old.get(field) != new.get(field):
            out.append(
                Change(
                    ChangeKind.CHANGED,
                    f"{path}{field}",
                    f"{what}{label}",
                    old.get(field),
                    new.get(field),
                )
            )
    return out


def _by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in items}


def diff(old: Matter, new: Matter) -> list[Change]:
    """Every difference from `old` to `new`, elements first, then materials,
    then questions and their options."""
    a, b = _dump(old), _dump(new)
    nested = frozenset({"materials", "questions"})
    changes = _fields(a, b, MATTER_FIELDS, "", "", skip=nested)
    if a["key"] != b["key"]:
        changes.insert(0, Change(ChangeKind.CHANGED, "key", "事项标识", a["key"], b["key"]))

    am, bm = _by_key(a["materials"]), _by_key(b["materials"])
    for key, material in bm.items():
        where = f"材料“{material['name']}”"
        if key not in am:
            changes.append(Change(ChangeKind.ADDED, f"materials.{key}", where, None, material))
        else:
            changes += _fields(
                am[key], material, MATERIAL_FIELDS, f"materials.{key}.", f"{where}的"
            )
    for key, material in am.items():
        if key not in bm:
            where = f"材料“{material['name']}”"
            changes.append(Change(ChangeKind.REMOVED, f"materials.{key}", where, material, None))
    if [m["key"] for m in a["materials"] if m["key"] in bm] != [
        m["key"] for m in b["materials"] if m["key"] in am
    ]:
        changes.append(Change(ChangeKind.CHANGED, "materials", "材料顺序", None, None))

    aq, bq = _by_key(a["questions"]), _by_key(b["questions"])
    for key, question in bq.items():
        where = f"问题“{question['text']}”"
        path = f"questions.{key}"
        if key not in aq:
            changes.append(Change(ChangeKind.ADDED, path, where, None, question))
            continue
        changes += _fields(aq[key], question, QUESTION_FIELDS, f"{path}.", f"{where}的",
                           skip=frozenset({"options"}))  # fmt: skip
        ao, bo = _by_key(aq[key]["options"]), _by_key(question["options"])
        for okey, option in bo.items():
            owhere = f"{where}的选项“{option['label']}”"
            if okey not in ao:
                changes.append(
                    Change(ChangeKind.ADDED, f"{path}.options.{okey}", owhere, None, option)
                )
            else:
                changes += _fields(ao[okey], option, OPTION_FIELDS, f"{path}.options.{okey}.",
                                   f"{owhere}的")  # fmt: skip
        for okey, option in ao.items():
            if okey not in bo:
                owhere = f"{where}的选项“{option['label']}”"
                changes.append(
                    Change(ChangeKind.REMOVED, f"{path}.options.{okey}", owhere, option, None)
                )
    for key, question in aq.items():
        if key not in bq:
            changes.append(
                Change(ChangeKind.REMOVED, f"questions.{key}", f"问题“{question['text']}”",
                       question, None)
            )  # fmt: skip
    return changes


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
