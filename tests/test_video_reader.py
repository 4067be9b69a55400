"""The video reader: exact seeking (decode cost counted), rotation, variable frame rate, shared videos, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mpm_core.errors import PoseDataError
from mpm_core.video.reader import VideoReader, is_video_path, probe
from tests.video_clips import read_number, write_clip

SEEK_FRAMES, GOP = 600, 50


@pytest.fixture(scope="module")
def seek_clip(tmp_path_factory) -> Path:
    """600 frames at 30 fps, a keyframe every 50, each frame showing its number (text and bar code)."""
    return write_clip(tmp_path_factory.mktemp("clips") / "seek.mp4", SEEK_FRAMES, gop=GOP)


def test_generated_clip_index_matches_container(seek_clip):
    with VideoReader(seek_clip) as r:
        assert r.info.num_frames == SEEK_FRAMES == r.info.header_frames
        assert r.info.fps == pytest.approx(30.0, rel=1e-6)
        assert r.info.max_gop == GOP
        assert r.keyframe_indices() == list(range(0, SEEK_FRAMES, GOP))
        numbers = [read_number(image) for _, image in r.frames()]
    assert numbers == list(range(SEEK_FRAMES))  # sequential decode gives every frame once, in order


def test_seek_is_exact_and_decodes_at_most_one_gop(seek_clip):
    with VideoReader(seek_clip, threads=False) as seq_reader:
        reference = {i: img.copy() for i, img in seq_reader.frames() if i in _TARGETS}
    rng = np.random.default_rng(7)
    order = list(_TARGETS) + list(rng.choice(SEEK_FRAMES, 40, replace=False))
    with VideoReader(seek_clip, cache_frames=4) as r:
        for n in order:
            n = int(n)
            before = r.frames_decoded
            image = r.frame(n)
            decoded = r.frames_decoded - before
            assert read_number(image) == n
            assert decoded <= GOP, f"seek to {n} decoded {decoded} frames"
            # the frames of its group of pictures up to n, at most (0 when cached or just decoded)
            assert decoded <= n % GOP + 1
            if n in reference:
                assert np.array_equal(image, reference[n])


_TARGETS = (0, 1, 49, 50, 51, 99, 349, 350, 598, 599, 300, 10)


def test_frame_cache_serves_scrubbing_without_decoding(seek_clip):
    with VideoReader(seek_clip, cache_frames=8) as r:
        r.frame(123)
        before = r.frames_decoded
        for n in (123, 122, 120, 117):  # frames just decoded on the way to 123 stay cached
            assert read_number(r.frame(n)) == n
        assert r.frames_decoded == before
        r.frame(124)  # the next frame: decoded on, no seek back to the keyframe
        assert r.frames_decoded == before + 1


def test_rotation_tag_is_honoured(tmp_path):
    path = write_clip(tmp_path / "rot.mp4", 20, width=192, height=96, rotation=90)
    with VideoReader(path) as r:
        assert (r.info.width, r.info.height, r.info.rotation) == (96, 192, 90)
        image = r.frame(7)
    assert image.shape == (192, 96, 3)
    # the bar code along the coded frame's top edge is turned 90 degrees counter-clockwise onto the left edge
    assert read_number(np.rot90(image, -1)) == 7


def test_variable_frame_rate_clip(tmp_path):
    # alternating 1/15 s and 1/30 s frame durations
    durations = np.where(np.arange(59) % 2, 1 / 30, 1 / 15)
    times = np.concatenate([[0.0], np.cumsum(durations)])
    path = write_clip(tmp_path / "vfr.mp4", 60, times_s=times)
    with VideoReader(path) as r:
        assert r.info.variable_frame_rate
        assert r.info.num_frames == 60
        assert np.allclose(r.frame_times(), times, atol=1.5e-3)
        assert r.info.fps == pytest.approx(59 / times[-1], rel=0.01)
        for n in (40, 3, 59, 0):
            assert read_number(r.frame(n)) == n


def test_constant_rate_clip_is_not_variable(seek_clip):
    assert not probe(seek_clip).variable_frame_rate


@pytest.mark.parametrize(
    "relpath, frames, fps, size",
    [
        ("inputs/openpose_raga/example_1person/short_video.mp4", 125, 25.0, (1920, 1080)),
        ("inputs/gastnet/data/video/apart.avi", 87, 30.0, (1920, 1080)),
    ],
)
def test_shared_videos_seek_equals_sequential(shared_data, relpath, frames, fps, size):
    path = shared_data(relpath)
    with VideoReader(path, threads=False) as r:
        assert (r.info.num_frames, r.info.image_size) == (frames, size)
        assert r.info.fps == pytest.approx(fps, rel=1e-3)
        assert r.info.container_fps == pytest.approx(fps, rel=1e-3)
        targets = {0, 1, frames // 2, frames // 2 + 1, frames - 1, 17}
        sequential = {}
        count = 0
        for i, image in r.frames():
            assert i == count
            count += 1
            if i in targets:
                sequential[i] = image.copy()
    assert count == frames  # the container's frame count checked against decoding
    with VideoReader(path, cache_frames=1) as r:
        for n in sorted(targets, reverse=True):
            before = r.frames_decoded
            assert np.array_equal(r.frame(n), sequential[n]), n
            assert r.frames_decoded - before <= r.info.max_gop


# -- bad files ------------------------------------------------------------------------------------------------------
def _error(path) -> str:
    with pytest.raises(PoseDataError) as info:
        VideoReader(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_truncated_videos(tmp_path, shared_data):
    clip = write_clip(tmp_path / "full.mp4", 120, faststart=True)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    assert "truncated" in _error(cut)
    avi = shared_data("inputs/gastnet/data/video/apart.avi").read_bytes()
    cut_avi = tmp_path / "cut.avi"
    cut_avi.write_bytes(avi[: len(avi) // 2])
    assert "truncated" in _error(cut_avi)
    plain = write_clip(tmp_path / "plain.mp4", 60)  # index at the end: cut off, nothing can be read
    data = plain.read_bytes()
    cut_plain = tmp_path / "cut_plain.mp4"
    cut_plain.write_bytes(data[: len(data) // 2])
    assert "not a readable video" in _error(cut_plain)


def test_zero_frames(tmp_path):
    import av

    path = tmp_path / "empty.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        out.start_encoding()
    assert "zero frames" in _error(path)


def test_not_a_video(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    assert "not a readable video" in _error(text)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert "not a readable video" in _error(empty)
    assert "no such file" in _error(tmp_path / "missing.mp4")
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    assert "folder" in _error(folder)


def test_damaged_frames_cannot_be_decoded(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", 60, faststart=True)
    data = bytearray(clip.read_bytes())
    start = data.find(b"mdat") + 8
    data[start:] = bytes((b * 7 + 13) % 256 for b in data[start:])  # scramble every coded frame
    bad = tmp_path / "scrambled.mp4"
    bad.write_bytes(bytes(data))
    assert "damaged" in _error(bad) or "decoded" in _error(bad)


def test_unreadable_file(tmp_path):
    """A file without read permission (no read bit: refused even when running as root)."""
    clip = write_clip(tmp_path / "clip.mp4", 10)
    clip.chmod(0)
    try:
        assert _error(clip) == f"{clip}: cannot read: permission denied"
    finally:
        clip.chmod(0o644)


def test_is_video_path():
    assert is_video_path("a/B.MP4") and is_video_path("x.avi") and not is_video_path("k.csv")


def test_keypoints_beside_a_video(tmp_path, shared_data):
    from mpm_core.video.pairing import keypoints_beside

    example = shared_data("inputs/openpose_raga/example_1person/short_video.mp4")
    assert keypoints_beside(example) == example.parent / "output_json"
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    assert keypoints_beside(video) is None
    (tmp_path / "clip.csv").write_text("not,a,pose,file\n1,2,3,4\n")  # no joint columns: not keypoints
    assert keypoints_beside(video) is None
    good = tmp_path / "clip.mp4.csv"
    good.write_text("# layout=coco17\nframe,nose_x,nose_y,nose_score\n0,1,2,0.9\n")
    assert keypoints_beside(video) == good


def test_frame_server_decodes_ahead_of_the_playhead(seek_clip):
    from mpm_core.video.playback import FrameServer

    with FrameServer(seek_clip, ahead=20, keep=40) as server:
        assert read_number(server.frame(100)) == 100
        assert server.wait_ready(120)  # the worker went on from 100 without being asked
        for i in range(100, 121):  # playback from 100 finds every frame ready
            image = server.frame_if_ready(i)
            assert image is not None and read_number(image) == i
        decoded = server.frames_decoded
        assert decoded <= 121 - 100 + GOP + 1  # one seek to the keyframe at 100, then one decode per frame
        assert server.frame_if_ready(555) is None  # a jump: not decoded yet, the worker moves there
        assert read_number(server.frame(555)) == 555
        assert server.frames_decoded - decoded <= GOP + 20 + 1
