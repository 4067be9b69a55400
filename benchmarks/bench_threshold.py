"""Pick the default confidence threshold: MPJPE of lifting noisy synthetic detections at several thresholds.

    .venv/bin/python benchmarks/bench_threshold.py [--model PATH] [--clips GLOB ...] [--thresholds 0 0.1 ...]

Ground truth: mocap clips (BVH/AMC read as H36M-17), turned to face the camera at a random yaw, placed 4-6 m in
front of a 1920x1080 camera (60 deg FOV) and projected. Detections: each joint gets a confidence that drifts
smoothly over time (Beta-distributed levels, mostly high); its pixel error grows steeply as confidence falls
(sigma = 2 px + 80 px * (1 - score)^3) and low-confidence joints sometimes jump to a wrong place (probability
0.5 * (1 - score)^2, 40-150 px away), as real detectors do on occluded joints. Each threshold hides joints below
it; MPJPE (mm, root-relative, every joint of every frame) against the ground truth says which is best.
Synthetic: the figure is only as good as the noise model (stated in benchmarks/README.md with the result).
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mpm_core.engine import LiftingEngine, Mask  # noqa: E402
from mpm_core.io import read_3d  # noqa: E402
from mpm_core.model.checkpoint import default_model_path  # noqa: E402
from mpm_core.sequence import PoseSequence2D  # noqa: E402

IMAGE = (1920, 1080)
FOCAL = IMAGE[0] / 2 / np.tan(np.radians(30))  # 60 degrees horizontal field of view
DEFAULT_CLIPS = ["mocap/reactidle/*.bvh", "mocap/hdm05/*.amc"]
MAX_FRAMES = 1800  # per clip, to keep the run short


def camera_pose(world: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """World (y up, metres) -> camera frame (x right, y down, z forward): the clip turned to a random yaw about
    its first pelvis position, which is placed 4-6 m in front of the camera (pushed back if it walks closer)."""
    cam = world * np.array([1.0, -1.0, -1.0])
    rel = cam - cam[0, 0]
    yaw = rng.uniform(-np.pi, np.pi)
    c, s = np.cos(yaw), np.sin(yaw)
    x, z = rel[..., 0].copy(), rel[..., 2].copy()
    rel[..., 0], rel[..., 2] = c * x + s * z, -s * x + c * z
    rel[..., 2] += rng.uniform(4.0, 6.0) + max(0.0, -float(rel[..., 2].min()))
    return rel


def noisy_detections(cam: np.ndarray, fps: float, rng: np.random.Generator) -> PoseSequence2D:
    t, j = cam.shape[:2]
    px = np.stack([FOCAL * cam[..., 0] / cam[..., 2], FOCAL * cam[..., 1] / cam[..., 2]], -1) + np.array(IMAGE) / 2
    # Smoothly drifting confidence per joint: a few Beta-drawn levels per clip, interpolated over time.
    keys = max(2, t // 10)
    levels = rng.beta(2.5, 1.3, (keys, j))  # median ~0.7, ~10% below 0.3: between the AlphaPose and OpenPose inputs
    score = np.stack([np.interp(np.arange(t), np.linspace(0, t - 1, keys), levels[:, k]) for k in range(j)], -1)
    sigma = 2.0 + 80.0 * (1.0 - score) ** 3
    noise = rng.normal(size=(t, j, 2)) * sigma[..., None]
    jump = rng.random((t, j)) < 0.5 * (1.0 - score) ** 2
    angle = rng.uniform(0, 2 * np.pi, (t, j))
    dist = rng.uniform(40, 150, (t, j))
    noise[jump] += np.stack([np.cos(angle), np.sin(angle)], -1)[jump] * dist[jump][:, None]
    return PoseSequence2D((px + noise).astype(np.float32), score.astype(np.float32), fps=fps, image_size=IMAGE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(default_model_path()))
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--clips", nargs="+", default=DEFAULT_CLIPS)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    engine = LiftingEngine(args.model, device="cpu", threads=args.threads)
    rng = np.random.default_rng(args.seed)
    files = sorted(f for pattern in args.clips for f in glob.glob(str(Path(args.data) / pattern)))
    cases = []
    for f in files:
        seq = read_3d(f)
        step = max(1, round(seq.fps / 30.0))  # lift at ~30 fps like video
        world = seq.keypoints[::step][:MAX_FRAMES].astype(np.float64)
        cam = camera_pose(world, rng)
        truth = cam - cam[:, :1]
        cases.append((Path(f).name, noisy_detections(cam, seq.fps / step, rng), truth))
    print(f"# {len(cases)} clips, {sum(len(c[2]) for c in cases)} frames; model {args.model}")
    print("| threshold | hidden share | MPJPE (mm) |\n|---|---|---|")
    for threshold in args.thresholds:
        errors, hidden = [], []
        for _, det, truth in cases:
            recon = engine.lift(det, Mask.from_sequence(det, threshold))
            errors.append(np.linalg.norm(recon.poses_3d - truth, axis=-1).ravel())
            hidden.append(recon.hidden.ravel())
        mpjpe = 1000 * float(np.concatenate(errors).mean())
        print(f"| {threshold:.2f} | {np.concatenate(hidden).mean():.1%} | {mpjpe:.1f} |", flush=True)


if __name__ == "__main__":
    main()
