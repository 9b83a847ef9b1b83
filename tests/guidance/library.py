"""A small matter library for the guidance tests (the demo library is helper
content; these tests must not depend on its wording)."""

from __future__ import annotations

from central.matters.schema import (
    CaseKind,
    Faq,
    Fee,
    Library,
    Material,
    MaterialKind,
    MaterialSource,
    Matter,
    Necessity,
    Option,
    Question,
    TimeLimit,
)

ID = Material(key="id_card", name="经营者身份证", kind=MaterialKind.ORIGINAL_AND_COPY, copies=1)
FORM = Material(
    key="form",
    name="个体工商户登记申请书",
    spec="A4",
    source=MaterialSource.OTHER,
    source_note="窗口领取或网上下载",
)
PROXY = Material(key="proxy", name="授权委托书", copies=1)
AGENT_ID = Material(key="agent_id", name="代理人身份证", kind=MaterialKind.ORIGINAL)
DEED = Material(
    key="deed",
    name="房屋产权证明",
    kind=MaterialKind.COPY,
    source=MaterialSource.GOVERNMENT,
    source_note="不动产登记部门核发",
)
LEASE = Material(key="lease", name="房屋租赁合同", kind=MaterialKind.COPY, copies=2)
LEASE_FILED = Material(
    key="lease_filed", name="租赁备案证明", necessity=Necessity.DEFERRABLE, copies=1
)

INDIVIDUAL = Matter(
    key="individual_setup",
    name="个体工商户设立登记",
    basic_code="000001000001",
    service="individual_business",
    keywords=("个体户", "开店", "营业执照"),
    result_name="营业执照",
    audience="自然人",
    authority="某区市场监督管理局",
    conditions=("经营者具有完全民事行为能力",),
    promised_limit=TimeLimit(amount=1),
    materials=(ID, FORM, PROXY, AGENT_ID, DEED, LEASE, LEASE_FILED),
    base_materials=("id_card", "form"),
    questions=(
        Question(
            key="who",
            text="是您本人来办吗？",
            options=(
                Option(key="self", label="是，我本人办"),
                Option(
                    key="agent",
                    label="不是，帮别人办",
                    add_materials=("proxy", "agent_id"),
                    add_conditions=("代理人须持经营者签字的授权委托书",),
                ),
            ),
        ),
        Question(
            key="place",
            text="店面是自己的房子，还是租的？",
            options=(
                Option(key="own", label="自己的房子", add_materials=("deed",)),
                Option(key="rent", label="租的", add_materials=("lease",), next=("filed",)),
            ),
        ),
        Question(
            key="filed",
            text="租赁合同在住建部门备过案吗？",
            options=(
                Option(key="yes", label="备过案", add_materials=("lease_filed",)),
                Option(
                    key="no",
                    label="还没有",
                    add_conditions=("租赁合同未备案的，可先容缺受理，5个工作日内补交",),
                    promised_limit=TimeLimit(amount=3),
                ),
            ),
        ),
    ),
    root=("who", "place"),
)

INDIVIDUAL_AT_MARKET = INDIVIDUAL.model_copy(
    update={"key": "individual_setup_market", "name": "个体工商户设立登记（综合窗口）",
            "service": "company_setup", "keywords": ()}
)  # fmt: skip

FOOD = Matter(
    key="food_license",
    name="食品经营许可证核发",
    service="food_license",
    keywords=("餐饮许可", "小吃店"),
    result_name="食品经营许可证",
    promised_limit=TimeLimit(amount=10),
    materials=(
        Material(key="apply", name="食品经营许可申请书"),
        Material(key="health", name="从业人员健康证明", copies=1),
    ),
    base_materials=("apply", "health"),
)

ID_CARD = Matter(
    key="id_card_lost",
    name="居民身份证挂失补领",
    service="id_card",
    keywords=("身份证丢了", "补办身份证"),
    case_kind=CaseKind.IMMEDIATE,
    fee=Fee(charged=True, description="每证20元", basis="居民身份证工本费标准"),
    materials=(Material(key="photo", name="近期免冠照片", copies=1),),
    base_materials=("photo",),
)

FUND = Matter(
    key="fund_withdraw",
    name="住房公积金提取",
    service="housing_fund",
    keywords=("公积金", "提取公积金"),
    case_kind=CaseKind.IMMEDIATE,
    materials=(Material(key="card", name="本人银行卡"),),
    base_materials=("card",),
)

FAQS = (
    Faq(
        key="hours",
        question="大厅周末上班吗？几点开门",
        answer="工作日 9:00—17:00；周六上午办理部分业务。",
    ),
    Faq(
        key="restaurant",
        question="开饭店需要办哪些证",
        answer="先办营业执照，再办食品经营许可证。",
        matters=("individual_setup", "food_license"),
    ),
)

SYNONYMS = {"开饭店": ("餐饮", "饭馆", "开餐馆"), "身份证": ("身份证件",)}


def small_library(*, alternatives: bool = False) -> Library:
    matters = [INDIVIDUAL, FOOD, ID_CARD, FUND]
    if alternatives:
        matters.append(INDIVIDUAL_AT_MARKET)
    return Library(matters=tuple(matters), faqs=FAQS, synonyms=SYNONYMS)
