"""The matter document: one government matter (事项) after the national element
standard (国家政务服务事项要素), its materials (材料) and its situation tree (情形).

This is the shape every part shares: the database stores a matter version as
this document (JSON), Excel and JSON import/export read and write it, the
completeness check and the guidance walk it, kiosks receive it on a retained
config topic. Pydantic checks each field on its own; element completeness
(codes, check digits, time limits, reachable situation paths) is the job of
`central.matters.completeness`, because a hall must be able to store a matter
it is still working on and see what it lacks.

Situations: a matter asks ``root`` questions first; each chosen option may add
or remove materials, add conditions, override the fee or the promised time
limit, and name further questions to ask (``next``). The checklist of a path
is ``base_materials`` plus the adds minus the removes (see `situations`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# A key is a stable identifier inside the library or a matter (ASCII, so it
# survives Excel, URLs and MQTT topics).
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Text = Annotated[str, Field(max_length=4000)]
Short = Annotated[str, Field(max_length=200)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatterType(StrEnum):
    """事项类型 by its code in the national standard."""

    LICENSING = "01"  # 行政许可
    PENALTY = "02"  # 行政处罚
    ENFORCEMENT = "03"  # 行政强制
    LEVY = "04"  # 行政征收
    BENEFIT = "05"  # 行政给付
    INSPECTION = "06"  # 行政检查
    CONFIRMATION = "07"  # 行政确认
    REWARD = "08"  # 行政奖励
    ADJUDICATION = "09"  # 行政裁决
    OTHER_POWER = "10"  # 其他行政权力
    PUBLIC_SERVICE = "20"  # 公共服务


MATTER_TYPE_LABELS: dict[MatterType, str] = {
    MatterType.LICENSING: "行政许可",
    MatterType.PENALTY: "行政处罚",
    MatterType.ENFORCEMENT: "行政强制",
    MatterType.LEVY: "行政征收",
    MatterType.BENEFIT: "行政给付",
    MatterType.INSPECTION: "行政检查",
    MatterType.CONFIRMATION: "行政确认",
    MatterType.REWARD: "行政奖励",
    MatterType.ADJUDICATION: "行政裁决",
    MatterType.OTHER_POWER: "其他行政权力",
    MatterType.PUBLIC_SERVICE: "公共服务",
}


class TimeUnit(StrEnum):
    NATURAL_DAY = "自然日"
    WORKING_DAY = "工作日"
    MONTH = "月"
    YEAR = "年"


class CaseKind(StrEnum):
    """办件类型."""

    IMMEDIATE = "即办件"
    PROMISED = "承诺件"


class MaterialKind(StrEnum):
    """材料类型."""

    ORIGINAL = "原件"
    COPY = "复印件"
    ORIGINAL_AND_COPY = "原件和复印件"
    ORIGINAL_OR_COPY = "原件或复印件"


class MaterialForm(StrEnum):
    """材料形式."""

    PAPER = "纸质"
    ELECTRONIC = "电子"
    PAPER_OR_ELECTRONIC = "纸质或电子"


class Necessity(StrEnum):
    """必要性. 容缺后补: accepted now, handed in later (容缺受理)."""

    REQUIRED = "必要"
    OPTIONAL = "非必要"
    DEFERRABLE = "容缺后补"


class MaterialSource(StrEnum):
    """来源渠道."""

    APPLICANT = "申请人自备"
    GOVERNMENT = "政府部门核发"
    OTHER = "其他"


class TimeLimit(_Doc):
    amount: int = Field(ge=0, le=3650)
    unit: TimeUnit = TimeUnit.WORKING_DAY


class Fee(_Doc):
    charged: bool = Field(False, description="是否收费")
    basis: Text = Field("", description="收费依据")
    description: Short = Field("", description="收费标准, e.g. 每件80元")


class Material(_Doc):
    key: Key
    name: Short = Field(min_length=1, description="材料名称")
    kind: MaterialKind = MaterialKind.ORIGINAL
    form: MaterialForm = MaterialForm.PAPER
    copies: int = Field(1, ge=0, le=99, description="份数")
    spec: Short = Field("", description="规格, e.g. A4")
    necessity: Necessity = Necessity.REQUIRED
    source: MaterialSource = MaterialSource.APPLICANT
    source_note: Short = Field("", description="来源说明, e.g. 市场监管部门核发")
    blank_form: Short = Field("", description="空白表格: file name or URL")
    sample_form: Short = Field("", description="示例样表: file name or URL")
    fill_notes: Text = Field("", description="填报须知")
    acceptance_standard: Text = Field("", description="受理标准")
    basis: Text = Field("", description="要求提供材料的依据")


class Option(_Doc):
    """One answer to a situation question and what choosing it changes."""

    key: Key
    label: Short = Field(min_length=1, description="answer shown to the citizen, e.g. 是")
    add_materials: tuple[Key, ...] = ()
    remove_materials: tuple[Key, ...] = ()
    add_conditions: tuple[Short, ...] = ()
    fee: Fee | None = Field(None, description="replaces the matter's fee on this path")
    promised_limit: TimeLimit | None = Field(None, description="replaces 承诺办结时限")
    next: tuple[Key, ...] = Field((), description="questions asked after this answer")


class Question(_Doc):
    key: Key
    text: Short = Field(min_length=1, description="plain-language question (口语化)")
    help: Text = ""
    options: tuple[Option, ...] = Field(min_length=1)


class Matter(_Doc):
    """One matter with every element a hall publishes."""

    key: Key = Field(description="stable identifier in this library")
    name: Short = Field(min_length=1, description="事项名称")
    basic_code: Short = Field("", description="基本编码, 12 characters")
    implementation_code: Short = Field("", description="实施编码, 31 characters")
    handling_code: Short = Field("", description="业务办理项编码, 33 characters")
    matter_type: MatterType = MatterType.LICENSING
    legal_basis: Text = Field("", description="设定依据")
    authority: Short = Field("", description="实施主体")
    authority_credit_code: Short = Field("", description="实施主体统一社会信用代码 (18)")
    conditions: tuple[Short, ...] = Field((), description="受理条件")
    procedure: tuple[Short, ...] = Field((), description="办理流程, one step per entry")
    legal_limit: TimeLimit | None = Field(None, description="法定办结时限")
    promised_limit: TimeLimit | None = Field(None, description="承诺办结时限")
    case_kind: CaseKind = CaseKind.PROMISED
    visits: int = Field(1, ge=0, le=10, description="到办事现场次数")
    audience: Short = Field("", description="服务对象, e.g. 自然人 / 企业法人")
    fee: Fee = Fee()
    location: Short = Field("", description="办理地点")
    hours: Short = Field("", description="办理时间")
    consultation: Short = Field("", description="咨询方式")
    complaint: Short = Field("", description="监督投诉方式")
    result_name: Short = Field("", description="结果名称")
    result_sample: Short = Field("", description="结果样本: file name or URL")
    online: bool = Field(False, description="是否支持网上办理")
    bookable: bool = Field(False, description="是否支持预约办理")
    daily_bookings: int = Field(0, ge=0, description="每天可预约办理量")
    service: Short = Field("", description="code of the hall service (queue) that handles it")
    keywords: tuple[Short, ...] = Field((), description="extra search words (别名)")
    materials: tuple[Material, ...] = Field((), description="every material any path may need")
    base_materials: tuple[Key, ...] = Field((), description="materials every path needs")
    questions: tuple[Question, ...] = ()
    root: tuple[Key, ...] = Field((), description="questions asked first, in order")


class Faq(_Doc):
    """A frequent question the hall answers directly (智能问答)."""

    key: Key
    question: Short = Field(min_length=1)
    answer: Text = Field(min_length=1)
    matters: tuple[Key, ...] = Field((), description="matters the answer points to")


class Library(_Doc):
    """A whole matter library as exchanged in JSON (and, sheet by sheet, in Excel)."""

    demo: bool = Field(False, description="true for made-up demonstration content")
    matters: tuple[Matter, ...] = ()
    faqs: tuple[Faq, ...] = ()
    synonyms: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="word -> words a citizen may use for it (开饭店 -> 餐饮, 食品经营)",
    )
