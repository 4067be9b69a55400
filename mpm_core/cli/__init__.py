"""``mpm-studio-cli``: argparse subcommands over the library (also ``python -m mpm_core``).

Each subcommand lives in its own module with ``register(subparsers)``; the module sets ``func`` on its parser.
Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mpm_core.errors import PoseDataError

#: Modules that each add subcommands, in the order they are listed in ``--help``.
SUBCOMMAND_MODULES = ("info", "lift", "train", "detect", "overlay", "models")

EXIT_OK = 0
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like bad input
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mpm-studio-cli", description="MPM Studio: 2D pose sequences to 3D motion.")
    from mpm_core import __version__

    parser.add_argument("--version", action="version", version=f"mpm-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"mpm_core.cli.{name}")
        except ModuleNotFoundError as exc:  # a subcommand module not written yet
            if exc.name != f"mpm_core.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args) or EXIT_OK)
    except PoseDataError as exc:
        print(f"mpm-studio-cli {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"mpm-studio-cli {args.command}: cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
