"""Colours the 2D and 3D views share, so a joint's state and a bone's side read the same in both (RGB 0-255)."""

from __future__ import annotations

from app.state import FORCED, LOW_CONFIDENCE, MISSING, USER_HIDDEN, VISIBLE

#: Bone colours by the side of the child joint: the performer's left, right, centre.
SIDE_COLOURS = {"L": (66, 135, 245), "R": (235, 87, 87), "C": (200, 200, 200)}
#: Joint colours by state: seen joints are filled, the model's guesses hollow rings in their state's colour.
STATE_COLOURS = {
    VISIBLE: (245, 245, 245),
    FORCED: (90, 220, 120),
    USER_HIDDEN: (255, 150, 40),
    LOW_CONFIDENCE: (250, 215, 60),
    MISSING: (150, 150, 158),
}
