"""``gep publish`` and ``gep ledger append|checkpoint|prove|verify|export|site|keygen``."""
from __future__ import annotations

import argparse
import json
import sys

from gep.cli_common import Basin, add_config, basin, help_action, print_json, require
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
    _db(p, "ledger database (created if missing)")
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
    _db(p)
    p.add_argument("--key", help="signer key file from gep ledger keygen (default "
                   "<ledger.key_dir>/<basin>/signer.key)")
    p.add_argument("--origin", help="log name on the checkpoint's first line (default "
                   "ledger.origin)")
    p.add_argument("--out", help="where to write the signed checkpoint (default "
                   "results/<basin>/ledger/checkpoint)")
    p.add_argument("--vkey-out", help="also write the verifier key (public) here (default "
                   "results/<basin>/ledger/verifier.vkey when --out is not given)")
    p.set_defaults(func=_checkpoint)

    _register_tools(sub)


def _register_tools(sub) -> None:
    """prove, verify, export, site, keygen."""
    p = sub.add_parser("prove", help="print an inclusion or consistency proof as JSON")
    _db(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--entry", type=int, help="log index of the entry to prove")
    what.add_argument("--from-size", type=int, dest="from_size",
                      help="consistency proof from this older tree size")
    p.add_argument("--size", type=int,
                   help="tree size to prove against (default: newest checkpoint covering the "
                        "entry, else the current size)")
    p.set_defaults(func=_prove)

    p = sub.add_parser("verify", help="recompute every hash, balance and checkpoint")
    _db(p)
    p.add_argument("--checkpoint", help="a published checkpoint to check the ledger against")
    p.add_argument("--vkey", action="append", default=[],
                   help="trusted verifier key file (repeatable)")
    p.set_defaults(func=_verify)

    p = sub.add_parser("export", help="print the log as JSON lines")
    _db(p)
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=_export)

    p = sub.add_parser("site", help="build the static bilingual public site")
    _db(p)
    p.add_argument("--checkpoint", help="default results/<basin>/ledger/checkpoint")
    p.add_argument("--vkey", help="default results/<basin>/ledger/verifier.vkey")
    p.add_argument("--out", help="output directory, replaced atomically (default "
                   "results/<basin>/ledger/site)")
    p.add_argument("--parties", help="parties.csv (party_id,name,name_zh,...) for display "
                                     "names (optional; default: the basin's, with --config)")
    p.add_argument("--title", help="optional site title")
    p.set_defaults(func=_site)

    p = sub.add_parser("keygen", help="create an Ed25519 signer key and its verifier key")
    add_config(p)
    p.add_argument("--name", help="key name, usually the log origin (default ledger.origin)")
    p.add_argument("--out", help="directory for signer.key and verifier.vkey (default "
                   "<ledger.key_dir>/<basin>)")
    p.add_argument("--force", action="store_true", help="replace an existing signer key")
    p.set_defaults(func=_keygen)


def _db(p: argparse.ArgumentParser, help: str = "ledger database") -> None:
    add_config(p, "basin configuration: the defaults of the paths below (default "
                  "config/config.yaml)")
    p.add_argument("--db", help=f"{help} (default results/<basin>/ledger/ledger.db)")


#: the basin's value of each flag (``gep ledger ... --config``), used when it is not given
_DEFAULTS = {
    "db": lambda b: b.paths.ledger.db,
    "key": lambda b: b.paths.ledger_keys.signer,
    "origin": lambda b: b.cfg.ledger.origin,
    "name": lambda b: b.cfg.ledger.origin,
    "checkpoint": lambda b: b.paths.ledger.checkpoint,
    "vkey": lambda b: b.paths.ledger.verifier_key,
    "site_out": lambda b: b.paths.ledger.site,
    "checkpoint_out": lambda b: b.paths.ledger.checkpoint,
    "key_out": lambda b: b.paths.ledger_keys,
}


def _fill(a: argparse.Namespace, *names: str, out: str | None = None) -> Basin:
    """Give each flag in ``names`` not on the command line the basin's value; ``out`` names
    the default of ``--out``. The basin config is read only if one is missing."""
    b = Basin(a)
    for name in names:
        setattr(a, name, b.value(getattr(a, name), "--" + name.replace("_", "-"),
                                 _DEFAULTS[name]))
    if out is not None:
        a.out = b.value(a.out, "--out", _DEFAULTS[out])
    return b


def _append(a: argparse.Namespace) -> int:
    from gep.ledger import api

    _fill(a, "db")
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

    out_given = a.out is not None
    b = _fill(a, "db", "key", "origin", out="checkpoint_out")
    if a.vkey_out is None and not out_given:
        a.vkey_out = b.paths.ledger.verifier_key
    cp = api.write_checkpoint(a.db, a.key, a.origin, a.out, a.vkey_out)
    print(f"checkpoint {cp.origin} size {cp.size} root {cp.root.hex()} -> {a.out}")
    return 0


def _prove(a: argparse.Namespace) -> int:
    from gep.ledger import api

    _fill(a, "db")
    if a.entry is not None:
        out = api.prove_inclusion(a.db, a.entry, a.size)
    else:
        out = api.prove_consistency(a.db, a.from_size, a.size)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _verify(a: argparse.Namespace) -> int:
    from gep.ledger import api

    _fill(a, "db")
    report = api.verify(a.db, a.checkpoint, a.vkey)
    print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


def _export(a: argparse.Namespace) -> int:
    from gep.ledger import api

    _fill(a, "db")
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

    b = _fill(a, "db", "checkpoint", "vkey", out="site_out")
    if a.parties is None and b.in_use and b.paths.parties_csv.is_file():
        a.parties = b.paths.parties_csv
    index = build_site(a.db, a.checkpoint, a.vkey, a.out, parties=a.parties, title=a.title)
    print(f"site written: {index}")
    return 0


def _keygen(a: argparse.Namespace) -> int:
    from gep.ledger import api

    _fill(a, "name", out="key_out")
    skey, vkey = api.keygen(a.name, a.out, force=a.force)
    print(f"signer key (keep secret): {skey}\nverifier key (publish): {vkey}")
    return 0
