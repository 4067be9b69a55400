"""``mpm-studio-cli models``: every detector and lifting model found, with size, SHA-256, licence and the folders
searched; ``models install FILE`` verifies an ONNX detector (it loads in ONNX Runtime and its input and output
shapes are those of a pose or person model) and copies it into the per-user models folder.

Folders searched for detector files, first match wins: ``--detector-model PATH`` / ``--person-detector-model
PATH`` (a path given on the command line), ``$MPM_STUDIO_MODELS``, the per-user data folder's ``models/``
(``$MPM_STUDIO_DATA_DIR`` overrides the data folder), the shipped ``resources/detectors/``.
"""

from __future__ import annotations

import argparse


def describe_models() -> str:
    """The text ``models`` prints."""
    from mpm_core.video.models import list_models, search_dirs

    lines = ["models:"]
    entries = list_models()
    if not entries:
        lines.append("  (none found)")
    for e in entries:
        lines += [
            f"  {e.name}",
            f"    role:    {e.role}",
            f"    file:    {e.path} ({e.where})",
            f"    size:    {e.size:,} bytes ({e.size / 1e6:.1f} MB)",
            f"    sha256:  {e.sha256}",
            f"    licence: {e.licence}",
        ]
    lines.append("folders searched for detector files (first match wins; a PATH given by --detector-model or")
    lines.append("--person-detector-model comes before all of them):")
    for label, folder in search_dirs():
        state = "" if folder.is_dir() else " (does not exist)"
        lines.append(f"  {label}: {folder}{state}")
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    print(describe_models())
    return 0


def _install(args: argparse.Namespace) -> int:
    from mpm_core.video.models import install_model, model_kind, onnx_session, sha256_of

    dest = install_model(args.file)
    kind = model_kind(onnx_session(dest))
    print(f"installed {dest} ({kind} model, sha256 {sha256_of(dest)})")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "models",
        help="list detector and lifting models; install a detector",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(func=_list)
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", parser_class=type(p))
    inst = sub.add_parser("install", help="verify an ONNX detector file and copy it into the models folder")
    inst.add_argument("file", metavar="FILE", help="an .onnx pose (MoveNet-shaped) or person (YOLOX-shaped) model")
    inst.set_defaults(func=_install)
