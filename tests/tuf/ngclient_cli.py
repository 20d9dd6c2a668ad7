#!/usr/bin/env python3
"""python-tuf's ngclient behind the command line of the TUF client conformance harness.

The differential suite (tests/tuf_differential.rs) runs this and `mirrorproof tuf-client` with
the same arguments against the same repository and compares what each decided, so this file
must stay a thin, faithful driver of `tuf.ngclient.Updater`: every decision is python-tuf's.

    ngclient_cli.py --metadata-dir D init ROOT
    ngclient_cli.py --metadata-url U --metadata-dir D refresh
    ngclient_cli.py --metadata-url U --metadata-dir D --target-name T [--target-name T2 ...]
        --target-dir TD --target-base-url TU download

Exit status 0 on success, 1 on any failure (usage errors included, as the harness asks).

`main(argv)` returns the status instead of exiting, so the simulator can run the client inside
its own process (one python start-up for the whole suite instead of one per step).
"""

from __future__ import annotations

import argparse
import os
import sys

from tuf.ngclient import Updater


class UsageError(Exception):
    """argparse would exit with status 2; the harness wants 1 for every failure."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        # `--help` lands here; anything else that exits is an error.
        if message:
            print(message, file=sys.stderr)
        raise UsageError(f"exit {status}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ngclient_cli.py", description=__doc__.splitlines()[0])
    parser.add_argument("--metadata-dir", required=True)
    parser.add_argument("--metadata-url")
    parser.add_argument("--target-name", action="append", default=[])
    parser.add_argument("--target-dir")
    parser.add_argument("--target-base-url")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="trust this initial root")
    init.add_argument("root")
    commands.add_parser("refresh", help="update the top-level metadata")
    commands.add_parser("download", help="refresh, then download and verify targets")
    return parser


def _need(value: str | None, option: str) -> str:
    if not value:
        raise UsageError(f"{option} is required for this command")
    return value


def init(metadata_dir: str, root_path: str) -> None:
    """Trusts ROOT: the Updater checks that it is signed by its own threshold and stores it.

    No request is made: the metadata URL is never used by the constructor.
    """
    with open(root_path, "rb") as f:
        root = f.read()
    os.makedirs(metadata_dir, exist_ok=True)
    Updater(metadata_dir, "http://127.0.0.1:9/unused/", bootstrap=root)


def refresh(metadata_dir: str, metadata_url: str) -> None:
    # bootstrap=None: the trust anchor is the root.json that init (or an earlier refresh)
    # left in the metadata directory, which is exactly the harness's model.
    Updater(metadata_dir, metadata_url, bootstrap=None).refresh()


def download(
    metadata_dir: str,
    metadata_url: str,
    names: list[str],
    target_dir: str,
    target_base_url: str,
) -> None:
    os.makedirs(target_dir, exist_ok=True)
    updater = Updater(
        metadata_dir, metadata_url, target_dir, target_base_url, bootstrap=None
    )
    updater.refresh()
    for name in names:
        info = updater.get_targetinfo(name)
        if info is None:
            raise LookupError(f"no trusted target {name!r}")
        if updater.find_cached_target(info) is None:
            updater.download_target(info)


def main(argv: list[str] | None = None) -> int:
    command = "?"
    try:
        args = _parser().parse_args(argv)
        command = args.command
        if command == "init":
            init(args.metadata_dir, args.root)
        elif command == "refresh":
            refresh(args.metadata_dir, _need(args.metadata_url, "--metadata-url"))
        else:
            if not args.target_name:
                raise UsageError("download needs at least one --target-name")
            download(
                args.metadata_dir,
                _need(args.metadata_url, "--metadata-url"),
                args.target_name,
                _need(args.target_dir, "--target-dir"),
                _need(args.target_base_url, "--target-base-url"),
            )
    except Exception as e:  # noqa: BLE001 - every failure is exit 1, with its reason
        # python-tuf often wraps the cause ("Failed to deserialize JSON"): show the chain.
        reasons = []
        cause: BaseException | None = e
        while cause is not None and len(reasons) < 4:
            reasons.append(f"{type(cause).__name__}: {cause}")
            cause = cause.__cause__
        print(f"ngclient_cli {command}: {' <- '.join(reasons)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
