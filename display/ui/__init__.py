"""The hall boards' Kivy screens (a thin layer over `display.board`)."""
