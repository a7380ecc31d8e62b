"""The ``vidgen`` command line: one thin module per subcommand.

Errors the user can fix print as one line plus a hint; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from vidgen import __version__
from vidgen.cli import data as data_cmd
from vidgen.cli import eval as eval_cmd
from vidgen.cli import evaluator as evaluator_cmd
from vidgen.cli import interpolate as interpolate_cmd
from vidgen.cli import predict as predict_cmd
from vidgen.cli import reconstruct as reconstruct_cmd
from vidgen.cli import sample as sample_cmd
from vidgen.cli import train as train_cmd
from vidgen.errors import VidgenError

COMMANDS = (train_cmd, sample_cmd, predict_cmd, reconstruct_cmd, interpolate_cmd, eval_cmd, evaluator_cmd, data_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidgen",
        description="Train, sample and inspect generative models of video.",
        epilog="Run 'vidgen COMMAND --help' for a command's options. Example: vidgen train configs/demo.yaml train.minutes=5",
    )
    parser.add_argument("--version", action="version", version=f"vidgen {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # key=value overrides may come before or after flags: collect the stragglers
    args, extra = parser.parse_known_args(argv)
    if extra:
        if hasattr(args, "overrides") and all("=" in x and not x.startswith("-") for x in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
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
