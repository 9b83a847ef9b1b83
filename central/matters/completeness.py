"""要素完备检查: every missing or inconsistent element of a matter library.

A hall proves its library complete with this report. Each `Problem` names the
matter, a path inside its document (``materials[3].name``,
``questions.q_site.options.rent.add_materials[0]``) and a Chinese message;
severity ``error`` must be fixed, ``warning`` deserves a look.

Code rules (national element standard):

- 基本编码: 12 digits; the first two are the 事项类型 code (`MatterType`
  values: 01 行政许可 … 10 其他行政权力, 20 公共服务), so they must equal the
  matter's type.
- 统一社会信用代码 (GB 32100-2015): 18 characters from
  ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, Z, S, V). The 18th is a check
  character: with each of the first 17 characters' value c_i (its index in
  that charset) and weight w_i = 3^i mod 31 (i = 0..16), check = 31 −
  (Σ c_i·w_i mod 31), and 31 becomes 0.
- 实施编码: 31 characters = 基本编码 (12) + the authority's 统一社会信用代码
  (18) + 1 digit. When the matter names its authority's code, the middle part
  must equal it.
- 业务办理项编码: 33 characters = 实施编码 (31) + 2 digits; optional, checked
  when present.

Time limits: a 承诺办结时限 (the matter's or any situation option's) must not
exceed the 法定办结时限. Both are converted to natural days: 自然日 as is;
工作日 as whole weeks — every 5 working days are 7 natural days and the rest
count one each (5 → 7, 12 → 16; the shortest span the working days can take,
so a limit is only reported when it certainly exceeds); 月 = 30 natural days;
年 = 365 natural days.

Situations: every complete path (`situations.paths`) must need at least one
material; every material key named (base materials, options' adds and
removes) must be defined; every question named (root, options' ``next``) must
exist; every question must be reachable by some path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from central.matters.schema import (
    MATTER_TYPE_LABELS,
    Library,
    Matter,
    MatterType,
    TimeLimit,
    TimeUnit,
)
from central.matters.situations import MAX_PATHS, checklist, paths, reachable_questions

CREDIT_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


SEVERITY_LABELS: Final = {Severity.ERROR: "错误", Severity.WARNING: "提醒"}


@dataclass(frozen=True)
class Problem:
    severity: Severity
    matter: str
    """The matter's key ('' for library-wide problems)."""
    matter_name: str
    path: str
    message: str

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]


@dataclass(frozen=True)
class Report:
    problems: tuple[Problem, ...]
    matters: int

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == Severity.ERROR)

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors

    @property
    def complete_matters(self) -> int:
        bad = {p.matter for p in self.problems if p.severity == Severity.ERROR and p.matter}
        return self.matters - len(bad)

    def summary(self) -> str:
        if not self.problems:
            return f"要素完备：{self.matters} 个事项全部通过检查"
        return (
            f"共 {self.matters} 个事项，{self.complete_matters} 个要素完备；"
            f"错误 {self.errors} 条，提醒 {self.warnings} 条"
        )


# --- codes -----------------------------------------------------------------------


def credit_check_char(first17: str) -> str:
    """The check character of a 统一社会信用代码 from its first 17 characters."""
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    check = 31 - total % 31
    return CREDIT_CHARSET[0 if check == 31 else check]


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid 统一社会信用代码, or None."""
    if len(code) != 18:
        return f"统一社会信用代码应为 18 位，现为 {len(code)} 位"
    bad = sorted({c for c in code if c not in CREDIT_CHARSET})
    if bad:
        return f"统一社会信用代码含有不允许的字符：{''.join(bad)}"
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误：第 18 位应为 {expected}，现为 {code[17]}"
    return None


def natural_days(limit: TimeLimit) -> int:
    """A time limit in natural days (see the module docstring for the rule)."""
    if limit.unit == TimeUnit.WORKING_DAY:
        return limit.amount // 5 * 7 + limit.amount % 5
    if limit.unit == TimeUnit.MONTH:
        return limit.amount * 30
    if limit.unit == TimeUnit.YEAR:
        return limit.amount * 365
    return limit.amount


def _limit_text(limit: TimeLimit) -> str:
    return f"{limit.amount} {limit.unit.value}"


# --- the checks ------------------------------------------------------------------

REQUIRED_TEXT: Final = (
    ("basic_code", "基本编码"),
    ("implementation_code", "实施编码"),
    ("legal_basis", "设定依据"),
    ("authority", "实施主体"),
    ("authority_credit_code", "实施主体统一社会信用代码"),
    ("audience", "服务对象"),
    ("location", "办理地点"),
    ("hours", "办理时间"),
    ("consultation", "咨询方式"),
    ("complaint", "监督投诉方式"),
    ("result_name", "结果名称"),
)


class _Checker:
    def __init__(self, matter: Matter) -> None:
        self.matter = matter
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(severity, self.matter.key, self.matter.name, path, message))

    def run(self) -> list[Problem]:
        self.required()
        self.codes()
        self.limits()
        self.materials()
        self.situations()
        return self.problems

    def required(self) -> None:
        m = self.matter
        for field, label in REQUIRED_TEXT:
            if not str(getattr(m, field)).strip():
                self.add(field, f"缺少必备要素“{label}”")
        if not m.conditions:
            self.add("conditions", "缺少必备要素“受理条件”")
        if not m.procedure:
            self.add("procedure", "缺少必备要素“办理流程”")
        if m.legal_limit is None:
            self.add("legal_limit", "缺少必备要素“法定办结时限”")
        if m.promised_limit is None:
            self.add("promised_limit", "缺少必备要素“承诺办结时限”")
        if m.fee.charged and not m.fee.description.strip():
            self.add("fee.description", "收费事项缺少“收费标准”")
        if m.fee.charged and not m.fee.basis.strip():
            self.add("fee.basis", "收费事项缺少“收费依据”")
        if m.bookable and m.daily_bookings == 0:
            self.add("daily_bookings", "支持预约办理，但每天可预约办理量为 0", Severity.WARNING)
        for i, material in enumerate(m.materials):
            if not material.name.strip():
                self.add(f"materials[{i}].name", "材料名称为空")

    def codes(self) -> None:
        m = self.matter
        basic = m.basic_code
        if basic:
            if len(basic) != 12 or not basic.isdigit():
                self.add("basic_code", f"基本编码应为 12 位数字，现为 {len(basic)} 位“{basic}”")
            elif basic[:2] != m.matter_type.value:
                known = {t.value: MATTER_TYPE_LABELS[t] for t in MatterType}
                head = known.get(basic[:2], "未知类型")
                self.add(
                    "basic_code",
                    f"基本编码前两位 {basic[:2]}（{head}）与事项类型 "
                    f"{m.matter_type.value}（{MATTER_TYPE_LABELS[m.matter_type]}）不一致",
                )
        if m.authority_credit_code:
            why = credit_code_problem(m.authority_credit_code)
            if why:
                self.add("authority_credit_code", f"实施主体{why}")
        impl = m.implementation_code
        if impl:
            if len(impl) != 31:
                self.add("implementation_code", f"实施编码应为 31 位，现为 {len(impl)} 位")
            else:
                if basic and impl[:12] != basic:
                    self.add("implementation_code", "实施编码前 12 位与基本编码不一致")
                embedded = impl[12:30]
                if m.authority_credit_code and embedded != m.authority_credit_code:
                    self.add(
                        "implementation_code",
                        "实施编码第 13–30 位与实施主体统一社会信用代码不一致",
                    )
                elif not m.authority_credit_code and (why := credit_code_problem(embedded)):
                    self.add("implementation_code", f"实施编码中的{why}")
                if not impl[30].isdigit():
                    self.add("implementation_code", "实施编码第 31 位应为数字")
        handling = m.handling_code
        if handling:
            if len(handling) != 33:
                self.add("handling_code", f"业务办理项编码应为 33 位，现为 {len(handling)} 位")
            else:
                if impl and handling[:31] != impl:
                    self.add("handling_code", "业务办理项编码前 31 位与实施编码不一致")
                if not handling[31:].isdigit():
                    self.add("handling_code", "业务办理项编码最后 2 位应为数字")

    def limits(self) -> None:
        m = self.matter
        legal = m.legal_limit
        if legal is None:
            return
        promised: list[tuple[str, TimeLimit]] = []
        if m.promised_limit is not None:
            promised.append(("promised_limit", m.promised_limit))
        for q in m.questions:
            for o in q.options:
                if o.promised_limit is not None:
                    path = f"questions.{q.key}.options.{o.key}.promised_limit"
                    promised.append((path, o.promised_limit))
        for path, limit in promised:
            if natural_days(limit) > natural_days(legal):
                self.add(
                    path,
                    f"承诺办结时限 {_limit_text(limit)}（约 {natural_days(limit)} 个自然日）"
                    f"长于法定办结时限 {_limit_text(legal)}（约 {natural_days(legal)} 个自然日）",
                )

    def materials(self) -> None:
        m = self.matter
        defined = {mat.key for mat in m.materials}
        for key, n in Counter(mat.key for mat in m.materials).items():
            if n > 1:
                self.add("materials", f"材料标识 {key} 重复定义了 {n} 次")
        for i, key in enumerate(m.base_materials):
            if key not in defined:
                self.add(f"base_materials[{i}]", f"基本材料引用了未定义的材料 {key}")
        for q in m.questions:
            for o in q.options:
                for field, label in (("add_materials", "增加"), ("remove_materials", "减少")):
                    for i, key in enumerate(getattr(o, field)):
                        if key not in defined:
                            self.add(
                                f"questions.{q.key}.options.{o.key}.{field}[{i}]",
                                f"问题“{q.text}”的选项“{o.label}”{label}了未定义的材料 {key}",
                            )

    def situations(self) -> None:
        m = self.matter
        keys = [q.key for q in m.questions]
        for key, n in Counter(keys).items():
            if n > 1:
                self.add("questions", f"问题标识 {key} 重复定义了 {n} 次")
        known = set(keys)
        for i, key in enumerate(m.root):
            if key not in known:
                self.add(f"root[{i}]", f"首问问题引用了不存在的问题 {key}")
        for q in m.questions:
            for key, n in Counter(o.key for o in q.options).items():
                if n > 1:
                    self.add(f"questions.{q.key}.options", f"问题“{q.text}”的选项 {key} 重复")
            for o in q.options:
                for i, key in enumerate(o.next):
                    if key not in known:
                        self.add(
                            f"questions.{q.key}.options.{o.key}.next[{i}]",
                            f"选项“{o.label}”的后续问题 {key} 不存在",
                        )
        all_paths = list(paths(m))
        if len(all_paths) >= MAX_PATHS:
            self.add("questions", f"情形路径超过 {MAX_PATHS} 条，只检查了前 {MAX_PATHS} 条",
                     Severity.WARNING)  # fmt: skip
        used: set[str] = set()
        for answers in all_paths:
            result = checklist(m, answers)
            used |= {mat.key for mat in result.materials}
            if not result.materials:
                if result.answers:
                    q, o = result.answers[-1]
                    where = f"questions.{q.key}.options.{o.key}"
                    route = " → ".join(f"{qq.text}：{oo.label}" for qq, oo in result.answers)
                    self.add(where, f"情形路径“{route}”没有任何材料")
                else:
                    self.add("base_materials", "事项没有任何材料")
        reachable = reachable_questions(m)
        for q in m.questions:
            if q.key not in reachable:
                self.add(f"questions.{q.key}", f"问题“{q.text}”在任何情形路径中都不会被问到")
        for i, mat in enumerate(m.materials):
            if mat.key not in used:
                self.add(f"materials[{i}]", f"材料“{mat.name}”不会出现在任何情形的材料清单中",
                         Severity.WARNING)  # fmt: skip


def check_matter(matter: Matter) -> list[Problem]:
    return _Checker(matter).run()


def check_library(library: Library, *, service_codes: Iterable[str] | None = None) -> Report:
    """The completeness report of a library; `service_codes` (the hall's queue
    services) also checks that each matter's service exists."""
    problems: list[Problem] = []
    for key, n in Counter(m.key for m in library.matters).items():
        if n > 1:
            problems.append(
                Problem(Severity.ERROR, key, "", "key", f"事项标识 {key} 重复了 {n} 次")
            )
    services = set(service_codes) if service_codes is not None else None
    for matter in library.matters:
        problems += check_matter(matter)
        if services is not None and matter.service and matter.service not in services:
            problems.append(
                Problem(Severity.WARNING, matter.key, matter.name, "service",
                        f"大厅没有服务代码为 {matter.service} 的服务（排队取号无法对应）")
            )  # fmt: skip
    keys = {m.key for m in library.matters}
    for faq in library.faqs:
        for i, key in enumerate(faq.matters):
            if key not in keys:
                problems.append(
                    Problem(Severity.WARNING, "", "", f"faqs.{faq.key}.matters[{i}]",
                            f"常见问题“{faq.question}”指向不存在的事项 {key}")
                )  # fmt: skip
    return Report(problems=tuple(problems), matters=len(library.matters))
