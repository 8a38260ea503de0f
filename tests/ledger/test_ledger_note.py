"""C2SP signed notes and checkpoints against the Go reference implementation's vectors.

Vectors from golang/mod ``sumdb/note/note_test.go`` (BSD-3-Clause): the PeterNeumann signer
and verifier keys, the signed text, and the exact signature Go produces (Ed25519 signatures
are deterministic, RFC 8032, so signing the same text with the same key must reproduce it byte
for byte), the EnochRoot signature, and the malformed notes Go's ``Open`` rejects.
"""
from __future__ import annotations

import base64
import hashlib
import os
import stat

import pytest

from gep.errors import InputDataError
from gep.ledger import note as N

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = ("If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n")
PETER_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
             "qfqdngotpRZb6KE6RyyBwJnAM=\n")
ENOCH_SIG = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOT"
             "GwnWLox33WWd1RvMc+QQ=\n")


def test_go_vector_sign_reproduces_signature():
    signer = N.Signer.parse(PETER_SKEY)
    assert signer.encode() == PETER_SKEY
    assert signer.verifier().encode() == PETER_VKEY
    assert N.sign_note(TEXT, [signer]) == TEXT + "\n" + PETER_SIG


def test_key_id_is_sha256_of_name_newline_type_and_key():
    v = N.Verifier.parse(PETER_VKEY)
    raw = base64.b64decode(PETER_VKEY.split("+", 2)[2])
    assert raw[0] == 0x01 and v.public_key == raw[1:]
    want = hashlib.sha256(b"PeterNeumann\n" + raw).digest()[:4]
    assert v.key_id == want == bytes.fromhex("c74f20a3")


def test_open_go_note_with_known_and_unknown_keys():
    peter, enoch = N.Verifier.parse(PETER_VKEY), N.Verifier.parse(ENOCH_VKEY)
    msg = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    parsed, good = N.open_note(msg, [peter])
    assert parsed.text == TEXT
    assert [s.name for s in good] == ["PeterNeumann"]  # Enoch's is ignored, not an error
    _, good = N.open_note(msg, [peter, enoch])
    assert [s.name for s in good] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(N.NoteError, match="unknown key"):
        N.open_note(msg, [])


def test_invalid_signature_is_rejected():
    peter = N.Verifier.parse(PETER_VKEY)
    bad = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(N.NoteError):
        N.open_note(bad, [peter])
    with pytest.raises(N.NoteError, match="invalid signature"):
        N.open_note(TEXT.replace("answer", "Answer") + "\n" + PETER_SIG, [peter])


@pytest.mark.parametrize("msg", [
    TEXT,
    TEXT + "\n",
    TEXT + "\n" + PETER_SIG[:-1],
    "\x01" + TEXT + "\n" + PETER_SIG,
    TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
                  "fqdngotpRZb6KE6RyyBwJnAM=",
    TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    TEXT + "\n" + PETER_SIG * 101,
])
def test_go_malformed_notes_are_rejected(msg):
    with pytest.raises(N.NoteError):
        N.open_note(msg, [N.Verifier.parse(PETER_VKEY)])


def test_invalid_utf8_note_is_rejected():
    with pytest.raises(N.NoteError, match="UTF-8"):
        N.open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [N.Verifier.parse(PETER_VKEY)])


def test_mangled_verifier_keys_are_rejected():
    """TestNewVerifier: every substring and every single-byte change must fail to parse."""
    N.Verifier.parse(PETER_VKEY)
    b = PETER_VKEY.encode()
    for i in range(len(b)):
        for j in range(i + 1, len(b) + 1):
            if (i, j) != (0, len(b)):
                with pytest.raises(N.NoteError):
                    N.Verifier.parse(b[i:j].decode())
    for i in range(len(b)):
        mangled = bytearray(b)
        mangled[i] += 1
        with pytest.raises((N.NoteError, UnicodeDecodeError)):
            N.Verifier.parse(mangled.decode())


def test_checkpoint_body_round_trip_and_c2sp_example():
    # The example checkpoint body of c2sp.org/tlog-checkpoint.
    body = ("example.com/behind-the-sofa\n20852163\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
    cp = N.Checkpoint.parse_body(body)
    assert cp.origin == "example.com/behind-the-sofa" and cp.size == 20852163
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.body() == body
    ext = N.Checkpoint.parse_body(body + "extension line\n")
    assert ext.extensions == ("extension line",)


@pytest.mark.parametrize("body", [
    "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",   # leading zero
    "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",            # empty origin
    "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2\n",        # 31-byte root / bad b64
    "origin\n1\n",
])
def test_bad_checkpoint_bodies(body):
    with pytest.raises(N.NoteError):
        N.Checkpoint.parse_body(body)


def test_keygen_files_modes_and_round_trip(tmp_path):
    skey, vkey = N.generate_key_files("gep.example/demo", tmp_path / "keys")
    assert stat.S_IMODE(os.stat(skey).st_mode) == 0o600
    signer = N.load_signer(skey)
    [verifier] = N.load_verifiers([vkey])
    assert verifier == signer.verifier() and verifier.name == "gep.example/demo"
    cp = N.Checkpoint("gep.example/demo", 3, hashlib.sha256(b"x").digest())
    note = N.sign_checkpoint(cp, signer)
    got, _ = N.open_checkpoint(note, [verifier])
    assert got == cp
    # A checkpoint from another key is rejected by this verifier.
    other = N.Signer.generate("gep.example/demo")
    with pytest.raises(N.NoteError, match="unknown key"):
        N.open_checkpoint(N.sign_checkpoint(cp, other), [verifier])
    with pytest.raises(InputDataError, match="already exists"):
        N.generate_key_files("gep.example/demo", tmp_path / "keys")


def test_signer_key_readable_by_others_is_refused(tmp_path):
    skey, _ = N.generate_key_files("k", tmp_path)
    os.chmod(skey, 0o644)
    with pytest.raises(InputDataError, match="chmod 600"):
        N.load_signer(skey)


@pytest.mark.parametrize("name", ["", "a+b", "has space", "tab\there"])
def test_bad_key_names(tmp_path, name):
    with pytest.raises(InputDataError, match="key name"):
        N.generate_key_files(name, tmp_path)
