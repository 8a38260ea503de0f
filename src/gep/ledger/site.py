"""The static "sunshine ledger" (阳光账本) site: bilingual, phone-friendly, verifiable offline.

The site is plain files (HTML, CSS, JS; no server, no network, opens from ``file://``):

* ``index.html``: overview, fund flows per account and year, every transfer with its clause and
  explanation (searchable, filterable by year, kind and account, shown 100 at a time so a
  phone copes with years of daily disbursements), report and data digests, alerts, the latest
  signed checkpoint (its signature checked in the browser with WebCrypto Ed25519 where the
  browser has it) and how to check it all by hand;
* ``entry.html#<i>``: entry ``i`` with its exact canonical bytes and its inclusion proof in the
  checkpointed tree, verified in the browser (``assets/verify.js``: RFC 9162 section 2.1.3.2
  with WebCrypto SHA-256, or the bundled ``assets/sha256.js``). Entries and proofs come from
  ``data/entries-<k>.js`` (256 entries per file, loaded with a script tag, which works from
  ``file://`` where fetch does not); the transfer list from ``data/transfers.js``;
* ``checkpoint.txt``, ``verifier.vkey`` and ``ledger.jsonl`` (the full export) for download.

Proofs are computed from the entries themselves (not from stored tree nodes), and the site is
refused unless the checkpoint's signature verifies with the given key and its root equals the
root of the ledger's first ``size`` entries: the site never publishes a proof that fails.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from gep.errors import InputDataError
from gep.io import atomic_dir
from gep.ledger import merkle
from gep.ledger.note import NoteError, load_verifiers, open_checkpoint
from gep.ledger.records import book_account
from gep.ledger.store import Ledger
from gep.paths import SiteFiles

ASSETS = Path(__file__).with_name("site_assets")
CHUNK = 256  # entries per data/entries-<k>.js file: a proof page loads one ~0.4 MB file
STATIC = ("style.css", "site.js", "verify.js", "sha256.js")

KIND_LABELS = {
    "settlement": ("年度结算", "settlement"),
    "disbursement": ("日常拨付", "disbursement"),
    "data_batch": ("监测数据批次", "data batch"),
    "gep_table": ("GEP 核算表", "GEP table"),
    "report": ("报告", "report"),
    "portal_event": ("公众监督平台记录", "portal record"),
}
FIELD_LABELS = {
    "type": ("记录类型", "record type"), "kind": ("类型", "kind"),
    "transfer_id": ("转账编号", "transfer id"), "year": ("年份", "year"),
    "clause": ("协议条款", "agreement clause"), "from_account": ("付款方", "from account"),
    "to_account": ("收款方", "to account"), "amount_cny": ("金额（元）", "amount (CNY)"),
    "explanation": ("说明", "explanation"), "sha256": ("SHA-256 指纹", "SHA-256"),
    "size_bytes": ("字节数", "size (bytes)"), "file": ("文件", "file"),
    "covers": ("覆盖范围", "covers"),
}
TYPE_LABELS = {"transfer": ("资金转账", "transfer"), "digest": ("文件摘要", "digest"),
               "alert": ("预警", "alert")}


def _money(fen: int) -> str:
    return f"{Decimal(fen).scaleb(-2):,.2f}"


def _fen(amount: str) -> int:
    return int(Decimal(amount).scaleb(2))


def _script_json(obj) -> str:
    """JSON safe inside <script>: no '</script>' or '<!--' can appear."""
    return (json.dumps(obj, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))


def _read_parties(path: str | os.PathLike | None) -> dict[str, tuple[str, str]]:
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise InputDataError(str(p), "parties file not found", field="parties",
                             fix="pass results/<basin>/inputs/parties.csv or leave it out")
    with open(p, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        need = {"party_id", "name", "name_zh"}
        if not need <= set(reader.fieldnames or ()):
            raise InputDataError(str(p), "needs columns party_id,name,name_zh", line=1,
                                 field=min(need - set(reader.fieldnames or ())),
                                 fix="use the parties.csv written by the pipeline")
        return {r["party_id"]: (r["name_zh"] or r["name"], r["name"]) for r in reader}


def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(ASSETS)),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True)


def _publish_modes(top: Path) -> None:
    """Directories 0755 and files 0644 (less the umask): temp dirs/files start private."""
    umask = os.umask(0)
    os.umask(umask)
    for dirpath, _, files in os.walk(top):
        os.chmod(dirpath, 0o777 & ~umask)
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o666 & ~umask)


def build_site(db: str | os.PathLike, checkpoint: str | os.PathLike, vkey: str | os.PathLike,
               out_dir: str | os.PathLike, *, parties: str | os.PathLike | None = None,
               title: str | None = None, portal_url: str | None = None) -> Path:
    """Write the site into ``out_dir`` (replaced atomically); returns the index.html path.

    ``portal_url``: the citizen portal (gep serve), linked from every page."""
    cp_path = Path(checkpoint)
    note, cp, vkey_text = _signed_checkpoint(cp_path, vkey)
    names = _read_parties(parties)
    raw_entries, tree = _checkpointed_entries(db, cp, cp_path)
    content = _Content.of(raw_entries, cp.size)
    n = len(raw_entries)
    site_json = _script_json({
        "checkpoint": note, "vkey": vkey_text, "size": n, "cp_size": cp.size, "chunk": CHUNK,
        "labels": FIELD_LABELS, "types": TYPE_LABELS})
    common = {
        "title_zh": title or "阳光账本", "title_en": title or "Sunshine Ledger",
        "origin": cp.origin, "note": note, "vkey": vkey_text, "cp_size": cp.size, "size": n,
        "site_json": site_json, "portal_url": portal_url,
    }
    index_html, entry_html, ledger_js = _render(content, names, common)
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        files = SiteFiles(tmp)
        _write_pages(files, index_html, entry_html, ledger_js)
        _write_proofs(files, raw_entries, tree, cp.size)
        files.checkpoint.write_text(note, encoding="utf-8")
        files.verifier_key.write_text(vkey_text + "\n", encoding="utf-8")
        _write_export(files.export, raw_entries, content.records)
        _publish_modes(tmp)
    return SiteFiles(out).index


def _signed_checkpoint(cp_path: Path, vkey: str | os.PathLike):
    """The checkpoint note, verified with ``vkey``, and the encoded key that signed it."""
    if not cp_path.is_file():
        raise InputDataError(str(cp_path), "checkpoint file not found", field="checkpoint",
                             fix="run gep ledger checkpoint first")
    note = cp_path.read_text(encoding="utf-8")
    verifiers = load_verifiers([vkey])
    try:
        cp, parsed = open_checkpoint(note, verifiers)
    except NoteError as exc:
        raise InputDataError(str(cp_path), f"checkpoint does not verify: {exc}",
                             field="checkpoint", fix="pass the checkpoint signed by the key "
                             "in --vkey") from None
    signed_by = [v for v in verifiers
                 if any((s.name, s.key_id) == (v.name, v.key_id) for s in parsed.signatures)]
    return note, cp, signed_by[0].encode()


def _checkpointed_entries(db: str | os.PathLike, cp, cp_path: Path
                          ) -> tuple[list[bytes], merkle.MerkleTree]:
    """Every entry of the ledger and the tree of the checkpointed ones; refused unless the
    ledger holds the checkpoint's entries and they give its root."""
    with Ledger(db, create=False) as lg:
        raw_entries = [raw for _, raw in lg.entries()]
    n = len(raw_entries)
    if cp.size > n:
        raise InputDataError(str(cp_path), f"checkpoint covers {cp.size} entries but the "
                             f"ledger holds {n}", field="checkpoint",
                             fix="use the checkpoint written from this ledger")
    tree = merkle.MerkleTree.from_entries(raw_entries[:cp.size])
    if tree.root() != cp.root:
        raise InputDataError(str(cp_path), "the checkpoint's root hash is not the root of the "
                             "ledger's entries; refusing to publish", field="checkpoint",
                             fix="run gep ledger verify and re-sign a checkpoint")
    return raw_entries, tree


@dataclass
class _Content:
    """What the pages show: transfers (rows of data/transfers.js), digests, alerts and the
    fund flows per year and account, in fen."""

    records: list = field(default_factory=list)
    transfers: list[list] = field(default_factory=list)
    digests: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    alert_columns: list[str] = field(default_factory=list)
    flows_fen: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    total_fen: int = 0

    @classmethod
    def of(cls, raw_entries: list[bytes], cp_size: int) -> _Content:
        c = cls()
        for i, raw in enumerate(raw_entries):
            rec = json.loads(raw)
            c.records.append(rec)
            c.add(i, rec, proven=i < cp_size)
        return c

    def add(self, i: int, rec: dict, proven: bool) -> None:
        if rec["type"] == "transfer":
            fen = _fen(rec["amount_cny"])
            self.total_fen += fen
            self.flows_fen[(rec["year"], book_account(rec, "from_account"))][0] += fen
            self.flows_fen[(rec["year"], book_account(rec, "to_account"))][1] += fen
            self.transfers.append([i, rec["transfer_id"], rec["year"], rec["kind"],
                                   rec["from_account"], rec["to_account"], _money(fen),
                                   rec["clause"], rec["explanation"], proven])
        elif rec["type"] == "digest":
            kz, ke = KIND_LABELS.get(rec["kind"], (rec["kind"], rec["kind"]))
            self.digests.append({"index": i, "proven": proven, "kind_zh": kz, "kind_en": ke,
                                 "file": rec["file"], "size_bytes": rec["size_bytes"],
                                 "covers": rec["covers"], "sha256": rec["sha256"]})
        elif rec["type"] == "alert":
            for col in rec["fields"]:
                if col not in self.alert_columns:
                    self.alert_columns.append(col)
            self.alerts.append({"index": i, "proven": proven, "fields": rec["fields"]})


def _render(content: _Content, names: dict[str, tuple[str, str]], common: dict
            ) -> tuple[str, str, str]:
    """index.html, entry.html and data/transfers.js."""
    def label(acct: str) -> tuple[str, str]:
        return names.get(acct, (acct, acct))

    transfers = content.transfers
    flows = []
    for (year, acct), (paid, received) in sorted(content.flows_fen.items()):
        zh, en = label(acct)
        flows.append({"year": year, "account": acct, "name_zh": zh, "name_en": en,
                      "paid": _money(paid), "received": _money(received),
                      "net": _money(received - paid), "negative": received < paid})
    accounts = sorted({a for t in transfers for a in (t[4], t[5])})
    env = _environment()
    index_html = env.get_template("index.html.j2").render(
        page_zh="阳光账本", page_en="Sunshine ledger", transfers_total=len(transfers),
        digests=content.digests, alerts=content.alerts, alert_columns=content.alert_columns,
        flows=flows, total_amount=_money(content.total_fen),
        years=sorted({t[2] for t in transfers}),
        kinds=[{"value": k, "zh": KIND_LABELS[k][0], "en": KIND_LABELS[k][1]}
               for k in ("settlement", "disbursement") if any(t[3] == k for t in transfers)],
        accounts=[{"id": a, "zh": label(a)[0], "en": label(a)[1]} for a in accounts], **common)
    entry_html = env.get_template("entry.html.j2").render(
        page_zh="记录与证明", page_en="Entry and proof", **common)
    ledger_js = "window.GEP_LEDGER = " + json.dumps(
        {"transfers": transfers, "names": {a: list(label(a)) for a in accounts},
         "kinds": KIND_LABELS}, ensure_ascii=False, separators=(",", ":")) + ";\n"
    return index_html, entry_html, ledger_js


def _write_pages(files: SiteFiles, index_html: str, entry_html: str, ledger_js: str) -> None:
    """The static assets, the two pages and the transfer list."""
    for sub in (files.assets, files.data):
        sub.mkdir()
    for name in STATIC:
        shutil.copyfile(ASSETS / name, files.assets / name)
    files.index.write_text(index_html, encoding="utf-8")
    files.entry.write_text(entry_html, encoding="utf-8")
    files.transfers_js.write_text(ledger_js, encoding="utf-8")


def _write_proofs(files: SiteFiles, raw_entries: list[bytes], tree: merkle.MerkleTree,
                  cp_size: int) -> None:
    """data/entries-<k>.js: CHUNK entries each, with leaf hash and inclusion proof (none for
    an entry the checkpoint does not cover yet)."""
    n = len(raw_entries)
    for start in range(0, n, CHUNK):
        rows = []
        for i in range(start, min(start + CHUNK, n)):
            raw = raw_entries[i]
            path = ([h.hex() for h in tree.inclusion_proof(i, cp_size)]
                    if i < cp_size else None)
            rows.append([i, raw.decode("utf-8"), merkle.leaf_hash(raw).hex(), path])
        files.entries_js(start // CHUNK).write_text(
            "gepEntryChunk(" + json.dumps({"start": start, "entries": rows},
                                          ensure_ascii=False, separators=(",", ":"))
            + ");\n", encoding="utf-8")


def _write_export(path: Path, raw_entries: list[bytes], records: list) -> None:
    """ledger.jsonl: every entry's index, record and leaf hash."""
    with open(path, "w", encoding="utf-8") as fh:
        for i, raw in enumerate(raw_entries):
            fh.write(json.dumps({"index": i, "record": records[i],
                                 "leaf_hash": merkle.leaf_hash(raw).hex()},
                                ensure_ascii=False) + "\n")
