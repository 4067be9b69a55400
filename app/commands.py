"""Undo commands. Every edit of the document is one of these on its ``QUndoStack``.

``MaskEdit`` keeps only the changed frame span of the mask, and once the lifted result for the new mask is in, the
changed rows of the result before and after; undo and redo then restore mask *and* result without a model call.
A drag is one command (``mergeWith`` on the drag's id). The stack's memory is capped by the document: past the
cap, the oldest commands drop their result rows and re-lift on undo instead (the mask is always kept).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QUndoCommand

from app.state import CompletionResult
from mpm_core.engine.masks import Mask

if TYPE_CHECKING:
    from app.document import Document

MASK_EDIT_ID = 1001
SETTING_EDIT_ID = 1002
PROBE_EDIT_ID = 1003
_MASK_FIELDS = ("user", "forced", "low_confidence", "missing")


# -- spans of masks and results -----------------------------------------------------------------------------------
def mask_span(a: Mask, b: Mask) -> tuple[int, int]:
    """``(lo, hi)`` rows where two masks differ in any origin ((0, 0) when equal)."""
    diff = np.zeros(a.num_frames, bool)
    for name in _MASK_FIELDS:
        diff |= (getattr(a, name) != getattr(b, name)).any(axis=1)
    rows = np.nonzero(diff)[0]
    return (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)


@dataclass
class MaskRows:
    """Rows ``lo:hi`` of every origin of a mask, and its threshold."""

    lo: int
    arrays: dict[str, np.ndarray]
    threshold: float | None

    @classmethod
    def take(cls, mask: Mask, lo: int, hi: int) -> MaskRows:
        return cls(lo, {n: getattr(mask, n)[lo:hi].copy() for n in _MASK_FIELDS}, mask.threshold)

    def apply(self, mask: Mask) -> Mask:
        changes: dict = {"threshold": self.threshold}
        for name, rows in self.arrays.items():
            full = getattr(mask, name).copy()
            full[self.lo : self.lo + len(rows)] = rows
            changes[name] = full
        return dataclasses.replace(mask, **changes)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())


def result_arrays(result) -> dict[str, np.ndarray]:
    """The per-frame arrays of a result (a ``Reconstruction`` or a ``CompletionResult``), by name."""
    if isinstance(result, CompletionResult):
        return {"keypoints": result.sequence.keypoints, "scores": result.sequence.scores, "filled": result.filled}
    return {
        "poses_3d": result.poses_3d,
        "completed_2d": result.completed_2d,
        "model_2d": result.model_2d,
        "hidden": result.hidden,
    }


def result_span(a, b) -> tuple[int, int]:
    """``(lo, hi)`` rows where two results of one input differ."""
    arrays_a, arrays_b = result_arrays(a), result_arrays(b)
    diff = np.zeros(len(arrays_a["hidden" if "hidden" in arrays_a else "filled"]), bool)
    for name, values in arrays_a.items():
        diff |= (values != arrays_b[name]).reshape(len(values), -1).any(axis=1)
    rows = np.nonzero(diff)[0]
    return (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)


@dataclass
class ResultRows:
    """Rows ``lo:hi`` of a result's arrays: enough to rebuild it from a result of the same input."""

    lo: int
    arrays: dict[str, np.ndarray]

    @classmethod
    def take(cls, result, lo: int, hi: int) -> ResultRows:
        return cls(lo, {n: a[lo:hi].copy() for n, a in result_arrays(result).items()})

    def apply(self, result, mask: Mask):
        """``result`` with these rows pasted in and ``mask`` as its mask (a new object)."""
        full = {}
        for name, values in result_arrays(result).items():
            rows = self.arrays[name]
            new = values.copy()
            new[self.lo : self.lo + len(rows)] = rows
            full[name] = new
        if isinstance(result, CompletionResult):
            seq = result.sequence.replace(keypoints=full["keypoints"], scores=full["scores"])
            return CompletionResult(seq, full["filled"], mask)
        return dataclasses.replace(result, mask=mask, **full)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())


# -- commands -----------------------------------------------------------------------------------------------------
class MaskEdit(QUndoCommand):
    """A change of the mask (a click, a drag, a preset, a threshold).

    While a drag is in progress the command holds the whole masks before and after (a drag merges edits); when it
    ends, ``compact`` keeps only the changed span. ``record_results`` stores the changed rows of the result before
    and after once the final result for the new mask arrives.
    """

    def __init__(self, document: Document, before: Mask, after: Mask, text: str, drag_id: int | None = None):
        super().__init__(text)
        self.document = document
        self.drag_id = drag_id
        self._before_mask: Mask | None = before
        self._after_mask: Mask | None = after
        self._before_rows: MaskRows | None = None
        self._after_rows: MaskRows | None = None
        # The committed result for ``before`` (if the document has one): kept until the new result arrives.
        base = document.committed
        self._base_result = base if base is not None and _mask_of(base) == before else None
        self.result_before: ResultRows | None = None
        self.result_after: ResultRows | None = None
        self._first = True

    def id(self) -> int:  # noqa: A003 (Qt's name)
        return MASK_EDIT_ID

    @property
    def after(self) -> Mask:
        """The mask after the edit (from the stored span once compacted)."""
        if self._after_mask is not None:
            return self._after_mask
        return self._after_rows.apply(self.document.mask)

    def is_after(self, mask: Mask) -> bool:
        if self._after_mask is not None:
            return self._after_mask == mask
        rows = self._after_rows
        return all(
            np.array_equal(getattr(mask, n)[rows.lo : rows.lo + len(a)], a) for n, a in rows.arrays.items()
        ) and (rows.threshold == mask.threshold)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt's name)
        if not isinstance(other, MaskEdit) or self.drag_id is None or other.drag_id != self.drag_id:
            return False
        if self._after_mask is None:  # already compacted: the drag has ended
            return False
        self._after_mask = other._after_mask
        self.result_after = None
        return True

    def compact(self) -> None:
        """Keep only the changed span of the masks (called when the drag ends, or at once for a single edit)."""
        if self._before_mask is None or self._after_mask is None:
            return
        lo, hi = mask_span(self._before_mask, self._after_mask)
        self._before_rows = MaskRows.take(self._before_mask, lo, hi)
        self._after_rows = MaskRows.take(self._after_mask, lo, hi)
        self._before_mask = self._after_mask = None

    def record_results(self, after_result) -> None:
        """Store the changed rows of the result before (the base) and after (``after_result``)."""
        base = self._base_result
        self._base_result = None
        if base is None:
            return
        lo, hi = result_span(base, after_result)
        self.result_before = ResultRows.take(base, lo, hi)
        self.result_after = ResultRows.take(after_result, lo, hi)

    def drop_results(self) -> None:
        """Forget the stored result rows (memory cap): undo and redo then re-lift."""
        self.result_before = self.result_after = None
        self._base_result = None

    @property
    def nbytes(self) -> int:
        total = 0
        for item in (self._before_rows, self._after_rows, self.result_before, self.result_after):
            if item is not None:
                total += item.nbytes
        for mask in (self._before_mask, self._after_mask):
            if mask is not None:
                total += sum(getattr(mask, n).nbytes for n in _MASK_FIELDS)
        return total

    def redo(self) -> None:
        if self._first:  # the push: the document has the edit's mask ready
            self._first = False
            self.document._apply_mask(self._after_mask, None, from_push=True)
            return
        mask = self._after_rows.apply(self.document.mask) if self._after_rows else self._after_mask
        self.document._apply_mask(mask, self.result_after)

    def undo(self) -> None:
        mask = self._before_rows.apply(self.document.mask) if self._before_rows else self._before_mask
        self.document._apply_mask(mask, self.result_before)


def _mask_of(result) -> Mask:
    return result.mask


class SettingEdit(QUndoCommand):
    """A change of a display setting (smoothing, bone lengths, coordinates); consecutive changes of one key from
    a slider merge."""

    def __init__(self, document: Document, key: str, before, after, text: str, merge: bool = False):
        super().__init__(text)
        self.document, self.key, self.before, self.after, self.merge = document, key, before, after, merge

    def id(self) -> int:  # noqa: A003
        return SETTING_EDIT_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802
        if isinstance(other, SettingEdit) and self.merge and other.merge and other.key == self.key:
            self.after = other.after
            return True
        return False

    def redo(self) -> None:
        self.document._apply_setting(self.key, self.after)

    def undo(self) -> None:
        self.document._apply_setting(self.key, self.before)


class ProbeEdit(QUndoCommand):
    """A change of the 3D input's mode or virtual camera; slider drags merge into one command."""

    def __init__(self, document: Document, before, after, text: str, merge: bool = False):
        super().__init__(text)
        self.document, self.before, self.after, self.merge = document, before, after, merge

    def id(self) -> int:  # noqa: A003
        return PROBE_EDIT_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802
        if isinstance(other, ProbeEdit) and self.merge and other.merge:
            self.after = other.after
            return True
        return False

    def redo(self) -> None:
        self.document._apply_probe(self.after)

    def undo(self) -> None:
        self.document._apply_probe(self.before)
