#!/usr/bin/env python3
"""python-tuf's ngclient behind the conformance command line, for scripts/bench-tuf.sh.

A stand-in used only while tests/tuf/ngclient_cli.py (the differential suite's driver) is not
in the tree; the benchmark prefers that one. Same command line as `mirrorproof tuf-client`:

    ngclient_cli.py --metadata-dir D init ROOT
    ngclient_cli.py --metadata-url U --metadata-dir D refresh
    ngclient_cli.py --metadata-url U --metadata-dir D --target-name T --target-dir TD
        --target-base-url TU download

Every decision is python-tuf's (tuf.ngclient.Updater with its default UpdaterConfig).
Exit 0 on success, 1 on any failure.
"""

import argparse
import os
import sys

from tuf.ngclient import Updater


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--metadata-dir", required=True)
    p.add_argument("--metadata-url")
    p.add_argument("--target-name", action="append", default=[])
    p.add_argument("--target-dir")
    p.add_argument("--target-base-url")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("init").add_argument("root")
    sub.add_parser("refresh")
    sub.add_parser("download")
    a = p.parse_args()
    try:
        if a.command == "init":
            with open(a.root, "rb") as f:
                root = f.read()
            os.makedirs(a.metadata_dir, exist_ok=True)
            # The constructor checks the root against its own keys and stores it; no request.
            Updater(a.metadata_dir, "http://127.0.0.1:9/unused/", bootstrap=root)
        elif a.command == "refresh":
            Updater(a.metadata_dir, a.metadata_url, bootstrap=None).refresh()
        else:
            os.makedirs(a.target_dir, exist_ok=True)
            up = Updater(a.metadata_dir, a.metadata_url, a.target_dir, a.target_base_url,
                         bootstrap=None)
            up.refresh()
            for name in a.target_name:
                info = up.get_targetinfo(name)
                if info is None:
                    raise LookupError(f"no trusted target {name!r}")
                if up.find_cached_target(info) is None:
                    up.download_target(info)
    except Exception as e:  # noqa: BLE001 - every failure is exit 1, with its reason
        print(f"ngclient_cli {a.command}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
