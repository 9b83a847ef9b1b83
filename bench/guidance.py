"""`anxin bench guidance`: 智能问答 and 智能导办 latency on a large library.

A deterministic library of 2,000 plausible matters (subject × action names,
keywords, 3–6 materials, 0–3 situation questions, 18 services) is indexed
once; then citizen-style questions (plain Chinese, full pinyin, initials) are
answered, and guidance walks (every step's question, the checklist, and the
queue recommendation from a snapshot of live queue figures, as a kiosk gets
them on ``hall/queue/{code}``) are timed. Target: p95 ≤ 30 ms for both.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any, Final

from pypinyin import Style, lazy_pinyin

from anxin.settings import Settings
from broker.contract import HallQueue
from central.guidance.flow import step
from central.guidance.routing import candidates, recommend
from central.guidance.search import GuideIndex
from central.matters.schema import Library, Material, Matter, Option, Question, TimeLimit

SEED: Final = 2026
MATTERS: Final = 2000
TARGET_P95_MS: Final = 30.0

SUBJECTS: Final = (
    "个体工商户", "有限责任公司", "农民专业合作社", "食品经营", "食品生产", "药品零售",
    "医疗器械经营",
    "建筑工程施工", "建设工程规划", "道路运输经营", "出租汽车经营", "烟草专卖零售", "医疗机构执业",
    "养老机构", "民办学校", "托育机构", "出版物零售", "娱乐场所", "网吧经营", "危险化学品经营",
    "特种设备使用", "城镇污水排入排水管网", "城市道路占用", "户外广告设置", "林木采伐", "渔业捕捞",
    "农药经营", "兽药经营", "农作物种子经营", "燃气经营", "人防工程", "公众聚集场所消防",
    "旅行社", "导游证", "社会团体", "民办非企业单位", "慈善组织", "最低生活保障", "临时救助",
    "高龄津贴", "残疾人两项补贴", "住房公积金", "城乡居民养老保险", "职工医疗保险", "失业保险金",
    "不动产首次", "二手房转移", "房屋抵押", "户口迁移", "居民身份证", "居住证", "出生医学证明",
    "婚姻登记", "退役军人优待证", "发票代开", "税务登记", "残疾人证", "计划生育服务",
    "殡葬补贴", "老年人优待证",
)  # fmt: skip
ACTIONS: Final = (
    "设立登记", "变更登记", "注销登记", "许可证核发", "许可证延续", "许可证变更", "许可证注销",
    "备案",
    "审批", "资格认定", "证明开具", "补领", "换领", "年度报告", "申报", "提取", "转移登记",
    "信息查询", "申请", "待遇核定", "迁入", "迁出", "首次申领", "遗失补办", "延期", "撤销",
    "复核", "验收", "核准", "认证", "办理", "审核", "发放", "续期",
)  # fmt: skip
MATERIALS: Final = (
    "申请人身份证", "营业执照", "申请书", "授权委托书", "代理人身份证", "经营场所证明",
    "房屋租赁合同",
    "房产证", "户口簿", "结婚证", "近期免冠照片", "健康证明", "法定代表人身份证明", "公司章程",
    "验资报告", "消防验收意见", "环评批复", "规划许可证", "施工合同", "银行账户证明", "劳动合同",
    "学历证明", "专业技术资格证书", "残疾评定报告", "死亡证明", "出生证明", "收入证明",
)  # fmt: skip
QUESTIONS: Final = (
    ("agent", "是您本人来办吗？", ("是，本人办", "不是，委托别人办")),
    ("rent", "场所是自己的，还是租的？", ("自己的", "租的")),
    ("first", "是第一次办吗？", ("第一次", "以前办过")),
)
SERVICES: Final = tuple(f"svc{i:02d}" for i in range(18))


def build_library(n: int = MATTERS, *, seed: int = SEED) -> Library:
    rng = random.Random(seed)
    names = [f"{s}{a}" for s in SUBJECTS for a in ACTIONS]
    rng.shuffle(names)
    matters = []
    for i, name in enumerate(names[:n]):
        subject = next(s for s in SUBJECTS if name.startswith(s))
        pool = rng.sample(MATERIALS, rng.randint(5, 9))
        materials = tuple(Material(key=f"m{j}", name=m) for j, m in enumerate(pool))
        base = tuple(x.key for x in materials[: rng.randint(2, 4)])
        extra = [x.key for x in materials[len(base) :]]
        questions = []
        for key, text, labels in rng.sample(QUESTIONS, rng.randint(0, 3)):
            add = (extra.pop(),) if extra else ()
            questions.append(
                Question(
                    key=key,
                    text=text,
                    options=(
                        Option(key="a", label=labels[0]),
                        Option(key="b", label=labels[1], add_materials=add),
                    ),
                )
            )
        keywords = (subject, subject[:2] + name[len(subject) :][:2])
        matters.append(
            Matter(
                key=f"m{i:04d}",
                name=name,
                basic_code=f"{rng.randint(0, 99999):012d}" if i % 50 else "000000000001",
                service=SERVICES[i % len(SERVICES)],
                keywords=keywords,
                promised_limit=TimeLimit(amount=rng.choice((0, 1, 3, 5, 10, 20))),
                materials=materials,
                base_materials=base,
                questions=tuple(questions),
                root=tuple(q.key for q in questions),
            )
        )
    synonyms = {"开饭店": ("餐饮", "食品经营"), "开店": ("个体工商户",), "买房": ("二手房转移",)}
    return Library(demo=True, matters=tuple(matters), synonyms=synonyms)


def build_queries(library: Library, count: int, *, seed: int = SEED) -> list[str]:
    rng = random.Random(seed + 1)
    out = []
    templates = ("{}需要什么材料", "怎么办{}", "我想问一下{}在哪办", "{}", "{}要多久")
    for _ in range(count):
        matter = rng.choice(library.matters)
        kind = rng.random()
        if kind < 0.6:
            out.append(rng.choice(templates).format(matter.name))
        elif kind < 0.8:
            out.append("".join(lazy_pinyin(matter.keywords[0])))
        else:
            out.append("".join(lazy_pinyin(matter.name, style=Style.FIRST_LETTER)))
    return out


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49], 3),
        "p95_ms": round(cuts[94], 3),
        "p99_ms": round(cuts[98], 3),
    }


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    del settings  # nothing here touches the hall
    queries = 1000 if quick else 5000
    walks = 1000 if quick else 5000
    library = build_library()
    started = time.perf_counter()
    index = GuideIndex(library)
    build_s = time.perf_counter() - started

    qa: list[float] = []
    hits = 0
    for text in build_queries(library, queries):
        t0 = time.perf_counter()
        answer = index.ask(text)
        qa.append((time.perf_counter() - t0) * 1000)
        hits += bool(answer.matters)

    rng = random.Random(SEED + 2)
    queues = [
        HallQueue(
            service=code, name=f"业务{i}", prefix=chr(ord("A") + i), waiting=rng.randint(0, 40),
            open_windows=rng.randint(0, 4), estimated_wait_min=rng.randint(0, 90),
        )
        for i, code in enumerate(SERVICES)
    ]  # fmt: skip
    guide: list[float] = []
    for _ in range(walks):
        matter = rng.choice(library.matters)
        t0 = time.perf_counter()
        answers: dict[str, str] = {}
        current = step(matter, answers)
        while current.question is not None:
            answers[current.question.key] = rng.choice(current.question.options).key
            current = step(matter, answers)
        found = recommend(candidates(library, matter), queues)
        guide.append((time.perf_counter() - t0) * 1000)
        assert current.view is not None
        assert found.reason

    qa_p = _percentiles(qa)
    guide_p = _percentiles(guide)
    metrics = {
        "matters": len(library.matters),
        "index_build_s": round(build_s, 2),
        "qa_queries": len(qa),
        "qa_answered_share": round(hits / len(qa), 3),
        **{f"qa_{k}": v for k, v in qa_p.items()},
        "guide_walks": len(guide),
        **{f"guide_{k}": v for k, v in guide_p.items()},
    }
    targets = {"qa_p95_ms": TARGET_P95_MS, "guide_p95_ms": TARGET_P95_MS}
    ok = qa_p["p95_ms"] <= TARGET_P95_MS and guide_p["p95_ms"] <= TARGET_P95_MS
    return {"bench": "guidance", "metrics": metrics, "targets": targets, "pass": ok}
