"""Run the kiosk UI on this machine with in-process fakes (no hub, no printer):

    python -m kiosk_ui --demo                  # portrait 1080×1920 window
    python -m kiosk_ui --demo --landscape      # 1920×1080
    python -m kiosk_ui --demo --elderly --require-id --paper-out --offline

The demo reads the demo matter library and the demo hall; tickets come from
`kiosk_ui.fakes.FakeTicketSource`, printing goes to `printer.service` with a
file transport when that package is present (else to the in-memory fake).
绿色通道 staff code in the demo: 2468.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_LIBRARY = ROOT / "central" / "matters" / "demo_library.json"
DEMO_HALL = ROOT / "central" / "queueing" / "demo_hall.yaml"
DEMO_FREQUENT = (
    "individual_business_setup",
    "company_setup",
    "property_transfer",
    "housing_fund_withdrawal",
    "offsite_medical_filing",
    "id_card_renewal",
)


def demo_printer(paper_out: bool, out_dir: Path) -> Any:
    """The real printer service writing to a file when it exists, else the fake."""
    from printer.api import PrinterState

    if not paper_out:
        try:
            from printer.service import TicketPrinter
            from printer.settings import PrinterSettings

            out_dir.mkdir(parents=True, exist_ok=True)
            settings = PrinterSettings(transport="file", path=out_dir / "kiosk-tickets.bin")
            return TicketPrinter(settings)
        except Exception as exc:  # the printer package or its extra is not installed
            print(f"printer.service unavailable ({exc}); using the in-memory printer")
    from kiosk_ui.fakes import FakePrinter

    return FakePrinter(PrinterState.PAPER_OUT if paper_out else PrinterState.OK)


def demo_parts(
    *,
    paper_out: bool = False,
    offline: bool = False,
    real_hours: bool = False,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Everything `run_kiosk` needs, made up for a demonstration."""
    from broker.contract import HallQueue
    from kiosk_ui.fakes import FakeTicketSource
    from kiosk_ui.viewmodels.offer import HallOffer, LibrarySource

    library = LibrarySource.from_file(DEMO_LIBRARY)
    offer = HallOffer.from_yaml(DEMO_HALL, hall_name="演示区政务服务中心")
    if not real_hours:
        offer = offer.always_open()
    rng = random.Random(7)
    queues = {}
    for code, s in offer.services.items():
        waiting = rng.randint(0, 14)
        queues[code] = HallQueue(
            service=code,
            name=s.name,
            prefix=s.prefix,
            waiting=waiting,
            open_windows=2,
            estimated_wait_min=waiting * 4,
        )
    source = FakeTicketSource(
        offer,
        online_flag=not offline,
        waiting={c: q.waiting for c, q in queues.items()},
    )
    output = demo_printer(paper_out, out_dir or ROOT / "var" / "kiosk-prints")
    return {
        "source": source,
        "output": output,
        "library": library,
        "offer": offer,
        "queues": queues,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk_ui", description="安心大厅 取号机界面")
    parser.add_argument("--demo", action="store_true", help="run with in-process fakes")
    parser.add_argument("--landscape", action="store_true", help="1920×1080 instead of 1080×1920")
    parser.add_argument("--elderly", action="store_true", help="start in 长者模式")
    parser.add_argument(
        "--require-id", action="store_true", help="ask for the 身份证 before tickets"
    )
    parser.add_argument("--paper-out", action="store_true", help="printer out of paper (e-ticket)")
    parser.add_argument("--offline", action="store_true", help="tickets from the offline block")
    parser.add_argument("--real-hours", action="store_true", help="keep the hall's opening hours")
    parser.add_argument("--fullscreen", action="store_true")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="window size factor (0.5 on a laptop)"
    )
    args = parser.parse_args(argv)
    if not args.demo:
        parser.error("only --demo runs standalone; devices run it via `anxin device kiosk --ui`")
    from kiosk_ui.app import run_kiosk
    from kiosk_ui.viewmodels.kiosk import KioskSettings
    from uikit.kivy_setup import SIZES

    orientation = "landscape" if args.landscape else "portrait"
    width, height = SIZES[orientation]
    parts = demo_parts(paper_out=args.paper_out, offline=args.offline, real_hours=args.real_hours)
    settings = KioskSettings(
        hall_name=parts["offer"].hall_name,
        elderly_default=args.elderly,
        require_id=args.require_id,
        staff_code="2468",
        frequent=DEMO_FREQUENT,
        orientation=orientation,
    )
    run_kiosk(
        settings=settings,
        size=(round(width * args.scale), round(height * args.scale)),
        fullscreen=args.fullscreen,
        **parts,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
