"""ESC/POS ticket printing for the kiosk (see docs/printer.md).

- `printer.api`: what the kiosk asks (`TicketOutput`, contents, `PrintOutcome`).
- `printer.settings`: `PrinterSettings` (transport, profile, paper width).
- `printer.render`: ticket / checklist → ESC/POS bytes (python-escpos ``Dummy``),
  Chinese as GB18030 in ``FS &`` … ``FS .`` (`printer.gb18030`) or as raster images.
- `printer.transports`: file, serial (pyserial URL), raw TCP 9100, USB, sim.
- `printer.status`: real-time status (``DLE EOT``) → `PrinterState`.
- `printer.service`: `TicketPrinter`, the `TicketOutput` on a printer.
- `printer.preview`: ESC/POS bytes → PNG, for tests and the admin reprint page.
"""
