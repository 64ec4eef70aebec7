"""Gravity Desk's desktop face: tray, windows and Qt models over core (PySide6)."""
