"""Errors meant for the user: one line saying what was wrong, one hint saying how to fix it."""

from __future__ import annotations


class VidgenError(Exception):
    """An error caused by the user's input (a config, a path, a file).

    The CLI prints ``error: <message>`` and ``hint: <hint>`` instead of a traceback.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class ConfigError(VidgenError):
    """A bad configuration: unknown key, wrong type, missing file."""


class DataError(VidgenError):
    """A dataset that cannot be used: missing path, no usable video, bad file."""
