"""``mpm-studio``: launches the desktop app, optionally with a file to open.

mpm-studio [FILE]                     open FILE (pose file, OpenPose folder, 3D file or project), or the sample
mpm-studio --screenshot OUT.png [FILE] open FILE (or the sample), wait for the first lifted frame, save a grab
                                      of the whole window and exit
mpm-studio --install-desktop-entry    write a Linux desktop entry (application menu) and exit
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: How long --screenshot waits for the first lifted frame before giving up (seconds).
SCREENSHOT_TIMEOUT_S = 120.0


def install_desktop_entry(target_dir: Path | None = None) -> Path:
    """Write ``mpm-studio.desktop`` into the user's applications folder (``$XDG_DATA_HOME/applications``)."""
    from mpm_core.atomic import atomic_write

    if target_dir is None:
        data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        target_dir = data_home / "applications"
    target_dir.mkdir(parents=True, exist_ok=True)
    icon = REPO / "resources" / "icons" / "mpm-studio.png"
    exec_line = f'"{sys.executable}" -m app.main %f'
    text = "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Name=MPM Studio",
            "GenericName=2D to 3D human motion",
            "Comment=Lift 2D pose keypoints and videos to 3D motion with MPM",
            f"Exec={exec_line}",
            f"Path={REPO}",
            f"Icon={icon}",
            "Terminal=false",
            "Categories=Graphics;3DGraphics;Science;",
            "MimeType=application/json;text/csv;",
            "",
        ]
    )
    path = target_dir / "mpm-studio.desktop"
    with atomic_write(path) as fh:
        fh.write(text)
    return path


def _screenshot(window, app, out: Path, frame: int | None) -> None:
    """Save a grab of the window once the first lifted frame is drawn, then quit (exit code 1 on failure)."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    clock = QElapsedTimer()
    clock.start()

    def poll() -> None:
        doc = window.document
        if doc.scene is not None and doc.result is not None and not doc.busy and not doc.detecting:
            if frame is not None:
                doc.set_frame(frame)
            QTimer.singleShot(300, shoot)  # let the views paint the frame
            return
        if clock.elapsed() > SCREENSHOT_TIMEOUT_S * 1000:
            print(f"--screenshot: no lifted frame after {SCREENSHOT_TIMEOUT_S:g} s", file=sys.stderr)
            app.exit(1)
            return
        QTimer.singleShot(50, poll)

    def shoot() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(out))
        if not ok:
            print(f"--screenshot: could not write {out}", file=sys.stderr)
        app.exit(0 if ok else 1)

    window.document.errorRaised.connect(lambda title, msg: (print(f"{title}: {msg}", file=sys.stderr), app.exit(1)))
    QTimer.singleShot(50, poll)


def _report_first_paint(window, app) -> None:
    """Print the wall clock when the 3D view first draws a lifted skeleton, then quit (for bench_app.py)."""
    import time

    doc = window.document
    done = []

    def drawn(*_args) -> None:
        if not done and doc.scene is not None and doc.result is not None:
            done.append(time.time())
            print(f"first-lifted-paint {done[0]:.6f}", flush=True)
            app.exit(0)

    signal = getattr(window.viewport, "frameDrawn", None)
    (signal if signal is not None else doc.sceneChanged).connect(drawn)
    doc.errorRaised.connect(lambda title, msg: (print(f"{title}: {msg}", file=sys.stderr), app.exit(1)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mpm-studio", description="MPM Studio desktop app")
    parser.add_argument("files", nargs="*", help="pose file, OpenPose folder, 3D file or .mpmproj project to open")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a grab of the window after the first lift")
    parser.add_argument("--frame", type=int, help="with --screenshot: the frame to show")
    parser.add_argument("--size", metavar="WxH", default="1600x960", help="with --screenshot: window size")
    parser.add_argument("--install-desktop-entry", action="store_true", help="write a Linux desktop entry and exit")
    parser.add_argument("--report-first-paint", action="store_true", help=argparse.SUPPRESS)  # bench_app.py
    args = parser.parse_args(argv)
    if args.install_desktop_entry:
        print(install_desktop_entry())
        return 0

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    # Fractional scale factors as they are (125%, 150%): crisp on high-DPI screens.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MPM Studio")
    app.setOrganizationName("MPM Studio")
    icon = REPO / "resources" / "icons" / "mpm-studio.png"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))

    from app.main_window import AppConfig, MainWindow

    config = AppConfig()
    if args.screenshot or args.report_first_paint:
        config = AppConfig(recovery="discard", person="longest", autosave_s=0)
    window = MainWindow(config)
    if args.screenshot:
        try:
            w, h = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            parser.error(f"--size {args.size!r} is not WxH")
        window.resize(w, h)
    window.show()
    window.start(args.files)
    if args.screenshot:
        _screenshot(window, app, Path(args.screenshot), args.frame)
    if args.report_first_paint:
        _report_first_paint(window, app)
    code = app.exec()
    window.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
