"""The recording of a sign-language call, as the terminal reports it to the hub.

A terminal records a call only when its `broker.signalling.Request` carried
``consent_recording=true`` (docs/interpreting.md, "Recording"). Each
recorded segment (a call is one segment; a console reload that makes the
terminal offer again starts the next) is reported once it ends as a device
event through the terminal's durable outbox (MQTT):

- ``recording_saved``: ``request_id``, ``segment``, ``file`` (the file's name
  in the terminal's recordings directory), ``bytes``, ``duration_s``;
- ``recording_failed``: the same with a ``reason`` (Chinese, shown to the
  hall's managers); ``file`` names what was written before the failure, if
  anything.

The hub validates the event data with `RecordingReport` and the name with
`report_of`; anything else is rejected with a logged reason.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

SAVED: Final = "recording_saved"
FAILED: Final = "recording_failed"
EVENTS: Final = (SAVED, FAILED)
ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
FILE_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}-[0-9]{1,3}\.[a-z0-9]{2,4}$"


class RecordingReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(pattern=ID_PATTERN, description="the call's request id (from the hub)")
    segment: int = Field(ge=1, le=999, description="1 for the call, 2… after each new offer")
    file: str | None = Field(None, pattern=FILE_PATTERN, description="file name, no directory")
    bytes: int = Field(0, ge=0, le=10**12)
    duration_s: float = Field(0.0, ge=0, le=86_400)
    reason: str | None = Field(None, min_length=1, max_length=200, description="why it failed")

    @model_validator(mode="after")
    def _consistent(self) -> RecordingReport:
        if self.reason is None and self.file is None:
            raise ValueError("a saved recording names its file")
        if self.file is not None and not self.file.startswith(f"{self.request_id}-{self.segment}."):
            raise ValueError("the file name is not the request id and segment")
        return self

    @property
    def saved(self) -> bool:
        return self.reason is None

    @property
    def event_name(self) -> str:
        return SAVED if self.saved else FAILED

    def event_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def report_of(name: str, data: dict[str, Any]) -> RecordingReport:
    """The report in an event named `name` (ValueError or pydantic's
    ValidationError when it is not a well-formed recording report)."""
    if name not in EVENTS:
        raise ValueError(f"not a recording event: {name!r}")
    report = RecordingReport.model_validate(data)
    if report.event_name != name:
        raise ValueError(f"{name} {'without' if name == FAILED else 'with'} a reason")
    return report
