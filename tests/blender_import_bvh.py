"""Run inside Blender: import a BVH with Blender's own importer and dump pose-bone world positions per frame.

    blender -b --factory-startup --python tests/blender_import_bvh.py -- in.bvh out.json

Writes {"bones": [names], "parents": [parent name or null], "rest_heads": [B][3], "rest_tails": [B][3],
"frames": T, "heads": [T][B][3], "tails": [T][B][3]} in Blender's world coordinates (Z up; the importer turns a
Y-up BVH with axis_forward="-Z", axis_up="Y" and keeps the file's units at global_scale 1); ``rest_*`` are the
armature's rest pose (edit bones), the others the posed bones per frame.
"""

import builtins
import json
import sys

import bpy

_open = builtins.open


def _open_without_u(file, mode="r", *args, **kwargs):
    # Blender 3.x's importer opens with mode "rU", which Python 3.11 rejects.
    if isinstance(mode, str):
        mode = mode.replace("U", "")
    return _open(file, mode, *args, **kwargs)


def main() -> None:
    argv = sys.argv[sys.argv.index("--") + 1 :]
    src, dst = argv[0], argv[1]
    builtins.open = _open_without_u
    try:
        bpy.ops.import_anim.bvh(
            filepath=src,
            frame_start=1,
            use_fps_scale=False,
            update_scene_fps=False,
            update_scene_duration=True,
            rotate_mode="NATIVE",
            axis_forward="-Z",
            axis_up="Y",
            global_scale=1.0,
        )
    finally:
        builtins.open = _open
    arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    action = arm.animation_data.action
    first, last = (int(round(v)) for v in action.frame_range)
    names = [b.name for b in arm.pose.bones]
    mw = arm.matrix_world
    bones = [arm.data.bones[n] for n in names]
    parents = [b.parent.name if b.parent else None for b in bones]
    rest_heads = [list(mw @ b.head_local) for b in bones]
    rest_tails = [list(mw @ b.tail_local) for b in bones]
    heads, tails = [], []
    for frame in range(first, last + 1):
        bpy.context.scene.frame_set(frame)
        mw = arm.matrix_world
        heads.append([list(mw @ b.head) for b in arm.pose.bones])
        tails.append([list(mw @ b.tail) for b in arm.pose.bones])
    with _open(dst, "w") as f:
        json.dump(
            {
                "bones": names,
                "parents": parents,
                "rest_heads": rest_heads,
                "rest_tails": rest_tails,
                "frames": len(heads),
                "heads": heads,
                "tails": tails,
            },
            f,
        )


main()
