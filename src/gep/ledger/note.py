"""C2SP signed notes with Ed25519 keys, and C2SP tlog-checkpoint bodies.

Formats (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint, and the Go reference
``golang.org/x/mod/sumdb/note``):

* signed note: ``text`` (UTF-8, ends in a newline, no other control characters), a blank line,
  then one or more lines ``— <name> <base64(key id || signature)>`` (U+2014 em dash). The
  signature is Ed25519 over ``text``.
* key id: the first four bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``.
* verifier key: ``<name>+<key id hex>+<base64(0x01 || public key)>``.
* signer key (file on disk, mode 0600): ``PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ||
  seed)>`` as written by Go's ``note.GenerateKey``, so Go tooling can use the same key.
* checkpoint body: origin line, decimal tree size, base64 root hash, optional extension lines.

Keys are only ever generated into or read from files; no key material lives in code.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gep.errors import GepError, InputDataError
from gep.paths import LedgerKeyFiles

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # em dash + space
MAX_SIGNATURES = 100
PRIVATE_PREFIX = "PRIVATE+KEY+"


class NoteError(GepError, ValueError):
    """A note, key or checkpoint is malformed or does not verify."""


def _ed25519():
    # Imported lazily: appending to the ledger must not pay for loading cryptography.
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


def valid_key_name(name: str) -> bool:
    """Names are non-empty, without '+', whitespace, or control characters."""
    return bool(name) and "+" not in name and not any(c.isspace() or ord(c) < 0x20
                                                      for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    """``SHA-256(name || "\\n" || 0x01 || public key)[:4]``."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519])
                          + public_key).digest()[:4]


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise NoteError(f"{text!r} is not standard base64") from None


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Parse ``name+hexid+base64(0x01||pub)``; the name itself may not contain '+'."""
        vkey = vkey.strip()
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise NoteError("verifier key is not of the form name+keyid+base64key")
        name, hexid, b64 = parts
        if not valid_key_name(name) or not re.fullmatch(r"[0-9a-f]{8}", hexid):
            raise NoteError("verifier key has a bad name or key id")
        raw = _b64decode(b64)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key (type 0x01, 32 bytes)")
        pub = raw[1:]
        if key_id(name, pub) != bytes.fromhex(hexid):
            raise NoteError("verifier key id does not match its name and public key")
        return cls(name, bytes.fromhex(hexid), pub)

    def encode(self) -> str:
        return (f"{self.name}+{self.key_id.hex()}+"
                + base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode("ascii"))

    def verify(self, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            _ed25519().Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                signature, message)
        except (InvalidSignature, ValueError):  # ValueError: not a valid public key
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    key_id: bytes
    seed: bytes = field(repr=False)

    @classmethod
    def generate(cls, name: str) -> Signer:
        if not valid_key_name(name):
            raise NoteError(f"key name {name!r} is empty or contains '+', spaces or controls")
        ed = _ed25519()
        from cryptography.hazmat.primitives import serialization

        priv = ed.Ed25519PrivateKey.generate()
        seed = priv.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                  serialization.NoEncryption())
        return cls.from_seed(name, seed)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        pub = cls._public(seed)
        return cls(name, key_id(name, pub), seed)

    @staticmethod
    def _public(seed: bytes) -> bytes:
        from cryptography.hazmat.primitives import serialization

        priv = _ed25519().Ed25519PrivateKey.from_private_bytes(seed)
        return priv.public_key().public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw)

    @classmethod
    def parse(cls, skey: str) -> Signer:
        skey = skey.strip()
        if not skey.startswith(PRIVATE_PREFIX):
            raise NoteError("signer key does not start with PRIVATE+KEY+")
        parts = skey[len(PRIVATE_PREFIX):].split("+", 2)
        if len(parts) != 3:
            raise NoteError("signer key is not of the form PRIVATE+KEY+name+keyid+base64key")
        name, hexid, b64 = parts
        if not valid_key_name(name) or not re.fullmatch(r"[0-9a-f]{8}", hexid):
            raise NoteError("signer key has a bad name or key id")
        raw = _b64decode(b64)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 key (type 0x01, 32-byte seed)")
        signer = cls.from_seed(name, raw[1:])
        if signer.key_id != bytes.fromhex(hexid):
            raise NoteError("signer key id does not match its name and key")
        return signer

    def encode(self) -> str:
        return (f"{PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+"
                + base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode("ascii"))

    @property
    def public_key(self) -> bytes:
        return self._public(self.seed)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.key_id, self.public_key)

    def sign(self, message: bytes) -> bytes:
        return _ed25519().Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIG_PREFIX}{self.name} " + base64.b64encode(
            self.key_id + self.signature).decode("ascii")


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() + "\n" for s in self.signatures)


def _check_text(text: str) -> None:
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("malformed note: text must end in a newline and hold no control "
                        "characters")


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign ``text`` with each signer; returns the encoded note."""
    _check_text(text)
    msg = text.encode("utf-8")
    sigs = tuple(Signature(s.name, s.key_id, s.sign(msg)) for s in signers)
    return Note(text, sigs).encode()


def parse_note(note: str | bytes) -> Note:
    """Split a note into its text and signature lines (no signature checking)."""
    if isinstance(note, (bytes, bytearray)):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("malformed note: not valid UTF-8") from None
    if "\n\n" not in note or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    split = note.rindex("\n\n")
    text, sig_block = note[:split + 1], note[split + 2:]
    _check_text(text)
    lines = sig_block[:-1].split("\n") if sig_block else []
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError("malformed note: expected 1 to 100 signature lines")
    sigs = []
    for ln in lines:
        if not ln.startswith(SIG_PREFIX):
            raise NoteError(f"malformed note: signature line {ln!r} does not start with "
                            "an em dash")
        rest = ln[len(SIG_PREFIX):]
        name, sep, b64 = rest.partition(" ")
        if not sep or not valid_key_name(name) or " " in b64:
            raise NoteError(f"malformed note: bad signature line {ln!r}")
        raw = _b64decode(b64)
        if len(raw) < 5:
            raise NoteError(f"malformed note: signature of {name} is too short")
        sigs.append(Signature(name, raw[:4], raw[4:]))
    return Note(text, tuple(sigs))


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[Note, list[Signature]]:
    """Verify a note: at least one signature by a known key, and none by a known key is bad.

    Signatures by keys not in ``verifiers`` are ignored (as C2SP says); the note is rejected
    if it has no signature from a known key.
    """
    parsed = parse_note(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    msg = parsed.text.encode("utf-8")
    good: list[Signature] = []
    for sig in parsed.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        if not v.verify(msg, sig.signature):
            raise NoteError(f"invalid signature for key {sig.name}+{sig.key_id.hex()}")
        good.append(sig)
    if not good:
        seen = ", ".join(f"{s.name}+{s.key_id.hex()}" for s in parsed.signatures)
        want = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in known.values()) or "none"
        raise NoteError(f"note is signed only by unknown key(s) {seen}; trusted: {want}")
    return parsed, good


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        return (f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"
                + "".join(e + "\n" for e in self.extensions))

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("checkpoint body needs origin, size and root hash lines")
        origin, size_s, root_s = lines[0], lines[1], lines[2]
        if not origin:
            raise NoteError("checkpoint origin line is empty")
        if not re.fullmatch(r"0|[1-9][0-9]*", size_s):
            raise NoteError(f"checkpoint tree size {size_s!r} is not a decimal number")
        root = _b64decode(root_s)
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        ext = tuple(lines[3:-1])
        if any(not e for e in ext):
            raise NoteError("checkpoint has an empty extension line")
        return cls(origin, int(size_s), root, ext)


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    return sign_note(cp.body(), [signer])


def open_checkpoint(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[Checkpoint, Note]:
    parsed, _ = open_note(note, verifiers)
    return Checkpoint.parse_body(parsed.text), parsed


# ---------------------------------------------------------------------------- key files

SIGNER_FILE = LedgerKeyFiles.signer
VERIFIER_FILE = LedgerKeyFiles.verifier


def generate_key_files(name: str, out_dir: str | os.PathLike, *, force: bool = False
                       ) -> tuple[Path, Path]:
    """Write ``signer.key`` (mode 0600) and ``verifier.vkey`` into ``out_dir``.

    An existing signer key is never overwritten unless ``force``: losing it would orphan every
    checkpoint the log has published under that key.
    """
    out = Path(out_dir)
    skey_path, vkey_path = out / SIGNER_FILE, out / VERIFIER_FILE
    if not valid_key_name(name):
        raise InputDataError(str(out), f"key name {name!r} is empty or contains '+', spaces "
                             "or control characters", field="name",
                             fix="use the log origin, e.g. gep.example.org/demo")
    if skey_path.exists() and not force:
        raise InputDataError(str(skey_path), "a signing key already exists here", field="out",
                             fix="keep using it, or pass --force to replace it (earlier "
                             "checkpoints then need the old verifier key)")
    signer = Signer.generate(name)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{SIGNER_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(signer.encode() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, skey_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    from gep.io import write_text

    write_text(vkey_path, signer.verifier().encode() + "\n")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(vkey_path, 0o666 & ~umask)  # the verifier key is public
    return skey_path, vkey_path


def load_signer(path: str | os.PathLike) -> Signer:
    """Read a signer key file; refuse one that others can read."""
    p = Path(path)
    if not p.is_file():
        raise InputDataError(str(p), "signing key file not found", field="key",
                             fix="create one with: gep ledger keygen --name ORIGIN --out DIR")
    mode = stat.S_IMODE(p.stat().st_mode)
    if mode & 0o077:
        raise InputDataError(str(p), f"signing key is readable by others (mode {mode:o})",
                             field="key", fix=f"chmod 600 {p}")
    try:
        return Signer.parse(p.read_text(encoding="ascii"))
    except (NoteError, UnicodeDecodeError) as exc:
        raise InputDataError(str(p), f"not a signing key: {exc}", field="key",
                             fix="pass the signer.key written by gep ledger keygen") from None


def load_verifiers(paths: Iterable[str | os.PathLike]) -> list[Verifier]:
    out = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise InputDataError(str(p), "verifier key file not found", field="vkey",
                                 fix="pass the verifier.vkey published with the ledger")
        try:
            lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
            if not lines:
                raise NoteError("file is empty")
            out.extend(Verifier.parse(ln) for ln in lines)
        except NoteError as exc:
            raise InputDataError(str(p), f"not a verifier key: {exc}", field="vkey",
                                 fix="the file holds one line name+keyid+base64key") from None
    return out
