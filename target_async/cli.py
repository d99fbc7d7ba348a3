"""The `target-async` command."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import anyio


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="target-async", description="Adobe Target Delivery API tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the demo against the built-in local edge (no account, no network)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        anyio.run(run_demo)
    return 0
