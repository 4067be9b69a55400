"""The one exception type for bad input, with file, place and problem in its message."""

from __future__ import annotations

import os


class PoseDataError(ValueError):
    """Bad input: names the file, the place in it (frame, line, key, flag) and the problem.

    ``str(err)`` reads ``"<path>: <where>: <problem>"`` with the parts that are known.
    """

    def __init__(self, problem: str, path: str | os.PathLike | None = None, where: str | None = None):
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        self.where = where
        parts = [p for p in (self.path, where, problem) if p]
        super().__init__(": ".join(parts))


def check_fps(fps: float, path: str | os.PathLike | None = None, where: str | None = None) -> float:
    """Validate a frame rate: finite, > 0 and at most ``MAX_FPS``."""
    shown = repr(fps) if len(repr(fps)) <= 40 else repr(fps)[:37] + "..."  # a 400-digit integer stays short
    try:
        value = float(fps)
    except (TypeError, ValueError, OverflowError):
        raise PoseDataError(f"fps {shown} is not a number", path, where) from None
    if not (value > 0 and value <= MAX_FPS):
        raise PoseDataError(f"fps {shown} is not in (0, {MAX_FPS:g}]", path, where)
    return value


#: Frame rates above this are treated as corrupt headers (high-speed mocap tops out near 1 kHz).
MAX_FPS = 2000.0
