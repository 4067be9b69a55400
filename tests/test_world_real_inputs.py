"""Every real 2D input, lifted with default settings to world coordinates, is upright, on the floor and moves like
a person (issue: motion an animator can use). Runs the CLI as a user would and checks the file it writes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mpm_core.cli import main
from mpm_core.engine.world_metrics import plausibility
from tests.engine_support import SHIPPED_MODEL

#: The ten real 2D inputs under the shared inputs folder (see its README; OpenPose folders count as one each).
REAL_INPUTS = [
    "openpose_raga/example_1person/output_json",
    "openpose_raga/example_3people/output_json",
    "openpose_raga/tests/test_json",
    "alphapose/nba_multi_person/alphapose-results.json",
    "alphapose/motionbert_halpe26/alphapose-results.json",
    "alphapose/arnis_single_person/alphapose-results.json",
    "gastnet/data/keypoints/baseball.json",
    "gastnet/data/keypoints/baseball_wholebody.json",
    "videopose3d_custom/psychomugs/data_2d_custom_myvideos.npz",
    "videopose3d_custom/psychomugs/inference_output/floss_test.mp4.npz",
]
#: The issue's bars.
HEAD_ABOVE_PELVIS_SHARE = 0.95
ABOVE_FLOOR_SHARE = 0.95
GROUNDED_SHARE = 0.90
MAX_PELVIS_SPEED_M_S = 9.0


@pytest.mark.parametrize("relpath", REAL_INPUTS)
def test_real_input_world_output_is_plausible(shared_data, tmp_path, capsys, relpath):
    assert SHIPPED_MODEL.is_file(), "the shipped model is part of the repository"
    torch.set_num_threads(1)
    source = shared_data(f"inputs/{relpath}")
    out = tmp_path / "out.npz"
    code = main(["lift", str(source), "-o", str(out), "--threads", "1", "-q"])
    assert code == 0, capsys.readouterr().err
    data = np.load(out, allow_pickle=False)
    assert str(data["coords"]) == "world"
    notes = dict(str(n).split("=", 1) for n in data["notes"])
    world = data["joints"].astype(np.float64)
    fps = float(data["fps"])
    m = plausibility(world, fps, float(notes["ankle_height_m"]), data["hidden"])
    print(
        f"{relpath}: head above pelvis {m.head_above_pelvis:.1%}, above floor {m.above_floor:.1%}, grounded "
        f"{m.grounded:.1%} of {m.grounded_frames} seen still-ankle frames, pelvis speed <= {m.max_pelvis_speed:.1f} "
        f"m/s; {notes['floor']}"
    )
    assert m.head_above_pelvis >= HEAD_ABOVE_PELVIS_SHARE
    assert m.above_floor >= ABOVE_FLOOR_SHARE
    # Where no ankle is seen and still (the legs out of view, or always moving), there is nothing to float.
    assert m.grounded_frames == 0 or m.grounded >= GROUNDED_SHARE
    assert math.isnan(m.grounded) == (m.grounded_frames == 0)
    assert m.max_pelvis_speed <= MAX_PELVIS_SPEED_M_S
    assert data["contacts"].shape == (len(world), 2)
