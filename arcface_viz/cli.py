"""The headless command line: ``python -m arcface_viz SUBCOMMAND ...``.

Each subcommand lives in its own module, which provides ``register(subparsers)``: it adds its
parser and sets ``func`` (called with the parsed arguments, returns an exit code). A subcommand
raises :class:`UsageError` for a bad argument or path; the user then sees the message and exit
code 2, as for argparse's own errors.
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

SUBCOMMAND_MODULES = ("arcface_viz.compare", "arcface_viz.teaching.assignments", "arcface_viz.doctor")


class UsageError(Exception):
    """A bad argument or path; the message says what to change."""


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m arcface_viz`` argument parser, with every subcommand of ``SUBCOMMAND_MODULES``.

    Returns
    -------
    argparse.ArgumentParser
        A parser whose parsed arguments carry ``func``, the subcommand to call.
    """
    parser = argparse.ArgumentParser(
        prog="python -m arcface_viz",
        description="Train and compare face-recognition losses; manage the assignments; check the environment.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    _plain_help(parser)
    return parser


def _plain_help(parser: argparse.ArgumentParser) -> None:
    """Drop reStructuredText's ``double backquotes`` from --help: descriptions often come from docstrings."""
    parser.description = parser.description and re.sub(r"``(.+?)``", r"\1", parser.description)
    for action in parser._actions:
        if action.help:
            action.help = re.sub(r"``(.+?)``", r"\1", action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = choice.help and re.sub(r"``(.+?)``", r"\1", choice.help)
            for subparser in action.choices.values():
                _plain_help(subparser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit code: the subcommand's (0 on success), or 2 after a :class:`UsageError`, whose
        message goes to stderr.

    Raises
    ------
    SystemExit
        From argparse, for unknown options or ``--help`` (code 2 or 0).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
