"""Run by test_app_recovery in a child process: open the sample, hide a joint, autosave, then wait to be killed."""

from __future__ import annotations

import sys
import time

from PySide6.QtWidgets import QApplication

from app.main_window import AppConfig, MainWindow


def main() -> int:
    app = QApplication(sys.argv[:1])
    window = MainWindow(AppConfig(threads=1, autosave_s=0.2, recovery="discard", person="longest"))
    window.show()
    window.start()
    doc = window.document
    deadline = time.time() + 120
    while doc.committed is None and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    doc.set_frame(42)
    doc.toggle_joint("left_elbow", "all")
    saved = []
    window.autosaver.saved.connect(saved.append)  # the first autosave after the edit
    while not saved and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    print("READY", window.autosaver.path, flush=True)
    while True:  # killed by the test
        app.processEvents()
        time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())
