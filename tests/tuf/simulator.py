#!/usr/bin/env python3
"""A TUF repository simulator for the differential suite, built on python-tuf's Metadata API.

The Rust test (tests/tuf_differential.rs) starts this once and drives it over a JSON-lines
protocol: one request object per line on stdin, one reply per line on stdout,
`{"ok": true, "result": ...}` or `{"ok": false, "error": "..."}`. Every request names a
repository (`repo`); many repositories live in one process, so parallel tests share one python
start-up. After every request that changes a repository, its directory is rewritten from
scratch: `<dir>/metadata/` and `<dir>/targets/` are exactly what the repository serves now, and
the test's loopback HTTP server serves that directory as it is.

The simulator keeps, per role, a draft (`Metadata` being edited), the signers that sign it, and
every version it published (bytes). Honest steps are the Metadata API's own; attacks are made
from those same parts: replaying an old published version, serving one role's bytes under
another file name, editing metadata after signing, signing with the wrong keys.

The request `client` runs tests/tuf/ngclient_cli.py's `main` in this process, so each client
step costs a function call instead of a python start-up.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner, Signature, Signer, SSlibKey
from tuf.api.metadata import (
    DelegatedRole,
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ngclient_cli  # noqa: E402

TOP = (Root.type, Timestamp.type, Snapshot.type, Targets.type)


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


class HexEcdsaSigner(Signer):
    """An ECDSA P-256 key published the old way: keytype `ecdsa-sha2-nistp256` with the public
    key as hex of the uncompressed SEC1 point, as early Sigstore roots had. securesystemslib
    only loads PEM, so it cannot make or check these; the signature itself is ordinary (DER,
    SHA-256 over the canonical bytes)."""

    def __init__(self) -> None:
        self._private = ec.generate_private_key(ec.SECP256R1())
        point = self._private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        keyval = {"public": point.hex()}
        keyid = _default_keyid(
            {"keytype": "ecdsa-sha2-nistp256", "scheme": "ecdsa-sha2-nistp256", "keyval": keyval}
        )
        self._public = SSlibKey(
            keyid, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", keyval
        )

    @property
    def public_key(self) -> SSlibKey:
        return self._public

    def sign(self, payload: bytes) -> Signature:
        sig = self._private.sign(payload, ec.ECDSA(hashes.SHA256()))
        return Signature(self._public.keyid, sig.hex())

    @classmethod
    def from_priv_key_uri(cls, *args: Any, **kwargs: Any) -> Signer:
        raise NotImplementedError


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class FixedSEcdsaSigner(Signer):
    """An ordinary ECDSA P-256 key (keytype `ecdsa`, PEM) whose signatures always have a high
    (or always a low) S. Both (r, s) and (r, n - s) verify; OpenSSL accepts either, and a
    verifier that demands low S would refuse about half of what securesystemslib signs."""

    def __init__(self, high: bool) -> None:
        inner = CryptoSigner.generate_ecdsa()
        self._private = inner._private_key  # noqa: SLF001
        self._public = inner.public_key
        self._high = high

    @property
    def public_key(self) -> SSlibKey:
        return self._public

    def sign(self, payload: bytes) -> Signature:
        r, s = decode_dss_signature(self._private.sign(payload, ec.ECDSA(hashes.SHA256())))
        if (s > P256_ORDER // 2) != self._high:
            s = P256_ORDER - s
        return Signature(self._public.keyid, encode_dss_signature(r, s).hex())

    @classmethod
    def from_priv_key_uri(cls, *args: Any, **kwargs: Any) -> Signer:
        raise NotImplementedError


class MaxSaltRsaSigner(Signer):
    """An `rsassa-pss-sha256` key whose signatures use the longest salt the key allows
    instead of securesystemslib's 32 bytes (as some HSMs and Go's default do). The scheme
    does not fix the salt length; securesystemslib verifies with any."""

    def __init__(self) -> None:
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        self._public = SSlibKey.from_crypto(
            self._private.public_key(), scheme="rsassa-pss-sha256"
        )

    @property
    def public_key(self) -> SSlibKey:
        return self._public

    def sign(self, payload: bytes) -> Signature:
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
        return Signature(self._public.keyid, self._private.sign(payload, pss, hashes.SHA256()).hex())

    @classmethod
    def from_priv_key_uri(cls, *args: Any, **kwargs: Any) -> Signer:
        raise NotImplementedError


def _generate(kind: str) -> Signer:
    if kind == "ed25519":
        return CryptoSigner.generate_ed25519()
    if kind == "ecdsa":
        return CryptoSigner.generate_ecdsa()
    if kind == "ecdsa-legacy":
        # The spec's deprecated keytype (named after the scheme), PEM key as usual.
        signer = CryptoSigner.generate_ecdsa()
        body = {
            "keytype": "ecdsa-sha2-nistp256",
            "scheme": "ecdsa-sha2-nistp256",
            "keyval": dict(signer.public_key.keyval),
        }
        legacy = SSlibKey(_default_keyid(body), body["keytype"], body["scheme"], body["keyval"])
        return CryptoSigner(signer._private_key, legacy)  # noqa: SLF001
    if kind == "ecdsa-hex":
        return HexEcdsaSigner()
    if kind == "ecdsa-high-s":
        return FixedSEcdsaSigner(high=True)
    if kind == "ecdsa-low-s":
        return FixedSEcdsaSigner(high=False)
    if kind == "rsa-pss-max-salt":
        return MaxSaltRsaSigner()
    if kind == "rsa":
        return CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256", size=3072)
    if kind == "rsa-pkcs1v15":
        return CryptoSigner.generate_rsa(scheme="rsa-pkcs1v15-sha256", size=2048)
    raise ValueError(f"unknown key kind {kind!r}")


def _default_keyid(key_dict: dict[str, Any]) -> str:
    """securesystemslib's default key id: SHA-256 of the key's canonical JSON."""
    return hashlib.sha256(encode_canonical(key_dict).encode()).hexdigest()


class KeyPool:
    """Keys of each kind, made once and handed out in order. RSA key generation is slow, so the
    whole suite shares one pool; every repository takes its keys from index 0, which keeps one
    repository's keys distinct from each other and makes no two tests depend on each other."""

    def __init__(self) -> None:
        self._keys: dict[str, list[Signer]] = {}

    def get(self, kind: str, index: int) -> Signer:
        keys = self._keys.setdefault(kind, [])
        while len(keys) <= index:
            keys.append(_generate(kind))
        return keys[index]


POOL = KeyPool()


# ---------------------------------------------------------------------------------------------
# One repository
# ---------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class Repo:
    def __init__(self, req: dict[str, Any]) -> None:
        self.dir = Path(req["dir"])
        self.meta_hashes: bool = bool(req.get("meta_hashes", False))
        kinds: dict[str, str] = req.get("keys", {})
        default_kind = req.get("key_type", "ed25519")
        self.next_key: dict[str, int] = {}
        self.signers: dict[str, dict[str, Signer]] = {}
        self.known: dict[str, Signer] = {}
        self.drafts: dict[str, Metadata] = {}
        self.published: dict[str, dict[int, bytes]] = {}
        # The version each role's unversioned file serves: the last one published.
        self.current: dict[str, int] = {}
        # Bytes served at a file name in place of what the layout would put there; None: 404.
        self.overrides: dict[str, bytes | None] = {}
        # Every target file ever added, in order: its path, the hashes that name it under
        # consistent snapshots, and the bytes served. Two roles (or two releases) may list one
        # path with different bytes; with consistent snapshots both stay reachable by hash.
        self.target_variants: list[dict[str, Any]] = []
        # What the directory holds now (path under `dir` -> bytes), for `write`.
        self.written: dict[str, bytes] = {}

        expires = _now() + timedelta(days=int(req.get("expires_days", 30)))
        root = Root(
            expires=expires,
            consistent_snapshot=bool(req.get("consistent_snapshot", True)),
        )
        self.drafts[Root.type] = Metadata(root)
        self.drafts[Timestamp.type] = Metadata(Timestamp(expires=expires))
        self.drafts[Snapshot.type] = Metadata(Snapshot(expires=expires))
        self.drafts[Targets.type] = Metadata(Targets(expires=expires))
        for role in TOP:
            self.add_key(role, kinds.get(role, default_kind))
        for role in (Targets.type, Snapshot.type):
            self.publish(role)
        self.update_timestamp()
        self.publish(Root.type)

    # -- keys ---------------------------------------------------------------------------------

    def new_signer(self, kind: str) -> Signer:
        i = self.next_key.get(kind, 0)
        self.next_key[kind] = i + 1
        signer = POOL.get(kind, i)
        self.known[signer.public_key.keyid] = signer
        return signer

    def delegator_of(self, role: str) -> str:
        """Who lists `role`'s keys: root for top-level roles, else the targets role that
        delegates it."""
        if role in TOP:
            return Root.type
        for name, md in self.drafts.items():
            signed = md.signed
            if isinstance(signed, Targets) and signed.delegations is not None:
                d = signed.delegations
                if d.roles is not None and role in d.roles:
                    return name
                if d.succinct_roles is not None and d.succinct_roles.is_delegated_role(role):
                    return name
        raise ValueError(f"nobody delegates {role!r}")

    def role_obj(self, role: str) -> Any:
        delegator = self.drafts[self.delegator_of(role)].signed
        if isinstance(delegator, Root):
            return delegator.roles[role]
        assert delegator.delegations is not None
        if delegator.delegations.roles is not None and role in delegator.delegations.roles:
            return delegator.delegations.roles[role]
        return delegator.delegations.succinct_roles

    def add_key(self, role: str, kind: str, sign: bool = True) -> str:
        signer = self.new_signer(kind)
        delegator = self.drafts[self.delegator_of(role)].signed
        delegator.add_key(signer.public_key, role)
        if sign:
            self.signers.setdefault(role, {})[signer.public_key.keyid] = signer
        return signer.public_key.keyid

    def remove_key(self, role: str, keyid: str, keep_signing: bool = False) -> None:
        delegator = self.drafts[self.delegator_of(role)].signed
        delegator.revoke_key(keyid, role)
        if not keep_signing:
            self.signers.get(role, {}).pop(keyid, None)

    def keyids(self, role: str) -> list[str]:
        return list(self.role_obj(role).keyids)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, role: str, bump: bool = True, size: int | None = None) -> int:
        """Signs the draft and publishes it. With `size`, pads the signed part (an
        unrecognized field, which the signatures cover) so the file is exactly that long."""
        md = self.drafts[role]
        if bump and self.published.get(role):
            md.signed.version = max(self.published[role]) + 1
        fields = md.signed.unrecognized_fields
        for _ in range(8):
            md.signatures.clear()
            for signer in self.signers.get(role, {}).values():
                md.sign(signer, append=True)
            data = md.to_bytes(JSONSerializer())
            if size is None or len(data) == size:
                break
            pad = len(fields.get("x-padding", "")) + size - len(data)
            if pad < 0:
                raise ValueError(f"{role} is already longer than {size} bytes")
            fields["x-padding"] = "A" * pad
        else:
            raise ValueError(f"could not make {role} exactly {size} bytes long")
        self.published.setdefault(role, {})[md.signed.version] = data
        self.current[role] = md.signed.version
        # A new publication replaces an attack on the same file.
        for name in self.file_names(role, md.signed.version):
            self.overrides.pop(name, None)
        return md.signed.version

    def latest(self, role: str) -> bytes:
        return self.published[role][self.current[role]]

    def meta_file(self, role: str) -> MetaFile:
        data = self.latest(role)
        version = self.current[role]
        if not self.meta_hashes:
            return MetaFile(version)
        return MetaFile(version, len(data), {"sha256": hashlib.sha256(data).hexdigest()})

    def update_timestamp(self, size: int | None = None) -> int:
        ts = self.drafts[Timestamp.type].signed
        ts.snapshot_meta = self.meta_file(Snapshot.type)
        return self.publish(Timestamp.type, size=size)

    def update_snapshot(self) -> int:
        snap = self.drafts[Snapshot.type].signed
        for role in self.published:
            if role not in (Root.type, Timestamp.type, Snapshot.type):
                snap.meta[f"{role}.json"] = self.meta_file(role)
        self.publish(Snapshot.type)
        return self.update_timestamp()

    # -- layout -------------------------------------------------------------------------------

    @property
    def consistent(self) -> bool:
        return bool(self.drafts[Root.type].signed.consistent_snapshot)

    def file_names(self, role: str, version: int) -> list[str]:
        # The name on disk is the decoded one: clients ask for the percent-encoded role name
        # and the test's HTTP server percent-decodes request paths before it opens a file.
        if role == Root.type:
            return [f"{version}.root.json"]
        if role == Timestamp.type:
            return ["timestamp.json"]
        return [f"{version}.{role}.json" if self.consistent else f"{role}.json"]

    def layout(self) -> dict[str, bytes | None]:
        files: dict[str, bytes | None] = {}
        for role, versions in self.published.items():
            if role in (Root.type,) or (self.consistent and role != Timestamp.type):
                for v, data in versions.items():
                    files[self.file_names(role, v)[0]] = data
            else:
                files[self.file_names(role, self.current[role])[0]] = self.latest(role)
        files.update(self.overrides)
        return files

    def target_files(self) -> dict[str, bytes | None]:
        files: dict[str, bytes | None] = {}
        for v in self.target_variants:
            path = v["path"]
            if self.consistent:
                dirname, sep, base = path.rpartition("/")
                for digest in v["hashes"].values():
                    files[f"{dirname}{sep}{digest}.{base}"] = v["data"]
            else:
                files[path] = v["data"]
        return files

    def last_variant(self, path: str) -> dict[str, Any]:
        for v in reversed(self.target_variants):
            if v["path"] == path:
                return v
        raise ValueError(f"no target {path!r}")

    def write(self) -> None:
        """Makes the directory serve exactly the current layout. Only changed files are
        rewritten: the oversize scenarios keep megabytes of metadata around."""
        want: dict[str, bytes] = {}
        for sub, files in (("metadata", self.layout()), ("targets", self.target_files())):
            for name, data in files.items():
                if data is not None:
                    want[f"{sub}/{name}"] = data
        for name in set(self.written) - set(want):
            (self.dir / name).unlink(missing_ok=True)
        for name, data in want.items():
            if self.written.get(name) != data:
                p = self.dir / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
        self.written = want


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------

REPOS: dict[str, Repo] = {}


def _days(req: dict[str, Any]) -> datetime:
    return _now() + timedelta(days=float(req.get("days", 0)), seconds=float(req.get("seconds", 0)))


def _edit_json(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    doc = json.loads(data)
    edit(doc)
    return json.dumps(doc, indent=1, sort_keys=True).encode()


def _flip(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[:mid] + bytes([data[mid] ^ 0x01]) + data[mid + 1 :]


def handle(req: dict[str, Any]) -> Any:  # noqa: C901, PLR0911, PLR0912 - one dispatcher
    cmd = req["cmd"]
    if cmd == "client":
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = ngclient_cli.main([str(a) for a in req["argv"]])
        return {"code": code, "output": out.getvalue() + err.getvalue()}
    if cmd == "ping":
        import securesystemslib
        import tuf

        return {"tuf": tuf.__version__, "securesystemslib": securesystemslib.__version__}

    name = req["repo"]
    if cmd == "new":
        REPOS[name] = Repo(req)
        REPOS[name].write()
        return None
    if cmd == "close":
        REPOS.pop(name, None)
        return None

    repo = REPOS[name]
    role = req.get("role", Targets.type)
    result: Any = None

    if cmd == "add_key":
        result = repo.add_key(role, req.get("key_type", "ed25519"), req.get("sign", True))
    elif cmd == "remove_key":
        result = repo.remove_key(role, req["keyid"], bool(req.get("keep_signing", False)))
    elif cmd == "keyids":
        result = repo.keyids(role)
    elif cmd == "signers":
        # Exactly these keys (ids known to this repository) sign the role from now on.
        repo.signers[role] = {k: repo.known[k] for k in req["keyids"]}
    elif cmd == "stranger":
        # A key of this kind that no metadata lists; returns its id for `signers`.
        result = repo.new_signer(req.get("key_type", "ed25519")).public_key.keyid
    elif cmd == "threshold":
        repo.role_obj(role).threshold = int(req["n"])
    elif cmd == "expires":
        repo.drafts[role].signed.expires = _days(req)
    elif cmd == "set_version":
        repo.drafts[role].signed.version = int(req["version"])
    elif cmd == "consistent_snapshot":
        repo.drafts[Root.type].signed.consistent_snapshot = bool(req["on"])
    elif cmd == "pad":
        n = int(req["bytes"])
        fields = repo.drafts[role].signed.unrecognized_fields
        if n:
            fields["x-padding"] = "A" * n
        else:
            fields.pop("x-padding", None)
    elif cmd == "publish":
        result = repo.publish(role, bool(req.get("bump", True)), req.get("size"))
    elif cmd == "update_snapshot":
        result = repo.update_snapshot()
    elif cmd == "update_timestamp":
        result = repo.update_timestamp(req.get("size"))
    elif cmd == "meta":
        # Edits one entry of timestamp's or snapshot's meta in the draft (publish to serve it).
        signed = repo.drafts[role].signed
        entry = req.get("entry", "snapshot.json")
        if isinstance(signed, Timestamp):
            meta = signed.snapshot_meta
        else:
            meta = signed.meta[entry]
        if "of_version" in req:
            # Points the entry at an older (or other) published version, hashes and all.
            entry_role = entry[: -len(".json")]
            v = int(req["of_version"])
            data = repo.published[entry_role][v]
            meta.version = v
            if meta.hashes is not None:
                meta.hashes = {"sha256": hashlib.sha256(data).hexdigest()}
            if meta.length is not None:
                meta.length = len(data)
        if "version" in req:
            meta.version = int(req["version"])
        if "length" in req:
            meta.length = int(req["length"])
        if req.get("bad_hash"):
            if not meta.hashes:
                raise ValueError("this meta entry has no hashes to spoil")
            meta.hashes = {alg: _flip(bytes.fromhex(h)).hex() for alg, h in meta.hashes.items()}
    elif cmd == "add_target":
        data = req["data"].encode() if "data" in req else bytes([0x5A]) * int(req["size"])
        algos = req.get("hash_algorithms", ["sha256"])
        target = TargetFile.from_data(req["path"], data, algos)
        repo.drafts[role].signed.targets[req["path"]] = target
        repo.target_variants.append(
            {"path": req["path"], "hashes": dict(target.hashes), "data": data}
        )
    elif cmd == "target_meta":
        # Changes what the metadata says about a target, not the bytes served.
        target = repo.drafts[role].signed.targets[req["path"]]
        if "length" in req:
            target.length = int(req["length"])
        if req.get("bad_hash"):
            target.hashes = {a: _flip(bytes.fromhex(h)).hex() for a, h in target.hashes.items()}
            # Served under the name the metadata now gives, so the client gets the bytes and
            # has to notice the hash itself (rather than a 404).
            repo.last_variant(req["path"])["hashes"] = dict(target.hashes)
    elif cmd == "tamper_target":
        # Changes the bytes served, not the metadata.
        variant = repo.last_variant(req["path"])
        data = variant["data"]
        mode = req["mode"]
        if mode == "flip":
            data = _flip(data)
        elif mode == "extend":
            data = data + b"A" * int(req.get("n", 1))
        elif mode == "truncate":
            data = data[: len(data) - int(req.get("n", 1))]
        else:
            raise ValueError(f"unknown tamper mode {mode!r}")
        variant["data"] = data
    elif cmd == "delegate":
        delegator = repo.drafts[req.get("delegator", Targets.type)].signed
        if delegator.delegations is None:
            delegator.delegations = Delegations({}, roles={})
        if delegator.delegations.roles is None:
            raise ValueError("this delegator uses succinct roles")
        new = DelegatedRole(
            role,
            [],
            int(req.get("threshold", 1)),
            bool(req.get("terminating", False)),
            req.get("paths"),
            req.get("path_hash_prefixes"),
        )
        delegator.delegations.roles[role] = new
        repo.drafts[role] = Metadata(Targets(expires=_now() + timedelta(days=30)))
        result = repo.add_key(role, req.get("key_type", "ed25519"))
    elif cmd == "succinct":
        delegator = repo.drafts[req.get("delegator", Targets.type)].signed
        succinct = SuccinctRoles([], 1, int(req["bit_length"]), req["name_prefix"])
        delegator.delegations = Delegations({}, None, succinct)
        signer = repo.new_signer(req.get("key_type", "ed25519"))
        delegator.add_key(signer.public_key)
        for bin_name in succinct.get_roles():
            repo.drafts[bin_name] = Metadata(Targets(expires=_now() + timedelta(days=30)))
            repo.signers[bin_name] = {signer.public_key.keyid: signer}
            repo.publish(bin_name)
        result = signer.public_key.keyid
    elif cmd == "bin_for":
        delegator = repo.drafts[req.get("delegator", Targets.type)].signed
        result = delegator.delegations.succinct_roles.get_role_for_target(req["path"])
    elif cmd == "serve":
        # Serves role's published `version` at `file` (a replay, or another file's name).
        repo.overrides[req["file"]] = repo.published[role][int(req["version"])]
    elif cmd == "serve_bytes":
        repo.overrides[req["file"]] = req["data"].encode()
    elif cmd == "unserve":
        # The file answers 404.
        repo.overrides[req["file"]] = None
    elif cmd == "restore":
        repo.overrides.pop(req["file"], None)
    elif cmd == "publish_raw":
        # Publishes the draft with edits that the Metadata API would refuse to make (a bad
        # date format, a version of the wrong type, ...), properly signed: the signatures
        # cover the canonical form of the edited `signed`, so only the content is wrong.
        # `set` is a list of [path, value]; a null value deletes the field.
        md = repo.drafts[role]
        if repo.published.get(role) and req.get("bump", True):
            md.signed.version = max(repo.published[role]) + 1
        signed = md.signed.to_dict()
        for path, value in req["set"]:
            target = signed
            for key in path[:-1]:
                target = target[key]
            if value is None:
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
        payload = encode_canonical(signed).encode()
        sigs = [
            signer.sign(payload).to_dict() for signer in repo.signers.get(role, {}).values()
        ]
        data = json.dumps({"signatures": sigs, "signed": signed}, indent=1, sort_keys=True).encode()
        version = md.signed.version
        repo.published.setdefault(role, {})[version] = data
        repo.current[role] = version
        for name in repo.file_names(role, version):
            repo.overrides.pop(name, None)
        result = version
    elif cmd == "resign_edited":
        # Edits the latest published bytes after signing (signatures kept as they are).
        version = repo.current[role]
        data = repo.published[role][version]
        edit = req["edit"]
        if edit == "duplicate_signature":
            data = _edit_json(data, lambda d: d["signatures"].append(copy.deepcopy(d["signatures"][0])))
        elif edit == "flip_signature":

            def flip(d: dict[str, Any]) -> None:
                sig = d["signatures"][int(req.get("index", 0))]
                sig["sig"] = _flip(bytes.fromhex(sig["sig"])).hex()

            data = _edit_json(data, flip)
        elif edit == "duplicate_version_key":
            # A second "version" member, before the real one: JSON parsers that keep the
            # last member see the signed document unchanged.
            text = data.decode()
            head = '"signed": {'
            if head not in text:
                raise ValueError("unexpected serialization")
            text = text.replace(head, head + '\n  "version": 999999,', 1)
            data = text.encode()
        elif edit == "bump_version_unsigned":
            data = _edit_json(data, lambda d: d["signed"].__setitem__("version", d["signed"]["version"] + 1))
        else:
            raise ValueError(f"unknown edit {edit!r}")
        repo.published[role][version] = data
    elif cmd == "alias_key":
        # Lists the key `keyid` a second time under another key id (same key material), for
        # the role `role`, and signs with both ids: one key counted twice towards a threshold.
        signer = repo.known[req["keyid"]]
        pub = signer.public_key
        alias_dict = pub.to_dict()
        alias_dict["x-alias"] = True
        alias = SSlibKey.from_dict(_default_keyid(alias_dict), alias_dict)
        aliased = CryptoSigner(signer._private_key, alias)  # noqa: SLF001
        repo.known[alias.keyid] = aliased
        repo.drafts[repo.delegator_of(role)].signed.add_key(alias, role)
        repo.signers.setdefault(role, {})[alias.keyid] = aliased
        result = alias.keyid
    elif cmd == "versions":
        result = dict(repo.current)
    else:
        raise ValueError(f"unknown command {cmd!r}")
    repo.write()
    return result


def main() -> None:
    replies = sys.stdout
    # Anything else printed (warnings, stray prints) goes to stderr, never into the protocol.
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            reply = {"ok": True, "result": handle(req)}
        except Exception as e:  # noqa: BLE001 - the test shows it
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
