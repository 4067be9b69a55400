"""The Qt binding must not leak references to None/True: PySide6 6.12.0 lost one per signal emit and per Python
paint override, and the app aborted after ~20 s of playback ("Fatal Python error: bool_dealloc")."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QObject, Signal  # noqa: E402

EMITS = 5000


class _Emitter(QObject):
    ticked = Signal(int)
    flagged = Signal(bool)


def test_signal_emits_keep_the_reference_counts_of_none_and_true():
    emitter = _Emitter()
    emitter.ticked.connect(lambda i: None)
    emitter.flagged.connect(lambda b: None)
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for i in range(EMITS):
        emitter.ticked.emit(i)
        emitter.flagged.emit(True)
    # A few references may come and go with the interpreter's own objects; a leak loses one per emit.
    assert abs(sys.getrefcount(True) - true_before) < EMITS // 10
    assert abs(sys.getrefcount(None) - none_before) < EMITS // 10
