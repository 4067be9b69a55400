"""MPM Studio core library: pose formats, skeletons, the MPM model, the lifting engine, exports and the CLI.

Qt-free: nothing under ``mpm_core`` imports Qt.
"""

from mpm_core.errors import PoseDataError
from mpm_core.sequence import PoseSequence2D, PoseSequence3D

__version__ = "0.1.0"
__all__ = ["PoseDataError", "PoseSequence2D", "PoseSequence3D", "__version__"]
