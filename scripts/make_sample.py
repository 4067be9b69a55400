"""Make the app's bundled sample: a short 2D sequence projected from an ACCAD clip of the validation split, with
detector-like noise and confidences, and its 3D truth in the same camera's frame.

    python scripts/make_sample.py [--mocap ../shared/data/mocap] [--out resources/sample]

The clip is in the validation split of the shipped model (``split_clips`` with the default salt), so the model
never trained on it. Everything is seeded: the same command writes the same files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mpm_core.engine.probe import VirtualCamera, project_motion  # noqa: E402
from mpm_core.io.canonical import write_npz_2d, write_npz_3d  # noqa: E402
from mpm_core.model.augment import detector_noise  # noqa: E402
from mpm_core.model.config import AugmentConfig, DataConfig  # noqa: E402
from mpm_core.model.data import list_clips, read_clip, resample, split_clips  # noqa: E402
from mpm_core.sequence import PoseSequence2D, PoseSequence3D  # noqa: E402
from mpm_core.skeleton import H36M_JOINTS  # noqa: E402

CLIP = "accad_Female1_B15_WalkTurnAround180.bvh.gz"
FPS = 30.0
SECONDS = 10.0
CAMERA = VirtualCamera(azimuth_deg=35.0, elevation_deg=8.0, distance_m=5.0, fov_deg=60.0, image_size=(1280, 720))
SEED = 7
#: A stretch where the right forearm is "occluded": the detector's confidence falls below the app's default
#: threshold and its position wanders, so the sample shows automatic masking at once.
OCCLUDED = ("right_elbow", "right_wrist")
OCCLUDED_FRAMES = (120, 175)
OCCLUDED_SCORE = (0.03, 0.15)
OCCLUDED_JITTER_PX = 25.0
STEM = "accad_walk_turn"


class _Listed:
    """``split_clips`` needs only ``.info``: the split is decided from names, without reading the motion."""

    def __init__(self, info):
        self.info = info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mocap", default=str(REPO.parent / "shared" / "data" / "mocap"))
    parser.add_argument("--out", default=str(REPO / "resources" / "sample"))
    args = parser.parse_args(argv)
    data = DataConfig()
    infos = [_Listed(i) for i in list_clips(args.mocap, ["extra_corpus"])]
    _, val = split_clips(infos, data.val_fraction, data.split_salt)
    info = next((c.info for c in val if c.info.name == CLIP), None)
    if info is None:
        raise SystemExit(f"{CLIP} is not in the validation split any more: pick another validation clip")
    joints, fps = read_clip(info)
    times = np.arange(int(min(SECONDS, (len(joints) - 1) / fps) * FPS)) / FPS
    world = resample(joints, fps, times)
    truth = PoseSequence3D(world, fps=FPS, layout="h36m17", source=info.name, units="m", coords="world")
    projected = project_motion(truth, CAMERA)
    w, h = CAMERA.image_size
    clean = projected.seq2d.keypoints
    assert (clean[..., 0] > 0).all() and (clean[..., 0] < w).all() and (clean[..., 1] > 0).all(), "out of frame"
    assert (clean[..., 1] < h).all(), "out of frame"
    rng = np.random.default_rng(SEED)
    noisy = detector_noise(rng, clean, AugmentConfig(noise_prob=1.0, jitter_rel=[0.006, 0.006], swap_prob=0.0))
    keypoints, scores = noisy.keypoints.copy(), noisy.scores.copy()
    lo, hi = OCCLUDED_FRAMES
    for name in OCCLUDED:
        j = H36M_JOINTS.index(name)
        scores[lo:hi, j] = rng.uniform(*OCCLUDED_SCORE, hi - lo)
        keypoints[lo:hi, j] += rng.normal(0, OCCLUDED_JITTER_PX, (hi - lo, 2)).astype(np.float32)
    seq2d = PoseSequence2D(
        keypoints, scores, ~noisy.hidden, fps=FPS, layout="h36m17", source=info.name, image_size=(w, h)
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_npz_2d(out / f"{STEM}_2d.npz", seq2d)
    truth_cam = PoseSequence3D(projected.truth_camera, fps=FPS, layout="h36m17", units="m", coords="camera")
    write_npz_3d(out / f"{STEM}_truth_camera.npz", truth_cam)
    print(f"{info.key}: {len(times)} frames at {FPS:g} fps, camera {CAMERA}")
    print(f"wrote {out / f'{STEM}_2d.npz'} and {out / f'{STEM}_truth_camera.npz'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
