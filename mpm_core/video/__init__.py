"""Videos: reading with exact seeking, 2D detection on ONNX Runtime, the detection pipeline and its cache,
and drawing skeletons over frames. Qt-free.

- ``reader``: ``VideoReader`` / ``VideoInfo`` / ``probe`` (PyAV).
- ``detectors``: ``FrameDetector`` interface, ``MoveNetSingle``, ``MultiPerson`` (YOLOX-nano + MoveNet).
- ``pipeline``: ``detect_video`` / ``detect_video_cached`` -> ``DetectionResult`` (tracks as ``PoseSequence2D``).
- ``cache``: the detection cache keyed by the video's content and the detector.
- ``models``: detector files, search folders, verification and install, ONNX Runtime sessions.
- ``overlay``: skeletons drawn over frames, overlay videos.
- ``playback``: ``FrameServer``, frames for display decoded ahead of the playhead.
- ``pairing``: ``keypoints_beside``, the keypoint file made from a video.
"""

from mpm_core.video.reader import VIDEO_EXTENSIONS, VideoInfo, VideoReader, is_video_path, probe

__all__ = ["VIDEO_EXTENSIONS", "VideoInfo", "VideoReader", "is_video_path", "probe"]
