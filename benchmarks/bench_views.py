"""Per-frame cost of the views during playback, in the real window (run it under a virtual screen):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/bench_views.py [--frames N] [--video]

Each step is what a playback tick does: ``doc.set_frame(i)`` then ``app.processEvents()`` (the views repaint
inside it). On a shared, loaded machine wall time is noisy, so the cost is also reported as CPU time: this
process's (``time.process_time``: every thread, Mesa's llvmpipe threads included) and the X server's (Xvfb is a
separate process: its ``/proc/PID/stat`` utime + stime, 10 ms ticks, so read over the whole run).

Configurations (``--configs``): ``window`` (everything shown), ``no3d`` (the 3D view hidden), ``plots`` (the side
dock's Plots tab shown instead of the Mask tab), and per-view slot
costs (``slots``: each view's frame handler called alone, Python + GL work without the event loop). ``--video``
pairs a generated 1080p 30 fps clip with the sample so the 2D view shows video frames under the skeleton.
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_app import _Session  # noqa: E402 (the window session both benchmarks drive)

CONFIGS = ("window", "no3d", "slots")
PROFILE: str | None = None
CLOCK_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def x_server_pid() -> int | None:
    """The Xvfb / X process serving ``$DISPLAY`` (None when not found)."""
    display = os.environ.get("DISPLAY", "")
    if not display:
        return None
    number = display.split(":")[-1].split(".")[0]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith((b"Xvfb", b"Xorg", b"X")) and f":{number}".encode() in cmd:
            return int(entry.name)
    return None


def cpu_seconds(pid: int | None) -> float:
    """utime + stime of ``pid`` in seconds (0 when unknown)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_S


PAINTS: dict | None = None


def _timing_app():
    """A QApplication whose ``notify`` adds up the CPU time of each widget class's paint events (``--paints``).
    Each widget's paint event goes through ``notify`` on its own, so the times are exclusive."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    class TimingApp(QApplication):
        def notify(self, receiver, event):
            if PAINTS is None or event.type() != QEvent.Type.Paint:
                return super().notify(receiver, event)
            c = time.process_time()
            try:
                return super().notify(receiver, event)
            finally:
                name = type(receiver).__name__
                total, count = PAINTS.get(name, (0.0, 0))
                PAINTS[name] = (total + time.process_time() - c, count + 1)

    return TimingApp([])


class Window(_Session):
    """The real main window on the sample, lifted and settled (``bench_app``'s session; with ``timing``, the
    application object times every paint by widget class)."""

    def __init__(self, size=(1600, 960), timing: bool = False):
        from PySide6.QtWidgets import QApplication

        if timing and QApplication.instance() is None:
            self._timing = _timing_app()  # created first: the session then uses it
        super().__init__(size)
        self.pump(0.5)


def step_frames(win: Window, frames: int, start: int = 0, video: bool = False) -> dict:
    """Step ``frames`` frames (set_frame + processEvents each); per-frame wall and CPU, X server CPU."""
    doc, app = win.doc, win.app
    xpid = x_server_pid()
    drawn: list[int] = []
    vp = win.window.viewport
    on_drawn = lambda f, t: drawn.append(f)  # noqa: E731
    if hasattr(vp, "frameDrawn"):
        vp.frameDrawn.connect(on_drawn)
    profiler = None
    if PROFILE and frames > 50:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    view2d = win.window.view2d
    shown_video = set()
    n = doc.num_frames
    walls, cpus = [], []
    x0, c0, w0 = cpu_seconds(xpid), time.process_time(), time.perf_counter()
    for k in range(frames):
        i = (start + k) % n
        t, c = time.perf_counter(), time.process_time()
        doc.set_frame(i)
        app.processEvents()
        if video:  # let the decoder's frame arrive (it is decoded on a worker thread) and paint it
            end = time.perf_counter() + 0.2
            while view2d.shown_video_frame != view2d.video_frame_of(i) and time.perf_counter() < end:
                app.processEvents()
                time.sleep(0.0005)
            shown_video.add(view2d.shown_video_frame)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    app.processEvents()
    x1, c1, w1 = cpu_seconds(xpid), time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(PROFILE)
    if hasattr(vp, "frameDrawn"):
        vp.frameDrawn.disconnect(on_drawn)
    return {
        "frames": frames,
        "wall_ms_median": 1000 * statistics.median(walls),
        "wall_ms_p90": 1000 * float(np.percentile(walls, 90)),
        "cpu_ms_median": 1000 * statistics.median(cpus),
        "cpu_ms_mean": 1000 * (c1 - c0) / frames,
        "x_cpu_ms_mean": 1000 * (x1 - x0) / frames if xpid else float("nan"),
        "wall_ms_mean": 1000 * (w1 - w0) / frames,
        "draws_3d": len(drawn),
        "video_frames_shown": len(shown_video - {None}) if video else 0,
    }


def slot_costs(win: Window, frames: int) -> dict:
    """CPU ms per frame of each view's frame handler alone (no event loop: the repaint it asks for is not done)."""
    w = win.window
    doc = win.doc
    handlers = {
        "viewport3d._show": lambda i: w.viewport._show(i) if hasattr(w.viewport, "_show") else None,
        "pose2d._redraw": lambda i: w.view2d._redraw(),
        "timeline._on_frame": lambda i: w.timeline._on_frame(i),
    }
    vp = w.viewport
    if getattr(vp, "draw_path", "") == "offscreen":
        handlers["3d draw+read (offscreen)"] = lambda i: (vp._show(i), vp.canvas_widget.draw_now())
        handlers["3d draw only"] = lambda i: (vp._show(i), vp.canvas.set_current(), vp.canvas.events.draw(region=None))
    out = {}
    for name, fn in handlers.items():
        cpu = 0.0
        for k in range(frames):
            doc.frame = k % doc.num_frames  # the handlers read doc.frame; no signal is emitted
            c = time.process_time()
            fn(doc.frame)
            cpu += time.process_time() - c
        out[name] = 1000 * cpu / frames
    win.app.processEvents()
    return out


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--video", action="store_true", help="pair a generated 1080p clip with the sample")
    parser.add_argument("--size", default="1600x960")
    parser.add_argument("--no-viewport", action="store_true", help="the window without a 3D view (placeholder)")
    parser.add_argument("--profile", metavar="OUT", help="cProfile the stepping into OUT")
    parser.add_argument("--paints", action="store_true", help="CPU time of paint events by widget class")
    parser.add_argument(
        "--cache-plot-axes",
        action="store_true",
        help="try-out: cache the Plots tab's grid axes as pixmaps (what pose2d_view does for its own axes)",
    )
    args = parser.parse_args()
    if args.no_viewport:
        sys.modules["app.views.viewport3d"] = None  # the window shows its placeholder label
    global PROFILE
    PROFILE = args.profile
    size = tuple(int(v) for v in args.size.split("x"))
    win = Window(size, timing=args.paints)
    tmp = tempfile.TemporaryDirectory()
    try:
        vp = win.window.viewport
        renderer = getattr(vp, "gl_renderer", "?")
        path = getattr(vp, "draw_path", "QOpenGLWidget")
        print(f"load average {load_average()}; window {size[0]}x{size[1]}; 3D path: {path} ({renderer})")
        if args.video:
            from bench_app import make_video

            clip = make_video(Path(tmp.name) / "clip.mp4", win.doc.num_frames)
            win.window.pair_video_path(clip)
            win.wait(lambda: win.window.view2d.shown_video_frame is not None, 30)
            win.pump(0.3)
        if args.cache_plot_axes:
            from PySide6.QtWidgets import QGraphicsItem

            for plot in win.window.plots.plots:
                for name in ("left", "bottom"):
                    plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        configs = [c for c in args.configs.split(",") if c]
        step_frames(win, 20, start=0, video=args.video)  # warm up
        for config in configs:
            if config == "slots":
                r = slot_costs(win, args.frames)
                print("slot CPU ms/frame: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()))
                continue
            if config == "no3d":
                vp.hide()
                win.pump(0.2)
            if config == "plots":  # the side dock's Plots tab shown (its playheads move every frame)
                win.window.side_tabs.setCurrentWidget(win.window.plots)
                win.pump(0.5)
            global PAINTS
            PAINTS = {} if args.paints else None
            r = step_frames(win, args.frames, start=20, video=args.video)
            if PAINTS:
                top = sorted(PAINTS.items(), key=lambda kv: -kv[1][0])[:8]
                print(
                    f"  paint CPU ms/frame ({config}): "
                    + ", ".join(f"{k} {1000 * t / args.frames:.2f} ({n / args.frames:.1f}x)" for k, (t, n) in top)
                )
            PAINTS = None
            if config == "no3d":
                vp.show()
                win.pump(0.2)
            if config == "plots":
                win.window.side_tabs.setCurrentIndex(0)
                win.pump(0.2)
            print(
                f"{config:7s}: wall median {r['wall_ms_median']:.1f} ms (p90 {r['wall_ms_p90']:.1f}, mean"
                f" {r['wall_ms_mean']:.1f}); CPU app median {r['cpu_ms_median']:.1f} ms (mean {r['cpu_ms_mean']:.1f}),"
                f" X server {r['x_cpu_ms_mean']:.1f} ms/frame; 3D draws {r['draws_3d']}/{r['frames']}"
                + (f"; video frames shown {r['video_frames_shown']}" if args.video else "")
            )
        print(f"load average {load_average()}")
    finally:
        win.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
