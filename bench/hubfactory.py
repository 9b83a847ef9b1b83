"""The hub app as a zero-argument factory, so that the benchmarks can run it as
several uvicorn worker processes sharing one database
(``uvicorn --factory bench.hubfactory:app_from_env --workers 2``).

`anxin hub` runs one process; this is the only difference from it.
"""

from __future__ import annotations

from fastapi import FastAPI

from anxin.settings import load_settings
from central.app import create_app


def app_from_env() -> FastAPI:
    """The hub app; settings from ``ANXIN_*`` variables (the database must be migrated)."""
    return create_app(load_settings())
