"""Widgets of the main window; each takes plain ``core`` types and emits Qt signals."""
