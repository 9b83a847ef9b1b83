"""Legacy serial LED board configuration (`LedBoardSettings`).

``kind = "serial"`` puts it in the device settings' discriminated union next
to the simulated port. Only pydantic is imported here: the settings module of
every role loads this file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Protocol = Literal["alpha", "plain"]
Encoding = Literal["gb2312", "gb18030"]

# pyserial's URL handlers (serial.protocol_handler_*) a board can sit behind.
_URL_SCHEMES = {"loop", "socket", "rfc2217", "spy", "alt", "hwgrep"}

# Alpha display modes (Alpha Sign Communications Protocol, "Mode Code").
ALPHA_MODES = {
    "rotate": "a",
    "hold": "b",
    "flash": "c",
    "roll_up": "e",
    "roll_down": "f",
    "roll_left": "g",
    "roll_right": "h",
    "scroll": "m",
    "auto": "o",
}


class LedBoardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["serial"] = "serial"
    url: str = Field(
        description="serial port or pyserial URL: /dev/ttyUSB0, COM3, rfc2217://host:port, loop://",
        min_length=1,
    )
    baudrate: int = Field(9600, gt=0, description="serial speed")
    parity: Literal["N", "E", "O"] = Field("N", description="parity (8 data bits always)")
    stopbits: Literal[1, 2] = Field(1, description="stop bits")
    protocol: Protocol = Field("alpha", description="alpha (framed) or plain (text + CRLF)")
    address: str = Field(
        "00", description='alpha: sign address, two hex digits ("00" = every sign on the line)'
    )
    file_label: str = Field("A", description="alpha: TEXT file label the board shows")
    mode: str = Field("hold", description=f"alpha: display mode ({', '.join(ALPHA_MODES)})")
    width: int = Field(
        16, ge=2, le=512, description="columns of the board; a Chinese character takes two"
    )
    rows: int = Field(1, ge=1, le=2, description="text rows the board shows at once (alpha: 1-2)")
    overflow: Literal["wrap", "truncate"] = Field(
        "wrap", description="a line wider than the board: wrap onto more pages, or cut it"
    )
    encoding: Encoding | None = Field(
        None, description="Chinese text encoding (default: alpha gb2312, plain gb18030)"
    )
    timeout_s: float = Field(2.0, gt=0, description="write timeout")

    @model_validator(mode="after")
    def _check(self) -> LedBoardSettings:
        scheme = self.url.split("://", 1)[0] if "://" in self.url else None
        if scheme is not None and scheme not in _URL_SCHEMES:
            raise ValueError(
                f"serial_board.url {self.url!r}: unknown scheme {scheme!r}; use a device path "
                f"(/dev/ttyUSB0) or one of {', '.join(s + '://' for s in sorted(_URL_SCHEMES))}"
            )
        if len(self.address) != 2 or any(c not in "0123456789ABCDEFabcdef" for c in self.address):
            raise ValueError(f"serial_board.address must be two hex digits, not {self.address!r}")
        if len(self.file_label) != 1 or not 0x20 <= ord(self.file_label) <= 0x7E:
            raise ValueError(
                f"serial_board.file_label must be one ASCII character, not {self.file_label!r}"
            )
        if self.file_label == "0":
            raise ValueError('serial_board.file_label "0" is the priority file; choose A-Z')
        if self.mode not in ALPHA_MODES:
            raise ValueError(
                f"serial_board.mode {self.mode!r} unknown; one of {', '.join(ALPHA_MODES)}"
            )
        return self

    @property
    def text_encoding(self) -> Encoding:
        if self.encoding is not None:
            return self.encoding
        return "gb2312" if self.protocol == "alpha" else "gb18030"

    def describe(self) -> str:
        return f"{self.protocol}:{self.url}@{self.baudrate}"
