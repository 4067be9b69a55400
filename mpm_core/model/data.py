"""Training data: mocap clips -> H36M-17 world motion (cached) -> windows seen by random virtual cameras.

Pipeline:
1. ``list_clips``: every BVH / BVH.gz / AMC clip of the chosen sets under the mocap root, with its motion
   category (from the README tables, ``files.tsv`` or the Bandai file name) and licence group.
2. ``prepare_clips``: read each clip with the project's readers (``load_bvh_h36m`` / ``load_amc_h36m``), keep
   H36M-17 world joints (Y up, metres) at the native frame rate, drop exact duplicates (same decompressed bytes)
   and cache the result per set on disk (keyed by file names, sizes, mtimes and ``DATA_VERSION``).
3. ``split_clips``: train / validation by clip, from a hash of the clip name (reproducible, never by frame).
4. ``WindowSampler``: random training windows (random frame rate, 3D augmentation, random camera, projection,
   detector noise). ``build_validation``: fixed windows with fixed cameras and noise (deterministic).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mpm_core.atomic import atomic_write
from mpm_core.errors import PoseDataError
from mpm_core.model.augment import augment_3d, detector_noise, person_height_px
from mpm_core.model.cameras import random_camera
from mpm_core.model.config import ALL_SETS, AugmentConfig, CameraConfig, DataConfig, default_cache_dir
from mpm_core.model.normalization import normalize_screen

#: Bump when the prepared data would change (reader conventions, frame dropping, ...): invalidates caches.
DATA_VERSION = 1
NUM_JOINTS = 17

#: Licence group of each set (``extra_corpus`` is split by file-name tag in ``licence_of``).
SET_LICENCES = {
    "bandai": "Bandai Namco Research, CC BY-NC 4.0 (non-commercial)",
    "bandai_corpus": "Bandai Namco Research, CC BY-NC 4.0 (non-commercial)",
    "reactidle": "ReActIdle (RSAIT), MIT",
    "reactidle_corpus": "ReActIdle (RSAIT), MIT",
    "cmu_bvh": "CMU Graphics Lab mocap terms",
    "cmu_asfamc": "CMU Graphics Lab mocap terms",
    "hdm05": "HDM05, CC BY-SA 3.0",
    "extra_corpus": "ACCAD, CC BY 3.0",
    "cmu_dance_corpus": "CMU Graphics Lab mocap terms",
}
#: Sets whose clips start with a T-pose calibration frame (cgspeed conversions of CMU, 3dsMax- and Daz-friendly)
#: that is dropped.
TPOSE_FIRST_FRAME = ("cmu_bvh", "cmu_dance_corpus")
#: Frames after the T-pose where a set's conversion blends from the T-pose into the motion (dropped too): in
#: ``cmu_dance_corpus`` joints move up to 230 mm per 1/120 s frame there, against a 99th percentile of ~60 mm after.
BLEND_IN_FRAMES = {"cmu_dance_corpus": 7}

#: Bandai content (from ``dataset-N_<content>_<style>_<id>``) -> coarse motion category.
BANDAI_CATEGORIES = {
    "bow": "gesture",
    "bye": "gesture",
    "byebye": "gesture",
    "call": "gesture",
    "guide": "gesture",
    "respond": "gesture",
    "dash": "run",
    "run": "run",
    "punch": "fight",
    "kick": "fight",
    "slash": "fight",
}


@dataclass
class ClipInfo:
    """One clip file: ``set_name`` (folder), ``name`` (path relative to the set folder), ``path``, ``category``
    (coarse motion category), ``licence`` (licence group)."""

    set_name: str
    name: str
    path: Path
    category: str
    licence: str

    @property
    def key(self) -> str:
        return f"{self.set_name}/{self.name}"


@dataclass
class Clip:
    """A prepared clip: ``joints`` (T, 17, 3) float32, H36M-17, world frame (Y up), metres; ``fps`` its rate."""

    info: ClipInfo
    joints: np.ndarray
    fps: float
    content_hash: str

    @property
    def duration_s(self) -> float:
        return (len(self.joints) - 1) / self.fps


# -- listing and categories -----------------------------------------------------------------------------------


def bandai_category(file_name: str) -> str:
    """Coarse category of a Bandai clip from its name (``dataset-1_walk-back_old_001.bvh`` -> walk)."""
    m = re.match(r"dataset-\d+_([^_]+)_", file_name)
    content = m.group(1) if m else ""
    if content in BANDAI_CATEGORIES:
        return BANDAI_CATEGORIES[content]
    for prefix, category in (("walk", "walk"), ("raise-up", "gesture"), ("wave", "gesture"), ("dance", "dance")):
        if content.startswith(prefix):
            return category
    return "misc"


def coarse_category(label: str) -> str:
    """Map a ``files.tsv`` category (``martial_arts/kick``, ``idle/stand``, ``skip/hop``...) to a coarse one."""
    label = label.strip().lower()
    rules = (
        (("martial",), "fight"),
        (("idle", "arm_swing"), "idle"),
        (("walk",), "walk"),
        (("run",), "run"),
        (("skip", "jump", "acrobatics"), "jump"),
        (("crouch", "crawl", "lie_down"), "floor"),
        (("pick_up",), "carry"),
        (("gesture",), "gesture"),
        (("dance",), "dance"),
        (("fight",), "fight"),
    )
    for prefixes, category in rules:
        if label.startswith(prefixes):
            return category
    return "misc"


def _readme_categories(root: Path) -> dict[str, str]:
    """``{"bandai/dataset-1_bow_normal_001.bvh": "gesture", ...}`` from the per-file tables of the README."""
    readme = root / "README.md"
    out: dict[str, str] = {}
    if not readme.is_file():
        return out
    for line in readme.read_text(encoding="utf-8", errors="replace").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and "/" in cells[0] and not cells[0].startswith("-"):
            out[cells[0].split(" ")[0]] = coarse_category(cells[-1])
    return out


def _tsv_categories(folder: Path) -> dict[str, str]:
    tsv = folder / "files.tsv"
    out: dict[str, str] = {}
    if not tsv.is_file():
        return out
    lines = tsv.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines:
        return out
    header = lines[0].split("\t")
    if "file" not in header or "category" not in header:
        return out
    fi, ci = header.index("file"), header.index("category")
    for line in lines[1:]:
        cells = line.split("\t")
        if len(cells) > max(fi, ci):
            out[cells[fi]] = coarse_category(cells[ci])
    return out


def licence_of(set_name: str, file_name: str) -> str:
    """Licence group of one clip."""
    if set_name == "extra_corpus" and file_name.startswith("cmu_"):
        return SET_LICENCES["cmu_bvh"]
    return SET_LICENCES[set_name]


def _is_clip(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".bvh", ".bvh.gz", ".amc"))


def list_clips(root: str | os.PathLike, sets: list[str]) -> list[ClipInfo]:
    """Every clip file of ``sets`` under ``root``, sorted by set (in ``ALL_SETS`` order) then name.

    Raises ``PoseDataError`` for an unknown set or a set folder that is missing or has no clips.
    """
    root = Path(root)
    readme = _readme_categories(root)
    clips: list[ClipInfo] = []
    for set_name in [s for s in ALL_SETS if s in sets]:
        folder = root / set_name
        if not folder.is_dir():
            raise PoseDataError(f"mocap set folder {set_name!r} not found", folder)
        tsv = _tsv_categories(folder)
        files = sorted(p for p in folder.iterdir() if p.is_file() and _is_clip(p))
        if not files:
            raise PoseDataError("no BVH / BVH.gz / AMC clips in this set folder", folder)
        for p in files:
            if set_name.startswith("bandai"):
                category = bandai_category(p.name)
            elif set_name.startswith("reactidle"):
                category = "idle"
            else:
                category = tsv.get(p.name) or readme.get(f"{set_name}/{p.name}", "misc")
            clips.append(ClipInfo(set_name, p.name, p, category, licence_of(set_name, p.name)))
    unknown = sorted(set(sets) - set(ALL_SETS))
    if unknown:
        raise PoseDataError(f"unknown mocap set(s) {', '.join(unknown)}; known: {', '.join(ALL_SETS)}")
    return clips


# -- reading and caching --------------------------------------------------------------------------------------


def content_hash(path: Path) -> str:
    """SHA-1 of the file's (decompressed, for .gz) bytes: equal for a raw clip and its gzipped copy."""
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise PoseDataError(f"corrupt gzip data: {exc}", path) from None
    return hashlib.sha1(data).hexdigest()


def read_clip(info: ClipInfo) -> tuple[np.ndarray, float]:
    """``((T, 17, 3) float32 world metres Y-up, fps)`` of one clip, through the project's mocap readers."""
    if info.path.suffix.lower() == ".amc":
        from mpm_core.io.asf_amc import load_amc_h36m

        seq = load_amc_h36m(info.path)
    else:
        from mpm_core.io.bvh import load_bvh_h36m

        seq = load_bvh_h36m(info.path)
    seq = seq.to_h36m().in_metres()
    joints = seq.keypoints.astype(np.float32)
    if info.set_name in TPOSE_FIRST_FRAME or (info.set_name == "extra_corpus" and info.name.startswith("cmu_")):
        joints = joints[1 + BLEND_IN_FRAMES.get(info.set_name, 0) :]
    if not seq.visible.all():
        raise PoseDataError("mocap clip has missing joints after conversion to H36M-17", info.path)
    return joints, float(seq.fps)


def _set_cache_key(clips: list[ClipInfo]) -> str:
    h = hashlib.sha256(f"v{DATA_VERSION}".encode())
    for c in clips:
        st = c.path.stat()
        h.update(f"{c.key}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        asf = sorted(c.path.parent.glob("*.asf")) if c.path.suffix.lower() == ".amc" else []
        for a in asf:
            h.update(f"{a.name}|{a.stat().st_size}|{a.stat().st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def _load_set_cache(path: Path, clips: list[ClipInfo]) -> list[Clip] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            joints, offsets = z["joints"], z["offsets"]
    except (OSError, ValueError, KeyError):
        return None  # unreadable cache: rebuild it
    by_key = {c.key: c for c in clips}
    out = []
    for i, entry in enumerate(meta["clips"]):
        info = by_key.get(entry["key"])
        if info is None:
            return None
        out.append(Clip(info, joints[offsets[i] : offsets[i + 1]], float(entry["fps"]), entry["hash"]))
    return out


def _save_set_cache(path: Path, clips: list[Clip]) -> None:
    offsets = np.cumsum([0] + [len(c.joints) for c in clips]).astype(np.int64)
    joints = np.concatenate([c.joints for c in clips]) if clips else np.zeros((0, NUM_JOINTS, 3), np.float32)
    meta = {
        "version": DATA_VERSION,
        "clips": [{"key": c.info.key, "fps": c.fps, "hash": c.content_hash} for c in clips],
    }
    meta_bytes = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
    with atomic_write(path, binary=True) as f:
        np.savez(f, joints=joints, offsets=offsets, meta=meta_bytes)


def prepare_clips(config: DataConfig, progress: bool = True, root: str | os.PathLike | None = None) -> list[Clip]:
    """Read (or load from cache) every clip of ``config.sets``; exact duplicates keep their first occurrence.

    ``root`` overrides ``config.root``. Clips shorter than ``config.min_frames`` frames are dropped.
    """
    from mpm_core.model.config import default_mocap_root

    root = Path(root or config.root or default_mocap_root())
    cache_dir = Path(config.cache_dir) if config.cache_dir else default_cache_dir()
    infos = list_clips(root, config.sets)
    result: list[Clip] = []
    seen: set[str] = set()
    for set_name in [s for s in ALL_SETS if s in config.sets]:
        set_infos = [c for c in infos if c.set_name == set_name]
        if config.max_clips_per_set:
            set_infos = set_infos[: config.max_clips_per_set]
        cache_path = cache_dir / "prepared" / f"{set_name}-{_set_cache_key(set_infos)}.npz"
        clips = _load_set_cache(cache_path, set_infos) if cache_path.is_file() else None
        if clips is None:
            clips = []
            iterator = set_infos
            if progress:
                from tqdm import tqdm

                iterator = tqdm(set_infos, desc=f"reading {set_name}", unit="clip", leave=False)
            for info in iterator:
                joints, fps = read_clip(info)
                clips.append(Clip(info, joints, fps, content_hash(info.path)))
            _save_set_cache(cache_path, clips)
        for clip in clips:
            if clip.content_hash in seen or len(clip.joints) < config.min_frames:
                continue
            seen.add(clip.content_hash)
            result.append(clip)
    if not result:
        raise PoseDataError(f"no usable clips in sets {', '.join(config.sets)}", root)
    return result


# -- split ----------------------------------------------------------------------------------------------------


def _unit_hash(text: str) -> float:
    """A stable number in [0, 1) from a string (not Python's salted ``hash``)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16) / float(16**12)


def split_clips(clips: list[Clip], val_fraction: float, salt: str) -> tuple[list[Clip], list[Clip]]:
    """Train / validation split by clip: a clip is in validation when the hash of ``salt + key`` < ``val_fraction``.

    Each set with at least two clips gets at least one validation clip (its lowest hash) and keeps at least one
    training clip. The same names and salt always give the same split.
    """
    if val_fraction <= 0:
        return list(clips), []
    scores = {c.info.key: _unit_hash(salt + "|" + c.info.key) for c in clips}
    val_keys = {k for k, s in scores.items() if s < val_fraction}
    for set_name in {c.info.set_name for c in clips}:
        members = sorted((c for c in clips if c.info.set_name == set_name), key=lambda c: scores[c.info.key])
        if len(members) < 2:  # a set with a single clip trains on it
            val_keys.difference_update(c.info.key for c in members)
            continue
        if not any(c.info.key in val_keys for c in members):
            val_keys.add(members[0].info.key)
        if all(c.info.key in val_keys for c in members):
            val_keys.discard(members[-1].info.key)
    train = [c for c in clips if c.info.key not in val_keys]
    val = [c for c in clips if c.info.key in val_keys]
    return train, val


# -- windows --------------------------------------------------------------------------------------------------


def resample(joints: np.ndarray, src_fps: float, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``(N, J, 3)`` joints at ``times`` seconds (clamped to the clip)."""
    pos = np.clip(np.asarray(times, np.float64) * src_fps, 0, len(joints) - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, len(joints) - 1)
    w = (pos - i0)[:, None, None].astype(np.float32)
    return joints[i0] * (1 - w) + joints[i1] * w


@dataclass
class Batch:
    """A batch of windows (B windows of T frames, 17 joints).

    ``x2d``: (B, T, J, 2) detector-like 2D, normalised screen units (0 at hidden joints). ``x2d_clean``: (B, T, J, 2)
    the exact projection, normalised. ``hidden``: (B, T, J) bool, joints the "detector" dropped. ``scores``: (B, T, J).
    ``y3d``: (B, T, J, 3) metres, camera frame (x right, y down, z forward), root-relative (pelvis 0).
    ``pad``: (B, T) bool, padding frames (no data: excluded from losses and metrics). ``fps``: (B,).
    ``image_size``: (B, 2) width, height in pixels. ``focal``: (B,) pixels.
    """

    x2d: np.ndarray
    x2d_clean: np.ndarray
    hidden: np.ndarray
    scores: np.ndarray
    y3d: np.ndarray
    pad: np.ndarray
    fps: np.ndarray
    image_size: np.ndarray
    focal: np.ndarray

    def __len__(self) -> int:
        return len(self.x2d)

    def subset(self, rows) -> Batch:
        return Batch(**{k: getattr(self, k)[rows] for k in self.__dataclass_fields__})


def _window_times(rng: np.random.Generator, duration: float, fps: float, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample times (window,) and pad mask (window,) for one window at ``fps`` from a clip of ``duration`` s."""
    span = (window - 1) / fps
    if duration >= span:
        t0 = rng.uniform(0, duration - span)
        return t0 + np.arange(window) / fps, np.zeros(window, bool)
    n = int(math.floor(duration * fps + 1e-9)) + 1
    offset = int(rng.integers(0, window - n + 1))
    k = np.clip(np.arange(window) - offset, 0, n - 1)
    pad = (np.arange(window) < offset) | (np.arange(window) >= offset + n)
    return k / fps, pad


def render_window(
    rng: np.random.Generator,
    joints_world: np.ndarray,
    cameras: CameraConfig,
    augment: AugmentConfig | None,
    noise: AugmentConfig | None,
) -> dict[str, np.ndarray]:
    """One window of world joints (T, J, 3) -> augmented 3D, random camera, clean and noisy 2D.

    ``augment`` None: no 3D augmentation; ``noise`` None: no 2D noise (scores 1, nothing hidden).
    """
    world = augment_3d(rng, joints_world, augment) if augment is not None else joints_world
    camera = random_camera(rng, world, cameras)
    cam = camera.world_to_camera(world)
    px = camera.project(cam)
    T = len(px)
    if noise is not None:
        noisy = detector_noise(rng, px, noise)
        px_noisy, scores, hidden = noisy.keypoints, noisy.scores, noisy.hidden
    else:
        px_noisy, scores, hidden = px, np.ones((T, NUM_JOINTS), np.float32), np.zeros((T, NUM_JOINTS), bool)
    w, h = camera.image_size
    x2d = normalize_screen(px_noisy, w, h)
    x2d[hidden] = 0.0
    return {
        "x2d": x2d,
        "x2d_clean": normalize_screen(px, w, h),
        "hidden": hidden,
        "scores": scores,
        "y3d": (cam - cam[:, :1]).astype(np.float32),
        "image_size": np.array([w, h], np.int32),
        "focal": np.float32(camera.focal),
        "height_px": np.float32(person_height_px(px)),
    }


def _stack(items: list[dict], pads: list[np.ndarray], fps: list[float]) -> Batch:
    return Batch(
        x2d=np.stack([i["x2d"] for i in items]),
        x2d_clean=np.stack([i["x2d_clean"] for i in items]),
        hidden=np.stack([i["hidden"] for i in items]),
        scores=np.stack([i["scores"] for i in items]),
        y3d=np.stack([i["y3d"] for i in items]),
        pad=np.stack(pads),
        fps=np.array(fps, np.float32),
        image_size=np.stack([i["image_size"] for i in items]),
        focal=np.array([i["focal"] for i in items], np.float32),
    )


class WindowSampler:
    """Random training windows from clips: clip drawn by duration x set weight, random frame rate in
    ``data.fps_range``, random start, 3D augmentation, random camera, detector noise."""

    def __init__(
        self,
        clips: list[Clip],
        data: DataConfig,
        cameras: CameraConfig,
        augment: AugmentConfig,
        window: int,
        rng: np.random.Generator,
    ):
        if not clips:
            raise PoseDataError("no training clips")
        self.clips, self.data, self.cameras, self.augment, self.window, self.rng = (
            clips,
            data,
            cameras,
            augment,
            window,
            rng,
        )
        weights = np.array([max(c.duration_s, 1.0 / c.fps) * data.set_weights.get(c.info.set_name, 1.0) for c in clips])
        if weights.sum() <= 0:
            raise PoseDataError("every training set has weight 0 (data.set_weights)")
        self.p = weights / weights.sum()

    def sample(self, batch_size: int) -> Batch:
        items, pads, fpss = [], [], []
        for _ in range(batch_size):
            clip = self.clips[int(self.rng.choice(len(self.clips), p=self.p))]
            fps = float(self.rng.uniform(*self.data.fps_range))
            times, pad = _window_times(self.rng, clip.duration_s, fps, self.window)
            joints = resample(clip.joints, clip.fps, times)
            items.append(render_window(self.rng, joints, self.cameras, self.augment, self.augment))
            pads.append(pad)
            fpss.append(fps)
        return _stack(items, pads, fpss)


@dataclass
class ValidationSet:
    """Deterministic validation windows: ``clean`` has the exact 2D, ``noisy`` the same windows with detector-like
    noise; ``score`` (B, T) bool marks the frames that count (each clip frame once, pads excluded);
    ``clip_keys`` / ``categories`` / ``sets`` per window."""

    clean: Batch
    noisy: Batch
    score: np.ndarray
    clip_keys: list[str]
    categories: list[str]
    sets: list[str]

    def __len__(self) -> int:
        return len(self.clean)


def _clip_windows(n: int, window: int, stride: int) -> list[tuple[int, int]]:
    """(start, first frame that counts) of windows covering frames 0..n-1; the last one ends at the clip end."""
    if n <= window:
        return [(0, 0)]
    out, start = [], 0
    while start + window < n:
        out.append((start, start))
        start += stride
    last = n - window
    out.append((last, max(start, last)))
    return out


def build_validation(
    clips: list[Clip],
    data: DataConfig,
    cameras: CameraConfig,
    augment: AugmentConfig,
    window: int,
    seed: int = 0,
) -> ValidationSet:
    """Fixed validation windows: each clip resampled to one of ``data.val_fps`` (chosen by its name), cut into
    windows of ``window`` frames (stride ``data.val_stride``), each seen by a camera and with noise drawn from a
    generator seeded by (``seed``, clip name, window index). No 3D augmentation. Same input -> same arrays."""
    from dataclasses import replace

    noise_cfg = replace(augment, noise_prob=1.0)
    clean_items, noisy_items, pads, fpss, scores, keys, cats, sets = [], [], [], [], [], [], [], []
    for clip in clips:
        key = clip.info.key
        fps = float(data.val_fps[int(_unit_hash("fps|" + key) * len(data.val_fps))])
        n = int(math.floor(clip.duration_s * fps + 1e-9)) + 1
        if n < data.min_frames:
            continue
        clip_seed = int(_unit_hash("seed|" + key) * 2**31)
        for w_index, (start, counts_from) in enumerate(_clip_windows(n, window, max(1, data.val_stride))):
            rng = np.random.default_rng([seed, clip_seed, w_index])
            k = np.arange(window) + start
            pad = k >= n
            joints = resample(clip.joints, clip.fps, np.minimum(k, n - 1) / fps)
            state = rng.bit_generator.state
            clean_items.append(render_window(rng, joints, cameras, None, None))
            rng.bit_generator.state = state  # the same camera for the noisy copy
            noisy_items.append(render_window(rng, joints, cameras, None, noise_cfg))
            pads.append(pad)
            fpss.append(fps)
            scores.append((k >= counts_from) & ~pad)
            keys.append(key)
            cats.append(clip.info.category)
            sets.append(clip.info.set_name)
    if not clean_items:
        raise PoseDataError("no validation windows (no validation clips long enough)")
    return ValidationSet(
        clean=_stack(clean_items, pads, fpss),
        noisy=_stack(noisy_items, pads, fpss),
        score=np.stack(scores),
        clip_keys=keys,
        categories=cats,
        sets=sets,
    )


def data_manifest(train: list[Clip], val: list[Clip]) -> dict:
    """What a model was trained on: per set the clip counts, training minutes and licence group(s) (for the
    checkpoint sidecar and the model card)."""
    out: dict[str, dict] = {}
    for split, clips in (("train", train), ("val", val)):
        for c in clips:
            entry = out.setdefault(
                c.info.set_name, {"licences": [], "train_clips": 0, "val_clips": 0, "train_minutes": 0.0}
            )
            entry[f"{split}_clips"] += 1
            if c.info.licence not in entry["licences"]:
                entry["licences"] = sorted([*entry["licences"], c.info.licence])
            if split == "train":
                entry["train_minutes"] = round(entry["train_minutes"] + c.duration_s / 60, 2)
    return out
