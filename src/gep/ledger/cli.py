"""``gep publish`` and ``gep ledger append|checkpoint|prove|verify|export|site|keygen``."""
from __future__ import annotations

import argparse
import json
import sys

from gep.cli_common import add_config, basin, help_action, print_json, require
from gep.errors import InputDataError


def register(subparsers) -> None:
    p = subparsers.add_parser("publish", help="append the run to the sunshine ledger, sign a "
                                              "checkpoint, build the public site")
    add_config(p)
    p.set_defaults(func=_publish)
    _register_ledger(subparsers)


def _publish(args: argparse.Namespace) -> int:
    from gep.publish import publish

    cfg, p = basin(args)
    require([p.gep_csv, p.increments_csv], "gep value")
    require([p.parties_csv], "gep acquire --parties")
    print_json(publish(cfg, p))
    return 0


def _register_ledger(subparsers) -> None:
    ledger = subparsers.add_parser(
        "ledger", help="tamper-evident public ledger (transparency log) of data and payments",
        description="Append-only RFC 6962 Merkle log with signed checkpoints, proofs and a "
                    "static public site. See docs/ledger.md.")
    sub = ledger.add_subparsers(dest="ledger_command", metavar="ACTION")
    ledger.set_defaults(func=help_action(ledger))

    p = sub.add_parser("append", help="append transfers, a file digest, or alerts (idempotent)")
    p.add_argument("--db", required=True, help="ledger database (created if missing)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--transfers", metavar="CSV",
                     help="transfers.csv: transfer_id,year,clause,from_account,to_account,"
                          "amount_cny,explanation")
    src.add_argument("--digest", metavar="FILE", nargs="+",
                     help="file(s) whose SHA-256 to record")
    src.add_argument("--alerts", metavar="CSV", help="alerts.csv; one record per row, as given")
    p.add_argument("--kind", help="transfers: settlement (default) | disbursement; "
                                  "digest: data_batch | gep_table | report")
    p.add_argument("--covers", help="what the digested file covers (required with --digest)")
    p.set_defaults(func=_append)

    p = sub.add_parser("checkpoint", help="verify the ledger and sign a checkpoint of it")
    p.add_argument("--db", required=True)
    p.add_argument("--key", required=True, help="signer key file from gep ledger keygen")
    p.add_argument("--origin", required=True, help="log name on the checkpoint's first line")
    p.add_argument("--out", required=True, help="where to write the signed checkpoint")
    p.add_argument("--vkey-out", help="also write the verifier key (public) here")
    p.set_defaults(func=_checkpoint)

    p = sub.add_parser("prove", help="print an inclusion or consistency proof as JSON")
    p.add_argument("--db", required=True)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--entry", type=int, help="log index of the entry to prove")
    what.add_argument("--from-size", type=int, dest="from_size",
                      help="consistency proof from this older tree size")
    p.add_argument("--size", type=int,
                   help="tree size to prove against (default: newest checkpoint covering the "
                        "entry, else the current size)")
    p.set_defaults(func=_prove)

    p = sub.add_parser("verify", help="recompute every hash, balance and checkpoint")
    p.add_argument("--db", required=True)
    p.add_argument("--checkpoint", help="a published checkpoint to check the ledger against")
    p.add_argument("--vkey", action="append", default=[],
                   help="trusted verifier key file (repeatable)")
    p.set_defaults(func=_verify)

    p = sub.add_parser("export", help="print the log as JSON lines")
    p.add_argument("--db", required=True)
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=_export)

    p = sub.add_parser("site", help="build the static bilingual public site")
    p.add_argument("--db", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--vkey", required=True)
    p.add_argument("--out", required=True, help="output directory (replaced atomically)")
    p.add_argument("--parties", help="optional parties.csv (party_id,name,name_zh,...) for "
                                     "display names")
    p.add_argument("--title", help="optional site title")
    p.set_defaults(func=_site)

    p = sub.add_parser("keygen", help="create an Ed25519 signer key and its verifier key")
    p.add_argument("--name", required=True, help="key name, usually the log origin")
    p.add_argument("--out", required=True, help="directory for signer.key and verifier.vkey")
    p.add_argument("--force", action="store_true", help="replace an existing signer key")
    p.set_defaults(func=_keygen)


def _append(a: argparse.Namespace) -> int:
    from gep.ledger import api

    if a.transfers:
        kind = a.kind or "settlement"
        summary = api.append_transfers_csv(a.db, a.transfers, kind)
    elif a.digest:
        if not a.kind or not a.covers:
            raise InputDataError("<command line>", "--digest needs --kind and --covers",
                                 field="kind" if not a.kind else "covers",
                                 fix="e.g. --kind gep_table --covers 'GEP 2021, all parties'")
        summary = api.append_digests(a.db, a.digest, a.kind, a.covers)
    else:
        if a.kind:
            raise InputDataError("<command line>", "--kind does not apply to --alerts",
                                 field="kind", fix="drop --kind")
        summary = api.append_alerts_csv(a.db, a.alerts)
    print(summary)
    return 0


def _checkpoint(a: argparse.Namespace) -> int:
    from gep.ledger import api

    cp = api.write_checkpoint(a.db, a.key, a.origin, a.out, a.vkey_out)
    print(f"checkpoint {cp.origin} size {cp.size} root {cp.root.hex()} -> {a.out}")
    return 0


def _prove(a: argparse.Namespace) -> int:
    from gep.ledger import api

    if a.entry is not None:
        out = api.prove_inclusion(a.db, a.entry, a.size)
    else:
        out = api.prove_consistency(a.db, a.from_size, a.size)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _verify(a: argparse.Namespace) -> int:
    from gep.ledger import api

    report = api.verify(a.db, a.checkpoint, a.vkey)
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _export(a: argparse.Namespace) -> int:
    from gep.ledger import api

    if a.out:
        from gep.io import atomic_path

        with atomic_path(a.out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            api.export_jsonl(a.db, fh)
        api.public_file(a.out)
    else:
        api.export_jsonl(a.db, sys.stdout)
    return 0


def _site(a: argparse.Namespace) -> int:
    from gep.ledger.site import build_site

    index = build_site(a.db, a.checkpoint, a.vkey, a.out, parties=a.parties, title=a.title)
    print(f"site written: {index}")
    return 0


def _keygen(a: argparse.Namespace) -> int:
    from gep.ledger import api

    skey, vkey = api.keygen(a.name, a.out, force=a.force)
    print(f"signer key (keep secret): {skey}\nverifier key (publish): {vkey}")
    return 0
