"""The terminal's Kivy screens: a thin layer over `signlang_terminal.viewmodel`."""
