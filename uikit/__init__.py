"""Kivy set-up shared by every screen of the hall: the kiosk (`kiosk_ui`), the
boards (`display.ui`) and the sign-language terminal (`signlang_terminal`).

`uikit.kivy_setup` configures Kivy before it is imported and registers the
CJK font as its default; `uikit.paint` has colours and solid backgrounds.
Importing this package imports no Kivy.
"""
