"""The desktop app's responsiveness, measured on the real window (run it under a virtual screen):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/bench_app.py [--sections ...]

Sections (issue 13's targets):

* ``launch``: process start to the first *lifted* skeleton painted in the 3D view (the bundled sample, warm disk
  cache), median of 5 runs of ``python -m app.main --report-first-paint`` (target <= 3 s);
* ``stall``: the longest gap of a 5 ms heartbeat timer on the UI thread while a full lift of 18,000 frames runs on
  the worker (the sample tiled; target <= 50 ms);
* ``click``: a click on a joint (``Document.toggle_joint``, what the 2D view's click handler calls) to the updated
  3D drawn (the canvas' draw event), on a 1-minute sequence: the one-pass preview, the two-pass result and the full
  world refit after it, p50 / p95 (targets: preview p95 <= 50 ms, two-pass p95 <= 100 ms);
* ``playback``: 30 s of playback at the sequence's own rate with the 2D view, the 3D view and the timeline
  updating; a frame is late when the 3D canvas drew it more than one period after it was due, or never drew it
  (target: 0 late frames);
* ``video``: issue 14's GUI target: a generated 1080p 30 fps clip of 20 s paired with a keypoint file of the same
  length (the sample tiled), played once at its own rate in the window with the skeleton over it; a video frame is
  late when the 2D view showed it (``Pose2DView.shown_video_frame``) more than one period after it was due, or
  never showed it; the 3D view's draws are counted the same way (target: 0 dropped frames).

Figures are printed; nothing is asserted (the machine is shared and noisy). Engine threads: the app's default,
max(1, cores - 1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SECTIONS = ("launch", "stall", "click", "playback", "video")
LAUNCH_RUNS = 5
HEARTBEAT_MS = 5
STALL_FRAMES = 18_000
CLICK_SECONDS = 60
CLICKS = 40
PLAYBACK_SECONDS = 30.0
VIDEO_SECONDS = 20
VIDEO_FPS = 30
VIDEO_SIZE = (1920, 1080)


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    env["MPM_STUDIO_DATA_DIR"] = str(tmp / "data")
    env["MPM_STUDIO_CONFIG_DIR"] = str(tmp / "config")
    return env


def bench_launch(runs: int = LAUNCH_RUNS) -> dict:
    """Seconds from spawning the app to its first lifted paint (the child prints the wall clock then)."""
    times = []
    for i in range(runs + 1):  # the first run warms the disk cache and is not counted
        with tempfile.TemporaryDirectory() as tmp:
            start = time.time()
            out = subprocess.run(
                [sys.executable, "-m", "app.main", "--report-first-paint"],
                cwd=REPO,
                env=_env(Path(tmp)),
                capture_output=True,
                text=True,
                timeout=180,
            )
            painted = [line for line in out.stdout.splitlines() if line.startswith("first-lifted-paint ")]
            if out.returncode != 0 or not painted:
                raise SystemExit(f"launch run failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
            if i:
                times.append(float(painted[-1].split()[1]) - start)
    return {"runs": times, "median_s": statistics.median(times)}


class _Session:
    """The real main window with the model loaded, for the in-process sections."""

    def __init__(self, size: tuple[int, int] = (1600, 960)):
        from PySide6.QtWidgets import QApplication

        self.tmp = tempfile.TemporaryDirectory()
        os.environ.update({k: v for k, v in _env(Path(self.tmp.name)).items() if k.startswith("MPM_STUDIO")})
        self.app = QApplication.instance() or QApplication([])
        from app.main_window import AppConfig, MainWindow
        from mpm_core.model.checkpoint import default_model_path, load_model

        model = load_model(default_model_path(), device="cpu")
        self.window = MainWindow(AppConfig(model=model, autosave_s=0, recovery="discard", person="longest"))
        self.window.resize(*size)
        self.window.show()
        self.window.start()
        self.doc = self.window.document
        self.wait(self.settled, 120)
        self.sample = self.doc.input

    def settled(self) -> bool:
        doc = self.doc
        return doc.scene is not None and doc.committed is doc.result and doc.result.mask == doc.mask and not doc.busy

    def wait(self, predicate, timeout_s: float) -> None:
        end = time.perf_counter() + timeout_s
        while not predicate():
            self.app.processEvents()
            if time.perf_counter() > end:
                raise SystemExit("timed out waiting for the app")
            time.sleep(0.001)

    def pump(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.app.processEvents()
            time.sleep(0.0005)

    def tiled(self, frames: int):
        """The sample repeated to ``frames`` frames (its reference too), as a new input."""
        import dataclasses

        data = self.sample
        seq = data.h36m
        reps = -(-frames // seq.num_frames)

        def tile(a):
            return None if a is None else np.concatenate([a] * reps)[:frames]

        tiled = seq.replace(keypoints=tile(seq.keypoints), scores=tile(seq.scores), visible=tile(seq.visible))
        return dataclasses.replace(
            data, sequence=tiled, h36m=tiled, reference_camera=tile(data.reference_camera), path=None
        )

    def close(self) -> None:
        self.window.close()
        self.tmp.cleanup()


def bench_stall(session: _Session, frames: int = STALL_FRAMES) -> dict:
    from PySide6.QtCore import Qt, QTimer

    beats: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(HEARTBEAT_MS)
    timer.timeout.connect(lambda: beats.append(time.perf_counter()))
    data = session.tiled(frames)

    def measure(action) -> tuple[float, float, float]:
        beats.clear()
        timer.start()
        start = time.perf_counter()
        action()
        session.wait(session.settled, 600)
        seconds = time.perf_counter() - start
        session.pump(0.1)
        timer.stop()
        gaps = np.diff(beats) * 1000.0
        return seconds, float(gaps.max()), float(np.percentile(gaps, 99))

    # A new 18,000-frame input lifted, then a full re-lift of it: a mask edit over every frame (30% of the
    # joints hidden at random), two passes on every window and the world refit.
    lift_s, lift_gap, lift_p99 = measure(lambda: session.doc.set_input(data))
    relift_s, relift_gap, relift_p99 = measure(lambda: session.doc.apply_preset("random", ratio=0.3, seed=1))
    return {
        "frames": frames,
        "lift_and_scene_s": lift_s,
        "longest_gap_ms": lift_gap,
        "p99_gap_ms": lift_p99,
        "relift_s": relift_s,
        "relift_longest_gap_ms": relift_gap,
        "relift_p99_gap_ms": relift_p99,
    }


def bench_click(session: _Session, seconds: int = CLICK_SECONDS, clicks: int = CLICKS) -> dict:
    """Click latency: time from ``toggle_joint`` to the first 3D draw showing the preview, the two-pass result and
    the world refit (classified by what the document holds when the canvas draws)."""
    from app.state import SCOPE_FRAME, VISIBLE
    from mpm_core.skeleton import H36M_JOINTS

    doc, viewport = session.doc, session.window.viewport
    data = session.tiled(int(round(seconds * session.sample.fps)))
    doc.set_input(data)
    session.wait(session.settled, 300)
    rng = np.random.default_rng(0)
    joints = [H36M_JOINTS.index(n) for n in ("left_wrist", "right_elbow", "left_knee", "right_ankle", "head")]
    latencies = {"preview": [], "final": [], "refit": []}
    after_result = {"preview": [], "final": []}  # resultChanged to drawn: the views' share of the latency
    state: dict = {}

    def on_result(lo: int, hi: int) -> None:
        if "t0" in state:
            state["pending"] = "final" if doc.result is doc.committed else "preview"
            state["t_result"] = time.perf_counter()

    def on_scene() -> None:
        if "t0" in state and state.get("final_seen") and doc.result is doc.committed:
            state["pending"] = "refit"

    def on_drawn(frame: int, t: float) -> None:
        kind = state.pop("pending", None)
        if kind is None or "t0" not in state or kind in state["seen"]:
            return
        state["seen"].add(kind)
        latencies[kind].append((t - state["t0"]) * 1000.0)
        if kind in after_result and "t_result" in state:
            after_result[kind].append((t - state["t_result"]) * 1000.0)
        if kind == "final":
            state["final_seen"] = True

    doc.resultChanged.connect(on_result)
    doc.sceneChanged.connect(on_scene)
    viewport.frameDrawn.connect(on_drawn)
    for _ in range(clicks):
        frame = int(rng.integers(0, doc.num_frames))
        doc.set_frame(frame)
        seen = [j for j in joints if doc.states(frame, frame + 1)[0, j] == VISIBLE]
        if not seen:
            continue
        session.pump(0.05)
        state.clear()
        state["seen"] = set()
        state["t0"] = time.perf_counter()
        doc.toggle_joint(int(rng.choice(seen)), SCOPE_FRAME)
        session.wait(lambda: session.settled() and "refit" in state["seen"], 30)
        session.pump(0.05)
    for sig, slot in ((doc.resultChanged, on_result), (doc.sceneChanged, on_scene), (viewport.frameDrawn, on_drawn)):
        sig.disconnect(slot)

    def pct(values, q):
        return float(np.percentile(values, q)) if values else float("nan")

    return {
        "frames": data.num_frames,
        "clicks": clicks,
        **{f"{k}_p50_ms": pct(v, 50) for k, v in latencies.items()},
        **{f"{k}_p95_ms": pct(v, 95) for k, v in latencies.items()},
        "previews_drawn": len(latencies["preview"]),
        **{f"{k}_views_p50_ms": pct(v, 50) for k, v in after_result.items()},
        **{f"{k}_views_p95_ms": pct(v, 95) for k, v in after_result.items()},
    }


def bench_playback(session: _Session, seconds: float = PLAYBACK_SECONDS) -> dict:
    doc, viewport, playback = session.doc, session.window.viewport, session.window.playback
    doc.set_input(session.sample)
    session.wait(session.settled, 120)
    drawn: list[tuple[int, float, tuple]] = []
    viewport.frameDrawn.connect(lambda f, t: drawn.append((f, t, playback.schedule())))
    playback.loop = True
    doc.set_frame(0)
    session.pump(0.2)
    drawn.clear()
    playback.play()
    start = time.perf_counter()
    if viewport.drawn_frame == doc.frame:  # the first frame is on screen already when play starts: on time
        drawn.append((doc.frame, start, playback.schedule()))
    session.pump(seconds)
    playback.pause()
    fps = doc.input.fps
    period = 1.0 / fps
    # Every frame due within the run, per schedule run (a loop starts a new one): on time if drawn within a period.
    on_time = set()
    for frame, t, (t0, frame0, rate) in drawn:
        due = t0 + (frame - frame0) / rate
        if t0 >= start - 1 and t - due <= period:
            on_time.add((round(t0, 6), frame))
    due_frames = int(seconds * fps * playback.speed)
    return {
        "fps": fps,
        "seconds": seconds,
        "frames_due": due_frames,
        "frames_drawn": len(drawn),
        "late_or_skipped": max(0, due_frames - len(on_time)),
    }


def make_video(path: Path, frames: int, fps: int = VIDEO_FPS, size: tuple[int, int] = VIDEO_SIZE) -> Path:
    """An H.264 clip of ``frames`` frames at ``fps``, ``size`` (W, H) pixels: moving gradients and the frame
    number as a row of bars (real pixels to decode, quick to make)."""
    import av

    w, h = size
    ramp_x = ((np.arange(w) * 255) // w).astype(np.uint8)
    ramp_y = ((np.arange(h) * 255) // h).astype(np.uint8)
    img = np.empty((h, w, 3), np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(2 * fps)}
        for i in range(frames):
            img[..., 0] = ramp_x[None, :] + np.uint8(i % 256)
            img[..., 1] = ramp_y[:, None]
            img[..., 2] = 80
            for bit in range(12):  # the frame number in binary, as bars along the top
                img[: h // 27, bit * w // 32 : (bit + 1) * w // 32 - 8] = 255 if i >> bit & 1 else 0
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _late(shown: list[tuple[int, float]], schedule: tuple, frames: range, period: float) -> int:
    """Frames of ``frames`` not shown within ``period`` after they were due (``schedule`` = (t0, frame0, rate))."""
    t0, frame0, rate = schedule
    first = {}
    for frame, t in shown:
        first.setdefault(frame, t)
    return sum(1 for f in frames if f not in first or first[f] - (t0 + (f - frame0) / rate) > period)


def bench_video(session: _Session, seconds: int = VIDEO_SECONDS) -> dict:
    """Play a 1080p clip paired with keypoints of the same length once; count late or skipped frames of the video
    under the 2D skeleton and of the 3D view."""
    doc, window, playback = session.doc, session.window, session.window.playback
    view2d, viewport = window.view2d, window.viewport
    fps = session.sample.fps
    frames = int(round(seconds * fps))
    with tempfile.TemporaryDirectory() as tmp:
        made = time.perf_counter()
        clip = make_video(Path(tmp) / "clip_1080p.mp4", frames, fps=int(round(fps)))
        made = time.perf_counter() - made
        doc.set_input(session.tiled(frames))
        session.wait(session.settled, 300)
        window.pair_video_path(clip)
        session.wait(lambda: view2d.shown_video_frame == view2d.video_frame_of(0), 60)
        drawn: list[tuple[int, float]] = []
        on_drawn = lambda f, t: drawn.append((f, t))  # noqa: E731
        viewport.frameDrawn.connect(on_drawn)
        playback.loop = False
        session.pump(0.3)
        shown: list[tuple[int, float]] = []
        drawn.clear()
        playback.play()
        schedule = playback.schedule()
        last = view2d.shown_video_frame
        # The first frame is on screen already when play starts (video and 3D): it is on time.
        if last == view2d.video_frame_of(schedule[1]):
            shown.append((schedule[1], schedule[0]))
        if viewport.drawn_frame == schedule[1]:
            drawn.append((schedule[1], schedule[0]))
        end = time.perf_counter() + seconds + 2.0
        while playback.playing and time.perf_counter() < end:
            session.app.processEvents()
            if view2d.shown_video_frame != last:  # a new video frame under the skeleton
                last = view2d.shown_video_frame
                shown.append((last - view2d.video_frame_of(0), time.perf_counter()))
            time.sleep(0.0005)
        session.pump(0.2)
        playback.pause()
        viewport.frameDrawn.disconnect(on_drawn)
        doc.set_input(session.sample)
        session.wait(session.settled, 120)
    period = 1.0 / fps
    due = range(schedule[1], frames)
    return {
        "frames": len(due),
        "fps": fps,
        "clip_s": made,
        "video_shown": len({f for f, _ in shown}),
        "video_late": _late(shown, schedule, due, period),
        "drawn_3d": len(drawn),
        "late_3d": _late(drawn, schedule, due, period),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    args = parser.parse_args()
    sections = [s for s in args.sections.split(",") if s]
    print(f"machine: {os.cpu_count()} cores; engine threads: the app's default")
    if "launch" in sections:
        r = bench_launch()
        runs = ", ".join(f"{t:.2f}" for t in r["runs"])
        print(f"launch to first lifted paint: median {r['median_s']:.2f} s (runs: {runs}) [target <= 3 s]")
    inproc = [s for s in sections if s != "launch"]
    if not inproc:
        return
    session = _Session()  # the app calls gc.freeze() itself once the model has loaded
    try:
        if "stall" in inproc:
            r = bench_stall(session)
            print(
                f"UI stall during a full lift of {r['frames']} frames ({r['lift_and_scene_s']:.1f} s incl. world"
                f" fit): longest heartbeat gap {r['longest_gap_ms']:.1f} ms, p99 {r['p99_gap_ms']:.1f} ms"
                f" [target <= 50 ms]; full re-lift after a mask edit over every frame ({r['relift_s']:.1f} s):"
                f" longest gap {r['relift_longest_gap_ms']:.1f} ms, p99 {r['relift_p99_gap_ms']:.1f} ms"
            )
        if "click" in inproc:
            r = bench_click(session)
            print(
                f"click to 3D drawn, {r['frames']} frames, {r['clicks']} clicks: preview p50 {r['preview_p50_ms']:.1f}"
                f" / p95 {r['preview_p95_ms']:.1f} ms [p95 <= 50]; two-pass p50 {r['final_p50_ms']:.1f} / p95"
                f" {r['final_p95_ms']:.1f} ms [p95 <= 100]; world refit drawn p50 {r['refit_p50_ms']:.1f} / p95"
                f" {r['refit_p95_ms']:.1f} ms (previews drawn: {r['previews_drawn']}); of which resultChanged to"
                f" 3D drawn (the views' share): preview p50 {r['preview_views_p50_ms']:.1f} / p95"
                f" {r['preview_views_p95_ms']:.1f} ms, two-pass p50 {r['final_views_p50_ms']:.1f} / p95"
                f" {r['final_views_p95_ms']:.1f} ms"
            )
        if "playback" in inproc:
            load = " ".join(f"{v:.1f}" for v in os.getloadavg())
            r = bench_playback(session)
            print(
                f"playback {r['seconds']:.0f} s at {r['fps']:g} fps: {r['frames_due']} frames due,"
                f" {r['frames_drawn']} draws, late or skipped: {r['late_or_skipped']} [target 0]"
                f" (load average {load}; 3D drawn via {getattr(session.window.viewport, 'draw_path', '?')})"
            )
        if "video" in inproc:
            load = " ".join(f"{v:.1f}" for v in os.getloadavg())
            r = bench_video(session)
            print(
                f"video 1080p {r['fps']:g} fps, {r['frames']} frames with the skeleton over it (clip made in"
                f" {r['clip_s']:.0f} s): video frames shown {r['video_shown']}, late or skipped {r['video_late']};"
                f" 3D draws {r['drawn_3d']}, late or skipped {r['late_3d']} [target 0] (load average {load})"
            )
    finally:
        session.close()


if __name__ == "__main__":
    main()
