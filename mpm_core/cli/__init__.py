"""``mpm-studio-cli``: argparse subcommands over the library (also ``python -m mpm_core``).

Each subcommand lives in its own module with ``register(subparsers)``; the module sets ``func`` on its parser.
Bad input exits with code 2 and one line on stderr (``--debug`` before the command adds the traceback); an
unexpected exception (a bug) exits 1 with one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings

from mpm_core.errors import PoseDataError

#: Modules that each add subcommands, in the order they are listed in ``--help``.
SUBCOMMAND_MODULES = ("info", "lift", "train", "detect", "overlay", "models")

EXIT_OK = 0
EXIT_BAD_INPUT = 2
#: Exit code of an unexpected exception (a bug; ``--debug`` shows its traceback).
EXIT_INTERNAL = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like bad input
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mpm-studio-cli", description="MPM Studio: 2D pose sequences to 3D motion.")
    from mpm_core import __version__

    parser.add_argument("--version", action="version", version=f"mpm-studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error (for bug reports)")
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
    debug = bool(getattr(args, "debug", False))
    # numpy's RuntimeWarnings (overflow, invalid value) come from values the readers check anyway: they are kept
    # off stderr so that bad input gives one line, and shown with --debug.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = int(args.func(args) or EXIT_OK)
        except PoseDataError as exc:
            if debug:
                _show_warnings(caught, debug)
                traceback.print_exc()
            print(f"mpm-studio-cli {args.command}: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print(f"mpm-studio-cli {args.command}: cancelled", file=sys.stderr)
            return 130
        except Exception as exc:  # a bug: one line, the traceback with --debug
            if debug:
                _show_warnings(caught, debug)
                traceback.print_exc()
            problem = str(exc).splitlines()[0][:200] if str(exc) else ""
            print(
                f"mpm-studio-cli {args.command}: internal error: {type(exc).__name__}: {problem}"
                " (a bug: rerun with --debug for the traceback and report it)",
                file=sys.stderr,
            )
            return EXIT_INTERNAL
    _show_warnings(caught, debug)
    return code


def _show_warnings(caught: list[warnings.WarningMessage], debug: bool) -> None:
    """Print warnings recorded during a command: numpy's RuntimeWarnings only with ``--debug``."""
    for w in caught:
        if debug or not issubclass(w.category, RuntimeWarning):
            print(warnings.formatwarning(w.message, w.category, w.filename, w.lineno).rstrip(), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
