"""``mpm-studio-cli info`` on real 2D files, a 3D file and bad input."""

from __future__ import annotations

import numpy as np

from mpm_core.cli import main
from mpm_core.io.canonical import write_csv_3d
from mpm_core.sequence import PoseSequence3D


def test_info_openpose_three_people(shared_data, capsys):
    folder = shared_data("inputs/openpose_raga/example_3people/output_json")
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "body25 (25 joints)" in out
    assert "frames:      125 (frame 0 to 124" in out
    assert "fps:         25 (from video short_video.mp4)" in out
    assert "image size:  768x576" in out
    assert "people:      3 track(s)" in out
    assert out.count("frames 0-124 (125 frames") == 3
    assert "left_big_toe" in out and "%" in out


def test_info_nba_many_tracks(shared_data, capsys):
    assert main(["info", str(shared_data("inputs/alphapose/nba_multi_person/alphapose-results.json"))]) == 0
    out = capsys.readouterr().out
    assert "detections:  1385" in out and "shorter tracks" in out and "fps:         30 (from default)" in out


def test_info_3d_csv(tmp_path, capsys):
    joints = np.zeros((4, 17, 3))
    vis = np.ones((4, 17), bool)
    vis[:2, 3] = False
    path = tmp_path / "motion.csv"
    write_csv_3d(path, PoseSequence3D(joints, visible=vis, fps=50, layout="h36m17", coords="world"))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "fps:         50 (from file)" in out and "world, m" in out
    assert "right_ankle" in out and "50.0 %" in out


def test_info_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"people": [')
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.json: line 1 column 13: invalid JSON" in err
    assert main(["info", str(tmp_path / "nothing.csv")]) == 2
    assert "nothing.csv: no such file or folder" in capsys.readouterr().err


def test_info_and_read_any_dispatch_3d(shared_data, capsys, tmp_path):
    from mpm_core.errors import PoseDataError
    from mpm_core.io import read_2d, read_any
    from mpm_core.sequence import PoseSequence2D

    bvh = shared_data("mocap/bandai/dataset-1_walk_normal_001.bvh")
    assert main(["info", str(bvh)]) == 0
    out = capsys.readouterr().out
    assert "BVH motion capture" in out and "h36m17" in out and "world, m" in out
    seq = read_any(bvh)
    assert isinstance(seq, PoseSequence3D) and seq.units == "m"
    assert isinstance(read_any(shared_data("inputs/gastnet/data/keypoints/baseball.json")), PoseSequence2D)
    try:
        read_2d(bvh)
    except PoseDataError as exc:
        assert "3D file" in str(exc)
    else:
        raise AssertionError("read_2d accepted a BVH file")
    odd = tmp_path / "pose.txt"
    odd.write_text("1 2 3")
    assert main(["info", str(odd)]) == 2
    assert "pose.txt: unknown file type" in capsys.readouterr().err


def test_a_closed_output_pipe_stops_quietly(monkeypatch, capsys, tmp_path):
    """``mpm-studio-cli info ... | head``: the reader goes away; no 'internal error' line, exit 141 (SIGPIPE)."""
    import os

    from mpm_core import cli

    def closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    saved = os.dup(1)  # main() points stdout at /dev/null on a broken pipe: restore it after
    try:
        monkeypatch.setattr(cli, "build_parser", _parser_calling(closed_pipe, cli.build_parser))
        assert cli.main(["info", str(tmp_path)]) == cli.EXIT_BROKEN_PIPE
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert "error" not in capsys.readouterr().err


def _parser_calling(func, build):
    def patched():
        parser = build()
        parser.set_defaults(func=func)
        for action in parser._subparsers._group_actions:
            for sub in action.choices.values():
                sub.set_defaults(func=func)
        return parser

    return patched
