"""BVH joint-name and rest-pose presets (filled in below)."""

BVH_PRESETS = ("h36m", "mixamo", "metarig")
