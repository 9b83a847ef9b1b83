"""Hall configuration as data: import a `HallDoc` into the database and export it back.

Import is all or nothing: every problem (in the document, or against what is
already in the database) is collected first, and nothing is written unless
there are none. Rows are matched by their natural keys (area and service
code, window number, clerk username), so importing the same file twice
changes nothing.

- merge (``replace=False``): the document adds and updates; what it does not
  mention stays as it is. It may refer to areas and services already stored.
- replace (``replace=True``): the document becomes the whole hall. Services
  and windows it leaves out are retired (``active=False``), never deleted,
  because past tickets refer to them; clerks it leaves out lose their
  certifications but keep their accounts.

The caller commits. Creating a clerk account hashes its one-time password
(argon2, ~0.2 s each: a 76-clerk hall takes seconds); that happens before
the import's transaction reads or writes anything (`_hash_new_clerks`, on a
connection of its own), so the database's write lock (SQLite) or row locks
(PostgreSQL) are held only for the writes. A caller should not hold a read
transaction open on `session` across the call: on SQLite a snapshot taken
before the hashing could no longer be upgraded to a write once a verb has
committed meanwhile.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central.auth.models import Role, User
from central.auth.service import create_user, hash_password, one_time_password
from central.queueing.hallschema import (
    AreaDoc,
    ClerkDoc,
    HallDoc,
    HallDocInvalid,
    Problem,
    ServiceDoc,
    WindowDoc,
    check_doc,
    dump_yaml,
    format_hours,
    load_yaml,
    parse_hours,
    validate_doc,
)
from central.queueing.models import (
    FINAL_STATES,
    ClerkService,
    Service,
    ServiceArea,
    Ticket,
    Window,
    WindowKind,
    WindowService,
)

__all__ = [
    "HallDoc",
    "HallDocInvalid",
    "ImportReport",
    "Problem",
    "dump_yaml",
    "export_hall",
    "import_hall",
    "load_yaml",
    "validate_doc",
]

# A retired service keeps its row (old tickets point at it) but must give up its
# letter, which is unique. It parks on a private-use code point derived from its
# id: never a letter a document can use, never shared by two services. Printed
# ticket numbers are stored whole, so old tickets still read A012.
_PARK_BASE = 0xF0000

KIND_LABELS = {"areas": "服务区", "services": "服务", "windows": "窗口", "clerks": "窗口人员"}


def _parked(service_id: int) -> str:
    return chr(_PARK_BASE + service_id)


@dataclass
class ImportReport:
    problems: list[Problem] = field(default_factory=list)
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    retired: Counter[str] = field(default_factory=Counter)
    # One-time passwords of the clerk accounts this import created; shown once.
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if not self.ok:
            return f"发现 {len(self.problems)} 处问题，未导入任何内容"
        parts = []
        for kind, label in KIND_LABELS.items():
            counts = (self.created[kind], self.updated[kind], self.retired[kind])
            if any(counts):
                text = f"{label}新增 {counts[0]}、更新 {counts[1]}"
                parts.append(text + (f"、停用 {counts[2]}" if counts[2] else ""))
        return "导入完成：" + ("；".join(parts) if parts else "没有变化")


def import_hall(session: Session, doc: HallDoc, *, replace: bool) -> ImportReport:
    """Check `doc` against itself and the database, then write it (or nothing)."""
    hashed = _hash_new_clerks(session, doc)
    report = ImportReport()
    areas = {a.code: a for a in session.scalars(select(ServiceArea))}
    services = {s.code: s for s in session.scalars(select(Service))}
    known_areas = () if replace else areas.keys()
    known_services = () if replace else [c for c, s in services.items() if s.active]
    report.problems = check_doc(doc, known_areas=known_areas, known_services=known_services)
    report.problems += _check_against_database(session, doc, services, replace=replace)
    if report.problems:
        return report
    _import_areas(session, doc.areas, areas, report)
    _import_services(session, doc.services, services, areas, report, replace=replace)
    _import_windows(session, doc.windows, services, areas, report, replace=replace)
    _import_clerks(session, doc.clerks, services, hashed, report, replace=replace)
    if replace:
        _drop_unused_areas(session, {a.code for a in doc.areas}, areas)
    session.flush()
    return report


def _hash_new_clerks(session: Session, doc: HallDoc) -> dict[str, tuple[str, str]]:
    """One-time password and its hash for each clerk of `doc` without an account.

    The usernames are read in a short transaction of their own (not the
    caller's), and the slow hashing runs before the import's transaction has
    taken any lock.
    """
    names = [c.username for c in doc.clerks]
    if not names:
        return {}
    with Session(session.get_bind()) as probe:
        known = set(probe.scalars(select(User.username).where(User.username.in_(names))))
    out: dict[str, tuple[str, str]] = {}
    for name in names:
        if name not in known and name not in out:
            password = one_time_password()
            out[name] = (password, hash_password(password))
    return out


def _check_against_database(
    session: Session, doc: HallDoc, services: dict[str, Service], *, replace: bool
) -> list[Problem]:
    problems: list[Problem] = []
    in_doc = {s.code for s in doc.services}
    if not replace:
        # A letter held by a stored service the document does not mention.
        held = {s.prefix: s for s in services.values() if s.active and s.code not in in_doc}
        for i, svc in enumerate(doc.services):
            other = held.get(svc.prefix)
            if other is not None:
                problems.append(
                    Problem(
                        f"services[{i}].prefix",
                        f"号码字母 {svc.prefix} 已被现有服务 {other.code}（{other.name}）使用",
                    )
                )
        return problems
    leaving = [s for s in services.values() if s.active and s.code not in in_doc]
    if leaving:
        live = session.execute(
            select(Ticket.service_id, Ticket.number)
            .where(Ticket.service_id.in_([s.id for s in leaving]))
            .where(Ticket.state.not_in([st.value for st in FINAL_STATES]))
        ).all()
        by_id = {s.id: s for s in leaving}
        for service_id, number in live:
            gone = by_id[service_id]
            problems.append(
                Problem(
                    f"services（{gone.code}）",
                    f"服务 {gone.name} 将被停用，但号码 {number} 尚未办结；请在闭厅后再导入",
                )
            )
    return problems


def _import_areas(
    session: Session, docs: list[AreaDoc], areas: dict[str, ServiceArea], report: ImportReport
) -> None:
    for sort, a in enumerate(docs):
        row = areas.get(a.code)
        if row is None:
            row = ServiceArea(code=a.code, name=a.name, sort=sort, silent_calling=a.silent_calling)
            session.add(row)
            areas[a.code] = row
            report.created["areas"] += 1
        elif (row.name, row.sort, row.silent_calling) != (a.name, sort, a.silent_calling):
            row.name, row.sort, row.silent_calling = a.name, sort, a.silent_calling
            report.updated["areas"] += 1
    session.flush()


def _import_services(
    session: Session,
    docs: list[ServiceDoc],
    services: dict[str, Service],
    areas: dict[str, ServiceArea],
    report: ImportReport,
    *,
    replace: bool,
) -> None:
    wanted = {s.code: s for s in docs}
    # Park every letter that moves or leaves first, so that two services
    # swapping letters never collide on the unique constraint mid-way.
    for code, row in services.items():
        doc = wanted.get(code)
        if (doc is None and replace) or (doc is not None and doc.prefix != row.prefix):
            row.prefix = _parked(row.id)
    session.flush()
    for s in docs:
        opens, closes = parse_hours(s.hours)
        values = {
            "name": s.name,
            "area_id": areas[s.area].id,
            "prefix": s.prefix,
            "number_start": s.numbers[0],
            "number_end": s.numbers[1],
            "opens_at": opens,
            "closes_at": closes,
            "daily_cap": s.daily_cap,
            "avg_handling_s": s.avg_handling_s,
            "notify_ahead": s.notify_ahead,
            "active": True,
        }
        stored = services.get(s.code)
        if stored is None:
            stored = Service(code=s.code, **values)
            session.add(stored)
            services[s.code] = stored
            report.created["services"] += 1
            continue
        if any(getattr(stored, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(stored, k, v)
            report.updated["services"] += 1
    if replace:
        for code, row in services.items():
            if code not in wanted and row.active:
                row.active = False
                session.execute(delete(WindowService).where(WindowService.service_id == row.id))
                session.execute(delete(ClerkService).where(ClerkService.service_id == row.id))
                report.retired["services"] += 1
    session.flush()


def _import_windows(
    session: Session,
    docs: list[WindowDoc],
    services: dict[str, Service],
    areas: dict[str, ServiceArea],
    report: ImportReport,
    *,
    replace: bool,
) -> None:
    windows = {w.number: w for w in session.scalars(select(Window))}
    current: dict[int, dict[int, float]] = {}
    for ws in session.scalars(select(WindowService)):
        current.setdefault(ws.window_id, {})[ws.service_id] = ws.weight
    for w in docs:
        weights = {services[code].id: weight for code, weight in w.services.items()}
        row = windows.get(w.number)
        if row is None:
            row = Window(number=w.number, name=w.name, area_id=areas[w.area].id, kind=w.kind.value)
            session.add(row)
            session.flush()
            report.created["windows"] += 1
        else:
            values = {"name": w.name, "area_id": areas[w.area].id, "kind": w.kind.value}
            changed = any(getattr(row, k) != v for k, v in values.items())
            if changed or not row.active or current.get(row.id, {}) != weights:
                for k, v in values.items():
                    setattr(row, k, v)
                row.active = True
                report.updated["windows"] += 1
        if current.get(row.id, {}) != weights:
            session.execute(delete(WindowService).where(WindowService.window_id == row.id))
            session.add_all(
                WindowService(window_id=row.id, service_id=sid, weight=weight)
                for sid, weight in weights.items()
            )
    if replace:
        numbers = {w.number for w in docs}
        for number, row in windows.items():
            if number not in numbers and row.active:
                row.active = False
                session.execute(delete(WindowService).where(WindowService.window_id == row.id))
                report.retired["windows"] += 1
    session.flush()


def _import_clerks(
    session: Session,
    docs: list[ClerkDoc],
    services: dict[str, Service],
    hashed: dict[str, tuple[str, str]],
    report: ImportReport,
    *,
    replace: bool,
) -> None:
    users = {u.username: u for u in session.scalars(select(User))}
    certified: dict[int, set[int]] = {}
    for cs in session.scalars(select(ClerkService)):
        certified.setdefault(cs.user_id, set()).add(cs.service_id)
    for c in docs:
        wanted = {services[code].id for code in c.services}
        user = users.get(c.username)
        if user is None:
            # Seen by the probe but gone since (deleted meanwhile): rare, hashed here.
            password, password_hash = hashed.get(c.username) or _fresh_password()
            user = create_user(
                session,
                username=c.username,
                role=Role.CLERK,
                password=password,
                password_hash=password_hash,
                must_change_password=True,
            )
            user.display_name = c.name
            report.passwords[c.username] = password
            report.created["clerks"] += 1
        elif user.display_name != c.name or certified.get(user.id, set()) != wanted:
            user.display_name = c.name
            report.updated["clerks"] += 1
        if certified.get(user.id, set()) != wanted:
            session.execute(delete(ClerkService).where(ClerkService.user_id == user.id))
            session.add_all(ClerkService(user_id=user.id, service_id=sid) for sid in wanted)
    if replace:
        keep = {c.username for c in docs}
        for username, user in users.items():
            if username not in keep and certified.get(user.id):
                session.execute(delete(ClerkService).where(ClerkService.user_id == user.id))
                report.retired["clerks"] += 1
    session.flush()


def _fresh_password() -> tuple[str, str]:
    password = one_time_password()
    return password, hash_password(password)


def _drop_unused_areas(session: Session, keep: set[str], areas: dict[str, ServiceArea]) -> None:
    used = set(session.scalars(select(Service.area_id))) | set(
        session.scalars(select(Window.area_id))
    )
    for code, row in areas.items():
        if code not in keep and row.id not in used:
            session.delete(row)


# --- export ------------------------------------------------------------------------------


def export_hall(session: Session) -> HallDoc:
    """The hall as it is now: active services and windows, and every clerk."""
    services = list(session.scalars(select(Service).where(Service.active).order_by(Service.prefix)))
    windows = list(session.scalars(select(Window).where(Window.active).order_by(Window.number)))
    areas = list(session.scalars(select(ServiceArea).order_by(ServiceArea.sort, ServiceArea.id)))
    code_of = {s.id: s.code for s in services}
    area_code = {a.id: a.code for a in areas}
    retired_only = _areas_used_only_by_retired(session, services, windows)
    weights: dict[int, dict[str, float]] = {}
    for ws in session.scalars(select(WindowService).order_by(WindowService.weight.desc())):
        if ws.service_id in code_of:
            weights.setdefault(ws.window_id, {})[code_of[ws.service_id]] = ws.weight
    certs: dict[int, list[str]] = {}
    for cs in session.scalars(select(ClerkService)):
        if cs.service_id in code_of:
            certs.setdefault(cs.user_id, []).append(code_of[cs.service_id])
    clerks = session.scalars(
        select(User)
        .where((User.role == Role.CLERK.value) | User.id.in_(list(certs)))
        .where(User.active)
        .order_by(User.username)
    )
    return HallDoc(
        areas=[
            AreaDoc(code=a.code, name=a.name, silent_calling=a.silent_calling)
            for a in areas
            if a.id not in retired_only
        ],
        services=[
            ServiceDoc(
                code=s.code,
                name=s.name,
                area=area_code[s.area_id],
                prefix=s.prefix,
                numbers=(s.number_start, s.number_end),
                hours=format_hours(s.opens_at, s.closes_at),
                daily_cap=s.daily_cap,
                avg_minutes=round(s.avg_handling_s / 60, 2),
                notify_ahead=s.notify_ahead,
            )
            for s in services
        ],
        windows=[
            WindowDoc(
                number=w.number,
                name=w.name,
                area=area_code[w.area_id],
                kind=WindowKind(w.kind),
                services=weights.get(w.id, {}),
            )
            for w in windows
            if weights.get(w.id)
        ],
        clerks=[
            ClerkDoc(
                username=u.username,
                name=u.display_name or u.username,
                services=sorted(certs.get(u.id, [])),
            )
            for u in clerks
        ],
    )


def _areas_used_only_by_retired(
    session: Session, services: list[Service], windows: list[Window]
) -> set[int]:
    active = {s.area_id for s in services} | {w.area_id for w in windows}
    every = set(session.scalars(select(Service.area_id))) | set(
        session.scalars(select(Window.area_id))
    )
    return every - active
