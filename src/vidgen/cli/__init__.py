"""The ``vidgen`` command line: one thin module per subcommand.

Errors the user can fix print as one line plus a hint; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from vidgen import __version__
from vidgen.cli import data as data_cmd
from vidgen.cli import demo as demo_cmd
from vidgen.cli import eval as eval_cmd
from vidgen.cli import evaluator as evaluator_cmd
from vidgen.cli import interpolate as interpolate_cmd
from vidgen.cli import listing as list_cmd
from vidgen.cli import models as models_cmd
from vidgen.cli import pipeline as pipeline_cmd
from vidgen.cli import post as post_cmd
from vidgen.cli import predict as predict_cmd
from vidgen.cli import reconstruct as reconstruct_cmd
from vidgen.cli import sample as sample_cmd
from vidgen.cli import train as train_cmd
from vidgen.cli import upscale as upscale_cmd
from vidgen.cli import ui as ui_cmd
from vidgen.errors import VidgenError

COMMANDS = (train_cmd, sample_cmd, predict_cmd, reconstruct_cmd, interpolate_cmd, eval_cmd, evaluator_cmd, data_cmd,
            models_cmd, list_cmd, ui_cmd, demo_cmd, post_cmd, pipeline_cmd,
            upscale_cmd)


class _Declared(Exception):
    """Raised by :class:`_HelpOnly` to stop a command's ``add_parser`` once it has said its name and help."""

    def __init__(self, name: str, options: dict):
        super().__init__(name)
        self.name, self.options = name, options


class _HelpOnly:
    """Stands in for the subcommands while only the command names and one-line helps are needed.

    A command's ``add_parser(sub)`` starts with ``sub.add_parser(NAME, help=...)``; what follows
    (its options, registry listings that import torch and every model) runs only for the
    command being run, so ``vidgen --help`` and ``vidgen train ...`` do not pay for
    ``vidgen eval``'s help.
    """

    def add_parser(self, name: str, **options) -> None:
        raise _Declared(name, options)


def _declared(module) -> tuple[str, dict]:
    try:
        module.add_parser(_HelpOnly())
    except _Declared as d:
        return d.name, d.options
    raise RuntimeError(f"{module.__name__}.add_parser() declares no subcommand")


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named on the command line (the top-level options take no value)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The ``vidgen`` parser: every subcommand in full (``command="*"``), or only ``command`` in
    full and the others by name and help (what ``vidgen --help`` shows), which is much faster."""
    parser = argparse.ArgumentParser(
        prog="vidgen",
        description="Train, sample and inspect generative models of video.",
        epilog="Run 'vidgen COMMAND --help' for a command's options. Example: vidgen train configs/demo.yaml train.minutes=5",
    )
    parser.add_argument("--version", action="version", version=f"vidgen {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        if command == "*":
            module.add_parser(sub)
            continue
        name, options = _declared(module)
        if name == command:
            module.add_parser(sub)
        else:
            sub.add_parser(name, help=options.get("help"))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(_command_of(argv))
    # key=value overrides may come before or after flags: collect the stragglers
    args, extra = parser.parse_known_args(argv)
    if extra:
        if hasattr(args, "overrides") and all("=" in x and not x.startswith("-") for x in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if _command_of(argv) in ("train", "sample", "predict", "eval"):
        from vidgen.utils.hw import keep_freed_memory

        keep_freed_memory()  # batches of one size again and again (not the streaming commands)
    try:
        return int(args.func(args) or 0)
    except VidgenError as e:
        if args.debug:
            raise
        print(f"error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # anything else is a bug: say so briefly unless --debug
        if args.debug:
            raise
        print(f"error: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        print("hint: run again with 'vidgen --debug ...' to see the traceback", file=sys.stderr)
        return 1
