"""Small matter libraries for the tests, with codes that pass the checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from central.db import make_engine, make_sessionmaker, upgrade_database
from central.matters.completeness import credit_check_char
from central.matters.schema import (
    Fee,
    Library,
    Material,
    Matter,
    MatterType,
    Option,
    Question,
    TimeLimit,
    TimeUnit,
)
from tests.central.conftest import hub_settings


def credit_code(body: str = "11110105MB0123456") -> str:
    return body + credit_check_char(body)


CREDIT = credit_code()
BASIC = "011234567000"
IMPL = BASIC + CREDIT + "1"


def food_license(**changes: object) -> Matter:
    """食品经营许可: complete, with a two-level situation tree."""
    matter = Matter(
        key="food_license",
        name="食品经营许可证核发",
        basic_code=BASIC,
        implementation_code=IMPL,
        handling_code=IMPL + "01",
        matter_type=MatterType.LICENSING,
        legal_basis="《中华人民共和国食品安全法》第三十五条",
        authority="某区市场监督管理局",
        authority_credit_code=CREDIT,
        conditions=("已取得营业执照",),
        procedure=("申请", "受理", "审查", "决定", "发证"),
        legal_limit=TimeLimit(amount=20, unit=TimeUnit.WORKING_DAY),
        promised_limit=TimeLimit(amount=10, unit=TimeUnit.WORKING_DAY),
        audience="企业法人",
        fee=Fee(),
        location="政务服务中心二楼",
        hours="工作日 9:00-17:00",
        consultation="12345",
        complaint="12345",
        result_name="食品经营许可证",
        service="market",
        keywords=("开饭店", "餐饮"),
        materials=(
            Material(key="application", name="食品经营许可申请书"),
            Material(key="license", name="营业执照", kind="复印件"),
            Material(key="lease", name="房屋租赁合同", kind="复印件"),
            Material(key="deed", name="不动产权证书", kind="复印件"),
            Material(key="proxy", name="授权委托书"),
        ),
        base_materials=("application", "license"),
        questions=(
            Question(
                key="q_site",
                text="经营场所是自有还是租赁？",
                options=(
                    Option(key="own", label="自有", add_materials=("deed",)),
                    Option(key="rent", label="租赁", add_materials=("lease",)),
                ),
            ),
            Question(
                key="q_agent",
                text="是否委托他人办理？",
                options=(
                    Option(key="yes", label="是", add_materials=("proxy",)),
                    Option(key="no", label="否"),
                ),
            ),
        ),
        root=("q_site", "q_agent"),
    )
    return matter.model_copy(update=changes) if changes else matter


def residence(**changes: object) -> Matter:
    matter = food_license().model_copy(
        update={
            "key": "residence",
            "name": "居住证办理",
            "basic_code": "071234567000",
            "implementation_code": "071234567000" + CREDIT + "1",
            "handling_code": "",
            "matter_type": MatterType.CONFIRMATION,
            "keywords": ("暂住证",),
            "materials": (Material(key="id_card", name="居民身份证"),),
            "base_materials": ("id_card",),
            "questions": (),
            "root": (),
        }
    )
    return matter.model_copy(update=changes) if changes else matter


def small_library(**changes: object) -> Library:
    library = Library(
        matters=(food_license(), residence()),
        synonyms={"开饭店": ("餐饮", "食品经营")},
    )
    return library.model_copy(update=changes) if changes else library


@contextmanager
def database(database_url: str, tmp_path: Path) -> Iterator[Session]:
    """A session on a migrated database."""
    settings = hub_settings(database_url=database_url, tmp_path=tmp_path)
    upgrade_database(settings)
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()
