"""signlang_terminal"""
