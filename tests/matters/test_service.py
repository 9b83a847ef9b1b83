"""Versions, diff, publication and all-or-nothing import, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from central.matters import excel, service
from central.matters.diff import ChangeKind, diff
from central.matters.models import MatterVersion
from central.matters.schema import Library, Material, TimeLimit
from tests.matters.library import database, food_license, small_library


def test_each_change_is_a_version_with_author_time_and_reason(
    database_url: str, tmp_path: Path
) -> None:
    with database(database_url, tmp_path) as s:
        first = service.save_matter(s, food_license(), author="wangfang", reason="首次录入")
        same = service.save_matter(s, food_license(), author="lijun", reason="无改动")
        s.commit()
        assert same.number == first.number == 1  # unchanged: no new version
        newer = food_license(promised_limit=TimeLimit(amount=5))
        second = service.save_matter(s, newer, author="lijun", reason="政策调整：承诺时限压缩")
        s.commit()
        history = service.versions(s, "food_license")
        assert [(v.number, v.author, v.reason) for v in history] == [
            (2, "lijun", "政策调整：承诺时限压缩"),
            (1, "wangfang", "首次录入"),
        ]
        assert second.created_at >= first.created_at
        assert service.draft(s, "food_license").promised_limit == TimeLimit(amount=5)


def test_only_published_versions_reach_the_published_library(
    database_url: str, tmp_path: Path
) -> None:
    with database(database_url, tmp_path) as s:
        service.save_matter(s, food_license(), author="a", reason="录入")
        s.commit()
        assert service.published_library(s).matters == ()
        service.publish(s, "food_license", author="a")
        service.save_matter(s, food_license(name="食品经营许可（新）"), author="a", reason="改名")
        s.commit()
        (live,) = service.published_library(s).matters
        assert live.name == "食品经营许可证核发"
        assert service.unpublished(s) == ["food_license"]
        assert service.revision(s) == 1


def test_diff_names_changed_elements_materials_questions_and_options() -> None:
    old = food_license()
    q_site = old.questions[0]
    rent = q_site.options[1].model_copy(update={"add_materials": ("lease", "license")})
    new = food_license(
        promised_limit=TimeLimit(amount=5),
        materials=(
            *[m.model_copy(update={"copies": 2}) if m.key == "license" else m
              for m in old.materials if m.key != "proxy"],
            Material(key="photo", name="照片"),
        ),
        questions=(q_site.model_copy(update={"options": (q_site.options[0], rent)}),),
        root=("q_site",),
    )  # fmt: skip
    changes = {(c.kind, c.path): c for c in diff(old, new)}
    assert changes[(ChangeKind.CHANGED, "promised_limit")].label == "承诺办结时限"
    assert changes[(ChangeKind.CHANGED, "materials.license.copies")].label == "材料“营业执照”的份数"
    assert changes[(ChangeKind.CHANGED, "materials.license.copies")].new == 2
    assert (ChangeKind.ADDED, "materials.photo") in changes
    assert (ChangeKind.REMOVED, "materials.proxy") in changes
    assert (ChangeKind.REMOVED, "questions.q_agent") in changes
    option = changes[(ChangeKind.CHANGED, "questions.q_site.options.rent.add_materials")]
    assert option.label == "问题“经营场所是自有还是租赁？”的选项“租赁”的增加材料"
    assert diff(old, old) == []


def test_an_import_with_a_bad_row_changes_nothing(database_url: str, tmp_path: Path) -> None:
    with database(database_url, tmp_path) as s:
        result = service.import_library(s, small_library(), author="cli", reason="首次导入")
        s.commit()
        assert result.created == ["food_license", "residence"]
        before = s.scalar(select(func.count()).select_from(MatterVersion))
        # A workbook where one material row is bad: the file is refused as a whole.
        changed = small_library(
            matters=(food_license(name="改过的名称"), small_library().matters[1])
        )
        wb = load_workbook(io.BytesIO(excel.dump_xlsx(changed)))
        wb["材料"]["F3"] = "很多"  # 份数
        out = io.BytesIO()
        wb.save(out)
        with pytest.raises(excel.LibraryFileInvalid) as caught:
            excel.load_xlsx(out.getvalue())
        assert [str(p) for p in caught.value.problems] == ["工作表“材料”第 3 行“份数”：应为整数"]
        # A library the database refuses (duplicate keys) writes nothing either.
        twice = Library(matters=(food_license(name="改过的名称"), food_license()))
        refused = service.import_library(s, twice, author="cli", reason="重复")
        s.commit()
        assert refused.problems == ["事项标识 food_license 出现了 2 次"]
        assert s.scalar(select(func.count()).select_from(MatterVersion)) == before
        assert service.draft(s, "food_license").name == "食品经营许可证核发"


def test_reimporting_the_same_library_adds_no_versions_and_publish_makes_it_live(
    database_url: str, tmp_path: Path
) -> None:
    with database(database_url, tmp_path) as s:
        service.import_library(s, small_library(), author="cli", reason="导入")
        s.commit()
        again = service.import_library(
            s, small_library(), author="cli", reason="再次导入", publish=True
        )
        s.commit()
        assert again.unchanged == ["food_license", "residence"]
        assert again.published == ["food_license", "residence"]
        assert all(len(service.versions(s, k)) == 1 for k in ("food_license", "residence"))
        assert service.published_library(s) == small_library()
        assert service.draft_library(s) == small_library()
