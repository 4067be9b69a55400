"""Make the README's screenshots of the real window with real data (run under a display or ``xvfb-run``):

    xvfb-run -a -s "-screen 0 1920x1080x24" python scripts/screenshots.py [--out docs]

Writes ``screenshot_sample.png`` (first run: the bundled sample lifted), ``screenshot_masking.png`` (a limb hidden
over a stretch of frames, the model filling it in), ``screenshot_3d_input.png`` (a BVH seen by a virtual camera,
lifted over the ghost of the truth with its MPJPE) and ``screenshot_export.png`` (the export dialog).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BVH = REPO.parent / "shared" / "data" / "mocap" / "extra_corpus" / "accad_Female1_A03_Swing.bvh.gz"
SIZE = (1600, 960)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs"))
    parser.add_argument("--bvh", default=os.environ.get("MPM_SCREENSHOT_BVH", str(BVH)))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="mpm-shots-")
    os.environ["MPM_STUDIO_DATA_DIR"] = os.path.join(tmp, "data")  # no recovery prompt, no recent files
    os.environ["MPM_STUDIO_CONFIG_DIR"] = os.path.join(tmp, "config")

    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.main_window import AppConfig, MainWindow

    app = QApplication(sys.argv[:1])

    def settle(window, timeout: float = 120.0) -> None:
        doc = window.document
        end = time.time() + timeout
        while time.time() < end:
            app.processEvents()
            if doc.scene is not None and doc.result is not None and not doc.busy and doc.service.idle():
                break
            time.sleep(0.01)
        for _ in range(30):  # let every view paint
            app.processEvents()
            time.sleep(0.01)

    window = MainWindow(AppConfig(recovery="discard", person="longest", autosave_s=0))
    window.resize(*SIZE)
    window.show()
    window.start()
    settle(window)
    doc = window.document
    doc.set_frame(150)
    doc.set_selection(joints=["right_wrist"])
    settle(window)
    window.grab().save(str(out / "screenshot_sample.png"))

    doc.set_selection(joints=["left_knee"], frames=(60, 140))
    doc.begin_drag()
    for hi in range(70, 141, 10):
        doc.paint("left_leg", 60, hi, hide=True)
        settle(window, 10)
    doc.end_drag()
    doc.set_frame(100)
    settle(window)
    window.grab().save(str(out / "screenshot_masking.png"))

    dialog = window.export_dialog()
    dialog.format.setCurrentIndex(dialog.format.findData(".bvh"))
    dialog.preset.setCurrentIndex(dialog.preset.findData("mixamo"))
    settle(window, 2)
    screen = QGuiApplication.primaryScreen()
    geometry = window.frameGeometry().united(dialog.frameGeometry())
    screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height()).save(
        str(out / "screenshot_export.png")
    )
    dialog.reject()

    window.open_path(args.bvh)
    end = time.time() + 120
    while (doc.scene is None or doc.scene.errors is None) and time.time() < end:
        app.processEvents()
        time.sleep(0.01)
    settle(window)
    doc.set_frame(200)
    settle(window)
    window.grab().save(str(out / "screenshot_3d_input.png"))
    window.close()
    print(f"wrote 4 screenshots to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
