"""The vispy visuals of the 3D view and their per-frame data, with buffers allocated once per scene.

``SkeletonVisuals`` owns every visual of the 3D view (floor, trail, ghost, error lines, bones, joints) and fills
them for one frame with ``show_frame``: a handful of ``set_data`` calls on preallocated arrays, never a new visual.
No pose math here: positions come from ``mpm_core.engine.scene.Scene`` as they are; this module only picks colours
and styles (seen joints solid, the model's guesses hollow with dashed, translucent bones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vispy import scene
from vispy.visuals.transforms import STTransform

from app.state import FORCED, VISIBLE
from app.views.palette import SIDE_COLOURS, STATE_COLOURS
from mpm_core.skeleton import get_layout

_LAYOUT = get_layout("h36m17")
#: (parent, child) joint pairs of the H36M-17 skeleton, the child's side colours the bone.
BONES = np.array(_LAYOUT.bones, np.int64)
NUM_JOINTS = _LAYOUT.num_joints
NUM_BONES = len(BONES)


def _rgba(rgb: tuple[int, int, int], alpha: float = 1.0) -> np.ndarray:
    return np.array([rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, alpha], np.float32)


#: Background and floor (dark, so the skeleton's colours stand out).
BACKGROUND = (28, 30, 34)
FLOOR_FILL = (40, 43, 49)
FLOOR_LINE = (70, 75, 85)
FLOOR_AXIS = (95, 100, 112)
GHOST_COLOUR = (175, 178, 190)
GHOST_ALPHA = 0.45
TRAIL_COLOUR = (120, 200, 255)
ERROR_COLOUR = (255, 90, 200)

BONE_WIDTH = 5.0
GUESS_BONE_WIDTH = 3.0
GUESS_BONE_ALPHA = 0.6
GHOST_WIDTH = 3.0
TRAIL_WIDTH = 2.0
ERROR_WIDTH = 1.5
SHADOW_WIDTH = 6.0
SHADOW_COLOUR = (0, 0, 0)
SHADOW_ALPHA = 0.35
#: Floor-level drawings (trail, shadow) this far above the floor, so they read as on it.
ON_FLOOR_M = 0.002
FLOOR_WIDTH = 1.0
JOINT_SIZE = 11.0
GUESS_JOINT_SIZE = 15.0
GUESS_RING_WIDTH = 3.0
#: Dashes per guessed bone (each covers this fraction of its share of the bone).
DASHES = 5
DASH_FILL = 0.55
#: Half the trail's length in seconds (the root's path this far before and after the current frame).
TRAIL_HALF_S = 2.0
#: Floor grid spacing and margin around the root's whole path (metres).
GRID_STEP_M = 0.5
GRID_MARGIN_M = 2.0

_SIDE_OF_BONE = np.array([_LAYOUT.side(int(c)) for _, c in BONES])
_BONE_RGBA = np.stack([_rgba(SIDE_COLOURS[s]) for s in _SIDE_OF_BONE]).astype(np.float32)
_STATE_RGBA = np.stack([_rgba(STATE_COLOURS[k]) for k in sorted(STATE_COLOURS)]).astype(np.float32)
_TRANSPARENT = np.zeros(4, np.float32)


@dataclass
class FrameData:
    """What ``show_frame`` draws: one frame of a scene.

    Fields:
        poses: ``(17, 3)`` metres, display frame (y up); NaN rows are not drawn.
        states: ``(17,)`` joint state codes (``app.state``).
        ghost: ``(17, 3)`` the reference in the same frame, or None.
        errors_mm: ``(17,)`` per-joint error against the ghost (probe mode), or None.
    """

    poses: np.ndarray
    states: np.ndarray
    ghost: np.ndarray | None = None
    errors_mm: np.ndarray | None = None


class SkeletonVisuals:
    """Every visual of the 3D view, children of ``parent`` (a ViewBox's scene), filled once per frame."""

    def __init__(self, parent) -> None:
        gl_opaque = dict(depth_test=True, blend=True)
        self.floor_fill = scene.visuals.Mesh(parent=parent, color=_rgba(FLOOR_FILL))
        # The floor never occludes: drawn first without depth, it cannot fight the grid or hide a foot.
        self.floor_fill.set_gl_state(blend=False, depth_test=False, cull_face=False)  # opaque: no blend cost
        self.floor_lines = scene.visuals.Line(parent=parent, connect="segments", width=FLOOR_WIDTH, method="gl")
        self.floor_lines.set_gl_state("translucent", depth_test=False)
        # Floor geometry at y = 0, lifted to the floor by one shared translation (see _set_floor).
        self._floor_shift = STTransform()
        self.floor_fill.transform = self._floor_shift
        self.floor_lines.transform = self._floor_shift
        self._grid_extent: tuple[float, float, float, float] | None = None
        self.shadow = scene.visuals.Line(parent=parent, connect="segments", width=SHADOW_WIDTH, method="gl")
        self.shadow.set_gl_state("translucent", depth_test=False)
        self.trail = scene.visuals.Line(parent=parent, connect="strip", width=TRAIL_WIDTH, method="gl")
        self.trail.set_gl_state("translucent", depth_test=False)
        self.ghost = scene.visuals.Line(parent=parent, connect="segments", width=GHOST_WIDTH, method="gl")
        self.ghost.set_gl_state("translucent", depth_test=False)
        self.error_lines = scene.visuals.Line(parent=parent, connect="segments", width=ERROR_WIDTH, method="gl")
        self.error_lines.set_gl_state("translucent", depth_test=False)
        self.bones = scene.visuals.Line(parent=parent, connect="segments", width=BONE_WIDTH, method="gl")
        self.bones.set_gl_state(**gl_opaque)
        self.guess_bones = scene.visuals.Line(parent=parent, connect="segments", width=GUESS_BONE_WIDTH, method="gl")
        self.guess_bones.set_gl_state("translucent", depth_test=False)
        self.joints = scene.visuals.Markers(parent=parent, scaling="fixed")
        self.joints.set_gl_state("translucent", depth_test=False)
        self.guess_joints = scene.visuals.Markers(parent=parent, scaling="fixed")
        self.guess_joints.set_gl_state("translucent", depth_test=False)
        # Draw order: floor under everything; joints over the bones they end.
        for order, visual in enumerate(
            (
                self.floor_fill,
                self.floor_lines,
                self.shadow,
                self.trail,
                self.ghost,
                self.error_lines,
                self.bones,
                self.guess_bones,
                self.joints,
                self.guess_joints,
            )
        ):
            visual.order = order

        # Buffers allocated once: every frame writes into them.
        self._bone_pos = np.zeros((NUM_BONES * 2, 3), np.float32)
        self._bone_col = np.zeros((NUM_BONES * 2, 4), np.float32)
        self._shadow_pos = np.zeros((NUM_BONES * 2, 3), np.float32)
        self._shadow_col = np.zeros((NUM_BONES * 2, 4), np.float32)
        self._floor_y = 0.0
        t0 = (np.arange(DASHES, dtype=np.float32) / DASHES)[:, None]
        t = np.concatenate([t0, t0 + DASH_FILL / DASHES], axis=1).reshape(-1)  # (DASHES*2,) dash ends along a bone
        self._dash_t = np.tile(t, NUM_BONES)[:, None]  # (NUM_BONES*DASHES*2, 1)
        self._dash_bone = np.repeat(np.arange(NUM_BONES), DASHES * 2)
        self._dash_pos = np.zeros((NUM_BONES * DASHES * 2, 3), np.float32)
        self._dash_col = np.zeros((NUM_BONES * DASHES * 2, 4), np.float32)
        self._ghost_pos = np.zeros((NUM_BONES * 2, 3), np.float32)
        self._ghost_col = np.zeros((NUM_BONES * 2, 4), np.float32)
        self._err_pos = np.zeros((NUM_JOINTS * 2, 3), np.float32)
        self._err_col = np.zeros((NUM_JOINTS * 2, 4), np.float32)
        self._joint_face = np.zeros((NUM_JOINTS, 4), np.float32)
        self._joint_edge = np.zeros((NUM_JOINTS, 4), np.float32)
        self._joint_size = np.zeros(NUM_JOINTS, np.float32)
        self._guess_edge = np.zeros((NUM_JOINTS, 4), np.float32)
        self._guess_size = np.zeros(NUM_JOINTS, np.float32)
        self._zeros17 = np.zeros((NUM_JOINTS, 3), np.float32)
        self._trail_src: np.ndarray | None = None
        self._trail_half = 1
        self._trail_pos = np.zeros((3, 3), np.float32)
        self._trail_col = np.zeros((3, 4), np.float32)
        self.ghost_enabled = True
        self.trail_enabled = True
        self.has_ghost = False
        self.drawn = np.zeros(NUM_JOINTS, bool)

    # -- once per scene -------------------------------------------------------------------------------------------
    def set_scene(self, trail: np.ndarray, floor_y: float, fps: float, has_ghost: bool) -> None:
        """Floor and trail buffers of a new scene: ``trail`` ``(T, 3)`` metres (display frame), ``floor_y`` metres."""
        self.has_ghost = has_ghost
        self._floor_y = float(floor_y)
        self._set_floor(trail, floor_y)
        half = max(1, int(round(TRAIL_HALF_S * max(fps, 1.0))))
        if half != self._trail_half or self._trail_src is None:
            n = 2 * half + 1
            self._trail_pos = np.zeros((n, 3), np.float32)
            self._trail_col = np.zeros((n, 4), np.float32)
            # Brightest at the current frame, fading out towards both ends.
            fade = 1.0 - np.abs(np.arange(n) - half) / (half + 1.0)
            self._trail_fade = (0.85 * fade**1.5).astype(np.float32)
        self._trail_half = half
        self._trail_src = np.asarray(trail, np.float32)
        self.ghost.visible = has_ghost and self.ghost_enabled
        self.error_lines.visible = self.ghost.visible

    def _set_floor(self, trail: np.ndarray, floor_y: float) -> None:
        """The grid around the root's whole path at ``floor_y``. The geometry lies at y = 0 and a translation
        lifts it: an edit that moves the floor (a world refit) changes one uniform, and the buffers are refilled
        only when the grid's extent changes (a new Mesh / Line upload rebuilds and recompiles shaders, tens of ms
        under a software renderer)."""
        finite = trail[np.isfinite(trail).all(axis=1)]
        if len(finite):
            lo, hi = finite[:, [0, 2]].min(axis=0), finite[:, [0, 2]].max(axis=0)
        else:
            lo = hi = np.zeros(2, np.float32)
        lo = np.floor((lo - GRID_MARGIN_M) / GRID_STEP_M) * GRID_STEP_M
        hi = np.ceil((hi + GRID_MARGIN_M) / GRID_STEP_M) * GRID_STEP_M
        y = float(floor_y)
        self._floor_shift.translate = (0.0, y, 0.0)
        extent = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
        self.floor_extent = (*extent, y)
        if extent == self._grid_extent:
            return
        self._grid_extent = extent
        xs = np.arange(lo[0], hi[0] + GRID_STEP_M / 2, GRID_STEP_M)
        zs = np.arange(lo[1], hi[1] + GRID_STEP_M / 2, GRID_STEP_M)
        segs = [((x, 0.0, lo[1]), (x, 0.0, hi[1])) for x in xs] + [((lo[0], 0.0, z), (hi[0], 0.0, z)) for z in zs]
        pos = np.array(segs, np.float32).reshape(-1, 3)
        colours = np.empty((len(pos), 4), np.float32)
        colours[:] = _rgba(FLOOR_LINE)
        # Lines through the origin a shade brighter: the world's axes on the floor.
        on_axis = np.repeat([abs(x) < 1e-6 for x in xs] + [abs(z) < 1e-6 for z in zs], 2)
        colours[on_axis] = _rgba(FLOOR_AXIS)
        self.floor_lines.set_data(pos=pos, color=colours)
        # The fill sits a hair under the lines so they never fight over depth.
        fy = -1e-3
        quad = np.array([[lo[0], fy, lo[1]], [hi[0], fy, lo[1]], [hi[0], fy, hi[1]], [lo[0], fy, hi[1]]], np.float32)
        self.floor_fill.set_data(vertices=quad, faces=np.array([[0, 1, 2], [0, 2, 3]], np.uint32))

    def set_ghost_enabled(self, on: bool) -> None:
        self.ghost_enabled = bool(on)
        self.ghost.visible = self.has_ghost and self.ghost_enabled
        self.error_lines.visible = self.ghost.visible

    def clear(self) -> None:
        """Nothing to draw (no scene yet)."""
        for visual in (self.shadow, self.trail, self.ghost, self.error_lines, self.bones, self.guess_bones):
            visual.visible = False
        self.joints.visible = self.guess_joints.visible = False
        self.drawn[:] = False

    # -- once per frame -------------------------------------------------------------------------------------------
    def show_frame(self, frame: int, data: FrameData) -> None:
        """Fill every visual for ``frame``: bones by side (guesses dashed), joints by state, ghost, trail."""
        poses, states = data.poses, data.states
        finite = np.isfinite(poses).all(axis=1)
        self.drawn[:] = finite
        pos = np.where(finite[:, None], poses, self._zeros17).astype(np.float32, copy=False)
        seen = (states == VISIBLE) | (states == FORCED)

        # Bones: solid when both ends are seen, else dashed and translucent (a guess); hidden when an end is NaN.
        a, b = BONES[:, 0], BONES[:, 1]
        both = finite[a] & finite[b]
        solid = both & seen[a] & seen[b]
        guess = both & ~solid
        self._bone_pos[0::2] = pos[a]
        self._bone_pos[1::2] = pos[b]
        self._bone_col[0::2] = _BONE_RGBA
        self._bone_col[1::2] = _BONE_RGBA
        self._bone_col[np.repeat(~solid, 2), 3] = 0.0
        self.bones.set_data(pos=self._bone_pos, color=self._bone_col)
        self.bones.visible = True
        # The skeleton's shadow straight down on the floor: where the body stands, and that it touches it.
        self._shadow_pos[:] = self._bone_pos
        self._shadow_pos[:, 1] = self._floor_y + ON_FLOOR_M
        self._shadow_col[:] = _rgba(SHADOW_COLOUR, SHADOW_ALPHA)
        self._shadow_col[np.repeat(~both, 2), 3] = 0.0
        self.shadow.set_data(pos=self._shadow_pos, color=self._shadow_col)
        self.shadow.visible = True

        # The guesses' visuals are filled only when there are guesses (most frames of a clean clip have none).
        self.guess_bones.visible = bool(guess.any())
        if self.guess_bones.visible:
            pa, pb = pos[a][self._dash_bone], pos[b][self._dash_bone]
            np.multiply(pb - pa, self._dash_t, out=self._dash_pos)
            self._dash_pos += pa
            self._dash_col[:] = _BONE_RGBA[self._dash_bone]
            self._dash_col[:, 3] = np.where(guess[self._dash_bone], GUESS_BONE_ALPHA, 0.0)
            self.guess_bones.set_data(pos=self._dash_pos, color=self._dash_col)

        # Joints: seen ones filled (white, forced green); guesses as rings in their state's colour.
        codes = np.clip(states, 0, len(_STATE_RGBA) - 1)
        self._joint_face[:] = _STATE_RGBA[codes]
        self._joint_edge[:] = 0.0
        self._joint_edge[:, 3] = 1.0
        self._joint_size[:] = np.where(finite & seen, JOINT_SIZE, 0.0)
        self.joints.set_data(
            pos=pos, face_color=self._joint_face, edge_color=self._joint_edge, size=self._joint_size, edge_width=1.0
        )
        self.joints.visible = True
        hollow = finite & ~seen
        self.guess_joints.visible = bool(hollow.any())
        if self.guess_joints.visible:
            self._guess_edge[:] = _STATE_RGBA[codes]
            self._guess_size[:] = np.where(hollow, GUESS_JOINT_SIZE, 0.0)
            self.guess_joints.set_data(
                pos=pos,
                face_color=_TRANSPARENT,
                edge_color=self._guess_edge,
                size=self._guess_size,
                edge_width=GUESS_RING_WIDTH,
                symbol="disc",
            )

        self._show_ghost(pos, finite, data)
        self._show_trail(frame)

    def _show_ghost(self, pos: np.ndarray, finite: np.ndarray, data: FrameData) -> None:
        if data.ghost is None or not self.ghost.visible:
            return
        ghost = data.ghost
        gfinite = np.isfinite(ghost).all(axis=1)
        gpos = np.where(gfinite[:, None], ghost, self._zeros17)
        a, b = BONES[:, 0], BONES[:, 1]
        self._ghost_pos[0::2] = gpos[a]
        self._ghost_pos[1::2] = gpos[b]
        self._ghost_col[:] = _rgba(GHOST_COLOUR, GHOST_ALPHA)
        self._ghost_col[np.repeat(~(gfinite[a] & gfinite[b]), 2), 3] = 0.0
        self.ghost.set_data(pos=self._ghost_pos, color=self._ghost_col)
        # Probe mode: a thin line from each lifted joint to the truth, brighter the larger the error.
        if data.errors_mm is not None:
            self._err_pos[0::2] = pos
            self._err_pos[1::2] = gpos
            err = np.nan_to_num(data.errors_mm, nan=0.0)
            self._err_col[:] = _rgba(ERROR_COLOUR)
            alpha = np.clip(err / 150.0, 0.25, 1.0) * (finite & gfinite)
            self._err_col[:, 3] = np.repeat(alpha, 2)
            self.error_lines.set_data(pos=self._err_pos, color=self._err_col)
            self.error_lines.visible = True
        else:
            self.error_lines.visible = False

    def _show_trail(self, frame: int) -> None:
        src = self._trail_src
        if src is None or len(src) == 0 or not self.trail_enabled:
            self.trail.visible = False
            return
        half, n = self._trail_half, len(src)
        idx = np.clip(np.arange(frame - half, frame + half + 1), 0, n - 1)
        window = src[idx]
        ok = np.isfinite(window).all(axis=1)
        self._trail_pos[:] = np.where(ok[:, None], window, src[frame] if ok[half] else 0.0)
        self._trail_pos[:, 1] = self._floor_y + ON_FLOOR_M  # the root's path on the ground
        self._trail_col[:] = _rgba(TRAIL_COLOUR)
        self._trail_col[:, 3] = self._trail_fade * ok
        self.trail.set_data(pos=self._trail_pos, color=self._trail_col)
        self.trail.visible = True
