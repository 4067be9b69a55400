"""Per-window result cache: a window's output is reused while its inputs and mask are unchanged.

Keys hash the bytes the network would see (normalised coordinates with hidden joints zeroed, the joint mask and
the frame mask) plus the modality, so an edit changes the keys of exactly the windows it touches. Entries are
evicted least-recently-used once their total size passes ``max_bytes``. Safe under concurrent calls.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

#: Default cache size: ~4,800 windows of 81 frames (~390,000 frames, over 3.5 hours at 30 fps).
DEFAULT_CACHE_BYTES = 128 * 1024 * 1024


def window_key(modality: str, x: np.ndarray, hidden: np.ndarray, frame_hidden: np.ndarray) -> bytes:
    """Digest of one window's network inputs: ``x (W, J, C)`` float32, ``hidden (W, J)``, ``frame_hidden (W,)``."""
    h = hashlib.blake2b(modality.encode(), digest_size=20)
    for a in (x, hidden, frame_hidden):
        a = np.ascontiguousarray(a)
        h.update(str(a.shape).encode())
        h.update(a.data)
    return h.digest()


class WindowCache:
    """Thread-safe LRU map from ``window_key`` to a tuple of output arrays, bounded by their total bytes."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        if max_bytes < 0:
            raise ValueError(f"cache size must be >= 0 bytes, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[bytes, tuple[np.ndarray, ...]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> tuple[np.ndarray, ...] | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: bytes, value: tuple[np.ndarray, ...]) -> None:
        size = sum(a.nbytes for a in value)
        if size > self.max_bytes:
            return
        for a in value:  # entries are shared between callers: make them read-only
            a.flags.writeable = False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= sum(a.nbytes for a in old)
            self._entries[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= sum(a.nbytes for a in evicted)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
