"""2D view (pyqtgraph): the current frame's skeleton, bones coloured left / right / centre.

2D input is drawn in image coordinates (origin top-left, y down); 3D input is drawn as its front view.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.document import Document
from mpm_core.sequence import PoseSequence2D

#: Bone colours by side of the child joint: performer's left, right, centre.
SIDE_COLOURS = {"L": (66, 135, 245), "R": (235, 87, 87), "C": (200, 200, 200)}


class Pose2DView(pg.PlotWidget):
    """Draws the document's current frame; subscribes to the document's signals."""

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.setAspectLocked(True)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.bone_items: dict[str, pg.PlotDataItem] = {}
        for side, colour in SIDE_COLOURS.items():
            item = pg.PlotDataItem(pen=pg.mkPen(colour, width=3), connect="pairs")
            self.addItem(item)
            self.bone_items[side] = item
        self.joint_item = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(255, 255, 255), pen=None)
        self.addItem(self.joint_item)
        document.inputChanged.connect(self._on_sequence)
        document.frameChanged.connect(self._on_frame)

    def frame_points(self) -> tuple[np.ndarray, np.ndarray]:
        """``(J, 2)`` plotted joint positions of the current frame and their ``(J,)`` visibility."""
        seq = self.document.input.h36m if self.document.input else None
        pts = seq.keypoints[self.document.frame]
        if isinstance(seq, PoseSequence2D):
            xy = pts[:, :2]
        else:  # 3D: front view, x right, y up (world) or y down (camera)
            xy = pts[:, :2] * np.array([1.0, 1.0 if seq.coords == "world" else -1.0], np.float32)
        return xy, seq.visible[self.document.frame]

    def _on_sequence(self) -> None:
        seq = self.document.input.h36m if self.document.input else None
        self.getPlotItem().invertY(isinstance(seq, PoseSequence2D))
        if seq is not None and isinstance(seq, PoseSequence2D):
            w, h = seq.guess_image_size()
            self.setRange(xRange=(0, w), yRange=(0, h))
        elif seq is not None:
            pts = seq.keypoints[seq.visible]
            if len(pts):
                lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
                self.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], hi[1]))
        self._on_frame(self.document.frame)

    def _on_frame(self, _frame: int) -> None:
        seq = self.document.input.h36m if self.document.input else None
        if seq is None:
            return
        xy, vis = self.frame_points()
        layout = seq.layout_info
        for side, item in self.bone_items.items():
            segs = [(p, c) for p, c in layout.bones if layout.side(c) == side and vis[p] and vis[c]]
            if segs:
                idx = np.array(segs).reshape(-1)
                item.setData(xy[idx, 0], xy[idx, 1])
            else:
                item.setData([], [])
        self.joint_item.setData(xy[vis, 0], xy[vis, 1])
