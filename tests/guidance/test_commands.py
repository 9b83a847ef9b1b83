"""`anxin guide ask` and `anxin guide recall` on a library file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from anxin.cli import app
from tests.guidance.library import small_library

runner = CliRunner()


@pytest.fixture
def library_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ANXIN_CONFIG", raising=False)
    path = tmp_path / "library.json"
    path.write_text(small_library().model_dump_json(), encoding="utf-8")
    return path


def test_guide_ask_lists_ranked_matters_and_faq_answers(library_file: Path) -> None:
    result = runner.invoke(
        app, ["guide", "ask", "开饭店要办什么证", "--library", str(library_file)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[2].startswith("1. 食品经营许可证核发  [food_license]")
    assert "常见问题：开饭店需要办哪些证 —— 先办营业执照，再办食品经营许可证。" in result.output


def test_guide_recall_fails_below_the_target(library_file: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "- {q: gjj, expect: [fund_withdraw]}\n- {q: 公积金, expect: [food_license]}\n", "utf-8"
    )
    args = ["guide", "recall", str(questions), "--library", str(library_file)]
    low = runner.invoke(app, args)
    assert low.exit_code == 1
    assert "recall@3 = 0.500（命中 1 / 2）" in low.output
    assert "未命中：公积金" in low.output
    assert runner.invoke(app, [*args, "--target", "0.5"]).exit_code == 0
