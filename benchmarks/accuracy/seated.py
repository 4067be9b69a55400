"""Real-video pose checks that need no ground truth: a woman sitting cross-legged, facing the camera.

``openpose_raga/example_1person`` (OpenPose BODY_25, 125 frames, 1920x1080, 25 fps) shows one person seated
cross-legged on the floor, facing the camera, for the whole clip. Whatever the exact 3D, two things are plain from
the video, and both are checked in the lifted camera-frame 3D (x right, y down, z forward, root-relative):

- ``knees_in_front``: each knee is nearer the camera than its hip (knee z < hip z), per frame both knees;
- ``trunk_upright``: the pelvis -> thorax direction lies within ``TRUNK_MAX_DEG`` of the camera's up (-y).

Targets (issue 16): each share >= ``TARGET_SHARE``. ``python -m benchmarks.accuracy.seated [--model NAME|PATH]``
prints the shares and the per-frame medians.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from mpm_core.model.seated import trunk_angles_deg
from mpm_core.skeleton import H36M_JOINTS

#: The clip, relative to the shared data folder.
SEATED_INPUT = "inputs/openpose_raga/example_1person/output_json"
#: Largest angle between pelvis -> thorax and the camera's up that still counts as upright, degrees.
TRUNK_MAX_DEG = 20.0
#: The camera's up in its own frame (y points down).
CAMERA_UP = np.array([0.0, -1.0, 0.0])
#: Share of frames each check must hold in.
TARGET_SHARE = 0.8

_J = {name: i for i, name in enumerate(H36M_JOINTS)}


@dataclass
class SeatedReport:
    """Per-clip shares in [0, 1] and medians: ``knee_ahead_m`` hip z - knee z (metres, positive = knee nearer the
    camera) over both legs; ``trunk_deg`` angle of pelvis -> thorax to the camera's up, degrees."""

    knees_in_front: float
    trunk_upright: float
    knee_ahead_m: float
    trunk_deg: float

    @property
    def meets_targets(self) -> bool:
        return self.knees_in_front >= TARGET_SHARE and self.trunk_upright >= TARGET_SHARE


def seated_report(poses_3d: np.ndarray) -> SeatedReport:
    """Check ``(T, 17, 3)`` camera-frame metres (x right, y down, z forward) of a person seated facing the camera."""
    p = np.asarray(poses_3d, np.float64)
    ahead = np.stack(
        [
            p[:, _J["right_hip"], 2] - p[:, _J["right_knee"], 2],
            p[:, _J["left_hip"], 2] - p[:, _J["left_knee"], 2],
        ],
        axis=1,
    )
    angle = trunk_angles_deg(p, CAMERA_UP)
    return SeatedReport(
        knees_in_front=float(np.mean(np.all(ahead > 0, axis=1))),
        trunk_upright=float(np.mean(angle <= TRUNK_MAX_DEG)),
        knee_ahead_m=float(np.median(ahead)),
        trunk_deg=float(np.median(angle)),
    )


def lift_seated(model: str | None = None, shared: str | None = None, flip: bool = False) -> np.ndarray:
    """Lift the seated clip with a registered model name or path (None = the shipped default); (T, 17, 3)."""
    from pathlib import Path

    from mpm_core.engine.lifter import LiftingEngine
    from mpm_core.io import read_2d
    from mpm_core.model.config import default_mocap_root
    from mpm_core.model.registry import resolve_model

    root = Path(shared) if shared else default_mocap_root().parent  # the shared data folder, the tests' rule
    seq = read_2d(root / SEATED_INPUT)
    engine = LiftingEngine(model_path=resolve_model(model), device="cpu")
    return engine.lift(seq, flip=flip).poses_3d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="registered model name or checkpoint path (default: shipped)")
    ap.add_argument("--shared", default=None, help="shared data folder (default: $MPM_SHARED_DATA or ../shared/data)")
    ap.add_argument("--flip", action="store_true", help="average with the mirrored input (test-time flip)")
    args = ap.parse_args(argv)
    r = seated_report(lift_seated(args.model, args.shared, args.flip))
    print(
        f"knees in front of hips: {r.knees_in_front:.0%} of frames (median {r.knee_ahead_m * 100:+.1f} cm); "
        f"trunk within {TRUNK_MAX_DEG:.0f} deg of up: {r.trunk_upright:.0%} (median {r.trunk_deg:.1f} deg); "
        f"targets {'met' if r.meets_targets else 'missed'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
