"""Log setup of the hub process: the project's text/JSON logs, with uvicorn routed through them."""

from __future__ import annotations

import logging

from anxin import logs
from anxin.settings import Settings

JsonFormatter = logs.JsonFormatter


def configure_logging(settings: Settings) -> None:
    """Text or JSON lines (``settings.log_format``) for everything the hub logs."""
    logs.configure_logging(settings, process="hub")
    # uvicorn installs handlers of its own unless told otherwise (we pass
    # log_config=None); make sure its records reach the root handler only once.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
