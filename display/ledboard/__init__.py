"""Drivers for legacy serial LED boards (与原有电子显示屏碰口): the Alpha Sign
Communications Protocol and a plain-text fallback, over pyserial."""
