"""Media of a sign-language call: tracks, the peer connection, adaptation.

Everything here imports aiortc/av/numpy lazily or is pure Python, so the
view-models and the device kind load without the ``signlang`` extra.
"""
