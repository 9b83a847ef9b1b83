"""Printer configuration (`PrinterSettings`).

One model for every transport; only the fields of the chosen transport are
read. ``kind`` lets the device settings put it in a discriminated union next
to the simulated port (``kind = "sim"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

Transport = Literal["file", "serial", "network", "usb", "sim"]
Profile = Literal["gb18030", "raster"]


class PrinterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["escpos"] = "escpos"
    transport: Transport = Field("file", description="file, serial, network, usb or sim")
    # file
    path: Path | None = Field(None, description="file or device node (e.g. /dev/usb/lp0)")
    # serial (pyserial URL: /dev/ttyUSB0, COM3, socket://host:port, loop://)
    url: str | None = Field(None, description="serial port or pyserial URL")
    baudrate: int = Field(19200, gt=0, description="serial speed")
    flow: Literal["none", "rtscts", "xonxoff"] = Field("none", description="serial flow control")
    # network (raw TCP, usually port 9100)
    host: str | None = Field(None, description="printer host for raw TCP")
    port: int = Field(9100, ge=1, le=65535, description="raw TCP port")
    # usb
    usb_vendor: int | None = Field(None, description="USB vendor id, e.g. 0x0416")
    usb_product: int | None = Field(None, description="USB product id")
    usb_in_ep: int = Field(0x81, description="USB bulk IN endpoint")
    usb_out_ep: int = Field(0x03, description="USB bulk OUT endpoint")

    profile: Profile = Field(
        "gb18030", description="gb18030: printer's Chinese font (FS &); raster: text as images"
    )
    width_dots: int = Field(576, ge=192, le=832, description="576 for 80 mm paper, 384 for 58 mm")
    font_path: Path = Field(DEFAULT_FONT, description="CJK font for raster text and previews")
    read_status: bool = Field(
        True, description="ask real-time status (DLE EOT) where the transport can read"
    )
    timeout_s: float = Field(3.0, gt=0, description="connect / write timeout")
    status_timeout_s: float = Field(0.5, gt=0, description="wait for one status byte")
    confirm_s: float = Field(
        1.0, ge=0, description="after a job, watch the status this long before calling it printed"
    )

    @model_validator(mode="after")
    def _transport_fields(self) -> PrinterSettings:
        needed = {
            "file": ("path", self.path),
            "serial": ("url", self.url),
            "network": ("host", self.host),
            "usb": ("usb_vendor", self.usb_vendor),
            "sim": ("", True),
        }[self.transport]
        if needed[1] is None:
            raise ValueError(f"transport {self.transport!r} needs {needed[0]}")
        if self.transport == "usb" and self.usb_product is None:
            raise ValueError("transport 'usb' needs usb_product")
        return self

    @property
    def columns(self) -> int:
        """Half-width (ASCII, font A 12x24) columns at normal size."""
        return self.width_dots // 12

    def describe(self) -> str:
        if self.transport == "file":
            return f"file:{self.path}"
        if self.transport == "serial":
            return f"serial:{self.url}@{self.baudrate}"
        if self.transport == "network":
            return f"tcp://{self.host}:{self.port}"
        if self.transport == "sim":
            return "sim"
        return f"usb:{self.usb_vendor:04x}:{self.usb_product:04x}"
