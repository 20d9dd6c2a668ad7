#!/usr/bin/env python3
"""A TUF repository for scripts/bench-tuf.sh, made with python-tuf's Metadata API.

The shape is what a busy real repository looks like, so that the benchmark measures the work
a client really does, not a toy:

  * a root chain of --root-versions versions (root threshold 2 of 3 keys; every new version
    replaces one root key and is signed by the old and the new keys, as a rotation must be;
    version 3 also rotates the timestamp key);
  * top-level targets listing --targets entries (fake lengths and sha256: nobody downloads
    them) plus one real file, `trusted_root.json` (8 KiB); it delegates by succinct hash bins
    (2**--bin-bits bins, one key);
  * every bin lists --bin-targets / 2**--bin-bits entries; the bin that `big/payload.bin`
    hashes to also lists that real --big-mib MiB file;
  * snapshot lists every targets role (versions only, as Sigstore and PyPI's PEP 458 design
    do); timestamp lists snapshot's version, length and sha256;
  * consistent snapshots: metadata/N.root.json, metadata/timestamp.json,
    metadata/1.snapshot.json, metadata/1.ROLE.json, targets/DIR/SHA256.NAME.

All keys are one type (--keytype ed25519 | ecdsa, ecdsa being ecdsa-sha2-nistp256), generated
fresh. Every document expires in --expires-days days. Writes OUT/metadata/, OUT/targets/, and
OUT/shape.json (what was made, for the report). OUT/metadata/1.root.json is the root a client
is initialised with.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

BIG_NAME = "big/payload.bin"
SMALL_NAME = "trusted_root.json"


def new_key(kind: str) -> CryptoSigner:
    if kind == "ed25519":
        return CryptoSigner.generate_ed25519()
    if kind == "ecdsa":
        return CryptoSigner.generate_ecdsa()  # ecdsa-sha2-nistp256
    raise SystemExit(f"unknown key type {kind}")


def write(md: Metadata, path: str) -> int:
    data = md.to_bytes(JSONSerializer(compact=False))
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def sign(md: Metadata, signers: list[CryptoSigner]) -> Metadata:
    seen = set()
    for s in signers:
        if s.public_key.keyid not in seen:
            seen.add(s.public_key.keyid)
            md.sign(s, append=True)
    return md


def fake_entry(rng: random.Random, path: str) -> TargetFile:
    length = rng.randrange(1_000, 50_000_000)
    return TargetFile(length, {"sha256": rng.randbytes(32).hex()}, path)


def real_target(out: str, name: str, data_file: str | None, size: int, rng: random.Random) -> TargetFile:
    """Writes a real target as TARGETS/DIR/SHA256.NAME and returns its entry."""
    h = hashlib.sha256()
    tmp = os.path.join(out, "targets", ".tmp")
    with open(tmp, "wb") as f:
        if data_file:
            with open(data_file, "rb") as src:
                while chunk := src.read(1 << 20):
                    h.update(chunk)
                    f.write(chunk)
        else:
            left = size
            while left:
                chunk = rng.randbytes(min(left, 1 << 20))
                h.update(chunk)
                f.write(chunk)
                left -= len(chunk)
        length = f.tell()
    d, base = os.path.split(name)
    os.makedirs(os.path.join(out, "targets", d), exist_ok=True)
    os.replace(tmp, os.path.join(out, "targets", d, f"{h.hexdigest()}.{base}"))
    return TargetFile(length, {"sha256": h.hexdigest()}, name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--keytype", choices=["ed25519", "ecdsa"], default="ed25519")
    ap.add_argument("--root-versions", type=int, default=5)
    ap.add_argument("--targets", type=int, default=10_000, help="entries in top-level targets")
    ap.add_argument("--bin-bits", type=int, default=10,
                    help="2**N succinct hash bins (0: no delegation, and no big/payload.bin)")
    ap.add_argument("--bin-targets", type=int, default=10_000, help="entries over all bins")
    ap.add_argument("--big-mib", type=int, default=100, help="size of big/payload.bin (0: none)")
    ap.add_argument("--big-file", help="use this file's bytes for big/payload.bin")
    ap.add_argument("--expires-days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args()

    t0 = time.monotonic()
    rng = random.Random(args.seed)
    out = os.path.abspath(args.out)
    mdir = os.path.join(out, "metadata")
    os.makedirs(mdir, exist_ok=True)
    os.makedirs(os.path.join(out, "targets"), exist_ok=True)
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=args.expires_days)
    kt = args.keytype

    # --- root chain -------------------------------------------------------------------
    root_keys = [new_key(kt) for _ in range(3)]
    ts_key, snap_key, tgt_key, bin_key = (new_key(kt) for _ in range(4))
    root = Root(version=1, expires=expires, consistent_snapshot=True)
    for s in root_keys:
        root.add_key(s.public_key, "root")
    root.roles["root"].threshold = 2
    root.add_key(ts_key.public_key, "timestamp")
    root.add_key(snap_key.public_key, "snapshot")
    root.add_key(tgt_key.public_key, "targets")
    md_root = Metadata(root)
    sizes = {"root": []}
    sizes["root"].append(write(sign(md_root, root_keys), os.path.join(mdir, "1.root.json")))
    for v in range(2, args.root_versions + 1):
        old = list(root_keys)
        gone = root_keys[(v - 2) % 3]
        fresh = new_key(kt)
        root_keys[(v - 2) % 3] = fresh
        root.revoke_key(gone.public_key.keyid, "root")
        root.add_key(fresh.public_key, "root")
        if v == 3:  # an online-key rotation as well
            root.revoke_key(ts_key.public_key.keyid, "timestamp")
            ts_key = new_key(kt)
            root.add_key(ts_key.public_key, "timestamp")
        root.version = v
        md_root = Metadata(root)
        sizes["root"].append(write(sign(md_root, old + root_keys), os.path.join(mdir, f"{v}.root.json")))

    # --- targets and bins -------------------------------------------------------------
    targets = Targets(version=1, expires=expires)
    for i in range(args.targets):
        path = f"packages/p{i // 100:03d}/pkg-{i:05d}-1.{i % 7}.tar.gz"
        targets.targets[path] = fake_entry(rng, path)
    small = real_target(out, SMALL_NAME, None, 8192, rng)
    targets.targets[SMALL_NAME] = small
    bins: dict[str, Targets] = {}
    big_bin = None
    if args.bin_bits > 0:
        succinct = SuccinctRoles([bin_key.public_key.keyid], 1, args.bin_bits, "bins")
        targets.delegations = Delegations(keys={bin_key.public_key.keyid: bin_key.public_key},
                                          succinct_roles=succinct)
        bins = {name: Targets(version=1, expires=expires) for name in succinct.get_roles()}
        for i in range(args.bin_targets):
            path = f"files/f{i // 100:03d}/file-{i:05d}.whl"
            bins[succinct.get_role_for_target(path)].targets[path] = fake_entry(rng, path)
        if args.big_mib > 0 or args.big_file:
            big = real_target(out, BIG_NAME, args.big_file, args.big_mib << 20, rng)
            big_bin = succinct.get_role_for_target(BIG_NAME)
            bins[big_bin].targets[BIG_NAME] = big
    sizes["targets"] = write(sign(Metadata(targets), [tgt_key]), os.path.join(mdir, "1.targets.json"))
    bin_sizes = []
    for name, t in bins.items():
        bin_sizes.append(write(sign(Metadata(t), [bin_key]), os.path.join(mdir, f"1.{name}.json")))

    # --- snapshot and timestamp -------------------------------------------------------
    snapshot = Snapshot(version=1, expires=expires)
    for name in bins:
        snapshot.meta[f"{name}.json"] = MetaFile(1)
    snap_path = os.path.join(mdir, "1.snapshot.json")
    sizes["snapshot"] = write(sign(Metadata(snapshot), [snap_key]), snap_path)
    with open(snap_path, "rb") as f:
        snap_bytes = f.read()
    timestamp = Timestamp(version=1, expires=expires,
                          snapshot_meta=MetaFile(1, len(snap_bytes),
                                                 {"sha256": hashlib.sha256(snap_bytes).hexdigest()}))
    sizes["timestamp"] = write(sign(Metadata(timestamp), [ts_key]), os.path.join(mdir, "timestamp.json"))

    shape = {
        "keytype": "ecdsa-sha2-nistp256" if kt == "ecdsa" else "ed25519",
        "root_versions": args.root_versions,
        "root_bytes": sizes["root"],
        "timestamp_bytes": sizes["timestamp"],
        "snapshot_bytes": sizes["snapshot"],
        "snapshot_entries": len(snapshot.meta),
        "targets_bytes": sizes["targets"],
        "targets_entries": len(targets.targets),
        "bins": len(bins),
        "bin_entries": sum(len(b.targets) for b in bins.values()),
        "bin_bytes_total": sum(bin_sizes),
        "big_name": BIG_NAME if big_bin else None,
        "big_bin": big_bin,
        "big_bytes": bins[big_bin].targets[BIG_NAME].length if big_bin else 0,
        "big_sha256": bins[big_bin].targets[BIG_NAME].hashes["sha256"] if big_bin else None,
        "small_sha256": small.hashes["sha256"],
        "small_name": SMALL_NAME,
        "expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generated_in_s": round(time.monotonic() - t0, 1),
    }
    with open(os.path.join(out, "shape.json"), "w") as f:
        json.dump(shape, f, indent=1)
    print(json.dumps(shape), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
