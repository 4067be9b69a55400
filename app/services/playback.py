"""Playback of the open sequence at its own frame rate, by the wall clock.

A precise timer ticks several times per frame period; each tick shows the frame due *now*
(``frame0 + (now - t0) * fps * speed``). A slow draw therefore skips frames instead of drifting: the clip keeps its
real duration whatever the views cost. ``schedule()`` exposes the current run (t0, frame0, rate) so a benchmark can
tell how late each drawn frame was. With a frame-range selection under the playhead, playback stays inside it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence

#: Speeds offered by the transport (multiples of the sequence's own rate).
SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0)
MIN_SPEED, MAX_SPEED = SPEEDS[0], SPEEDS[-1]
#: Timer ticks per frame period: a due frame is noticed within an eighth of a period (4 ms at 30 fps).
TICKS_PER_FRAME = 8
#: The shortest timer interval (ms); below it the event loop gains nothing.
MIN_TICK_MS = 2
#: How often the shown frame rate is reported (seconds of clock).
FPS_REPORT_S = 1.0
#: Frames one Shift+arrow press steps.
BIG_STEP = 10


class Playback(QObject):
    """Play / pause / step / loop / speed for a ``Document``. Signals ``playingChanged(bool)``,
    ``fpsMeasured(float)`` (frames actually shown per second of clock, about once a second while playing),
    ``loopChanged(bool)``, ``speedChanged(float)``.

    ``clock``: seconds, monotonic (``time.perf_counter``; tests inject a fake one and call ``tick()``).
    """

    playingChanged = Signal(bool)
    fpsMeasured = Signal(float)
    loopChanged = Signal(bool)
    speedChanged = Signal(float)

    def __init__(self, document, parent: QObject | None = None, clock: Callable[[], float] = time.perf_counter):
        super().__init__(parent if parent is not None else document)
        self.document = document
        self.clock = clock
        self.playing = False
        self.loop = False
        self.speed = 1.0
        self._t0 = 0.0
        self._frame0 = 0
        self._range = (0, 0)  # frames [lo, hi) this run plays through
        self._shown = 0  # frames shown since the last fps report
        self._report_t = 0.0
        self._setting_frame = False
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.tick)
        document.frameChanged.connect(self._on_frame_changed)
        document.inputChanged.connect(self.pause)
        self._actions: list[QAction] = []

    # -- the clock ----------------------------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        """The sequence's own rate (frames per second), 0 without an input."""
        data = self.document.input
        return 0.0 if data is None else float(data.fps)

    @property
    def rate(self) -> float:
        """Frames per second of clock this run plays: the sequence's rate times the speed."""
        return self.fps * self.speed

    def schedule(self) -> tuple[float, int, float]:
        """``(t0, frame0, rate)`` of the current run: frame ``f`` is due at ``t0 + (f - frame0) / rate`` seconds of
        ``clock`` (``time.perf_counter`` by default). It changes on play, seek, step, speed change and loop."""
        return self._t0, self._frame0, self.rate

    def due(self, frame: int) -> float:
        """When ``frame`` is due in the current run (clock seconds)."""
        t0, frame0, rate = self.schedule()
        return t0 + (frame - frame0) / rate if rate > 0 else math.inf

    def _anchor(self, frame: int) -> None:
        """Restart the schedule at ``frame``, now."""
        self._t0, self._frame0 = self.clock(), int(frame)

    def _play_range(self) -> tuple[int, int]:
        doc = self.document
        sel = doc.selected_frames
        if sel is not None and sel[0] <= doc.frame < sel[1] and sel[1] - sel[0] > 1:
            return sel
        return 0, doc.num_frames

    # -- transport ----------------------------------------------------------------------------------------------
    def play(self) -> None:
        doc = self.document
        if self.playing or doc.input is None or doc.num_frames < 2 or self.fps <= 0:
            return
        self._range = self._play_range()
        lo, hi = self._range
        if doc.frame >= hi - 1:  # at the end: play again from the start
            self._set_frame(lo)
        self._anchor(doc.frame)
        self._shown, self._report_t = 0, self._t0
        self.playing = True
        self._timer.start(self._interval_ms())
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if not self.playing:
            return
        self.playing = False
        self._timer.stop()
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def step(self, n: int) -> None:
        """Move ``n`` frames (negative: back); while playing, the run continues from there."""
        doc = self.document
        if doc.input is None:
            return
        self._set_frame(doc.frame + int(n))
        self._anchor(doc.frame)

    def go_to_start(self) -> None:
        self._seek(self._play_range()[0] if self.playing else 0)

    def go_to_end(self) -> None:
        self._seek((self._play_range()[1] if self.playing else self.document.num_frames) - 1)

    def _seek(self, frame: int) -> None:
        self._set_frame(frame)
        self._anchor(self.document.frame)

    def set_loop(self, loop: bool) -> None:
        loop = bool(loop)
        if loop != self.loop:
            self.loop = loop
            self.loopChanged.emit(loop)

    def set_speed(self, speed: float) -> None:
        """Playback speed, clamped to 0.25x-2x; a running run continues from the current frame."""
        speed = min(MAX_SPEED, max(MIN_SPEED, float(speed)))
        if speed == self.speed:
            return
        self.speed = speed
        if self.playing:
            self._anchor(self.document.frame)
            self._timer.setInterval(self._interval_ms())
        self.speedChanged.emit(speed)

    def _interval_ms(self) -> int:
        rate = self.rate
        return MIN_TICK_MS if rate <= 0 else max(MIN_TICK_MS, int(1000.0 / (rate * TICKS_PER_FRAME)))

    # -- the tick -----------------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Show the frame due now (skipping any a late tick missed); at the end, loop or stop."""
        if not self.playing:
            return
        doc = self.document
        now = self.clock()
        lo, hi = self._range
        due = self._frame0 + int(math.floor((now - self._t0) * self.rate + 1e-9))
        if due >= hi:
            if self.loop and hi - lo > 1:
                # Keep the schedule continuous across the wrap: the run restarts at lo when hi was due.
                span = hi - lo
                laps = (due - lo) // span
                self._t0 += (lo + laps * span - self._frame0) / self.rate
                self._frame0 = lo
                due = lo + (due - lo) % span
            else:
                self._set_frame(hi - 1)
                self._report(now)
                self.pause()
                return
        if due != doc.frame:
            self._set_frame(due)
        self._report(now)

    def _report(self, now: float) -> None:
        if now - self._report_t >= FPS_REPORT_S:
            self.fpsMeasured.emit(self._shown / (now - self._report_t))
            self._shown, self._report_t = 0, now

    def _set_frame(self, frame: int) -> None:
        doc = self.document
        before = doc.frame
        self._setting_frame = True
        try:
            doc.set_frame(frame)
        finally:
            self._setting_frame = False
        if doc.frame != before and self.playing:
            self._shown += 1

    def _on_frame_changed(self, frame: int) -> None:
        """Someone else moved the frame (a scrub, a click): a running run continues from there."""
        if self.playing and not self._setting_frame:
            lo, hi = self._range
            if not lo <= frame < hi:
                self._range = (0, self.document.num_frames)
            self._anchor(frame)

    # -- actions ------------------------------------------------------------------------------------------------
    def actions(self) -> list[QAction]:
        """The transport as actions with their keyboard shortcuts (the window adds them to its View menu)."""
        if self._actions:
            return self._actions

        def action(text: str, keys, slot, checkable: bool = False) -> QAction:
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(k) for k in keys])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.setCheckable(checkable)
            (act.toggled if checkable else act.triggered).connect(slot)
            self._actions.append(act)
            return act

        self.play_action = action("Play / pause", ["Space"], lambda *_: self.toggle())
        self.play_action.setObjectName("playback.play")
        action("Previous frame", ["Left"], lambda *_: self.step(-1)).setObjectName("playback.back")
        action("Next frame", ["Right"], lambda *_: self.step(1)).setObjectName("playback.forward")
        action(f"Back {BIG_STEP} frames", ["Shift+Left"], lambda *_: self.step(-BIG_STEP)).setObjectName(
            "playback.back10"
        )
        action(f"Forward {BIG_STEP} frames", ["Shift+Right"], lambda *_: self.step(BIG_STEP)).setObjectName(
            "playback.forward10"
        )
        action("First frame", ["Home"], lambda *_: self.go_to_start()).setObjectName("playback.start")
        action("Last frame", ["End"], lambda *_: self.go_to_end()).setObjectName("playback.end")
        self.loop_action = action("Loop", ["L"], self.set_loop, checkable=True)
        self.loop_action.setObjectName("playback.loop")
        self.loopChanged.connect(self.loop_action.setChecked)
        return self._actions
