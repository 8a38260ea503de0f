"""Filing (备案) of the agreement with a body such as the local people's congress.

The agreement file's SHA-256, the body, the date and the body's reference go into the
sunshine ledger as a digest record (kind ``data_batch``; ``covers`` carries the filing) and
into ``committee/filings.csv``, which the report shows. Re-filing the same agreement with
the same body and reference is idempotent.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from gep.errors import InputDataError
from gep.io import read_csv_rows, write_csv

FILINGS_HEADER = ("date", "body", "reference", "agreement_id", "agreement_file", "sha256",
                  "ledger_index")


def covers_text(agreement_id: str, body: str, date: str, reference: str) -> str:
    return (f"agreement {agreement_id} filed (备案) with {body} on {date}, "
            f"reference {reference}")


def file_agreement(agreement: str | Path, body: str, date: str, reference: str,
                   ledger_db: str | Path, filings_csv: str | Path) -> dict:
    from gep.compensation import load_agreement
    from gep.ledger import append_digest
    from gep.ledger.api import file_sha256

    body, reference = body.strip(), reference.strip()
    for field, v in (("--body", body), ("--reference", reference)):
        if not v or "\n" in v:
            raise InputDataError("<command line>", f"{field} is empty or spans lines",
                                 f"give {field} as one line of text", field=field)
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise InputDataError("<command line>", f"date '{date}' is not a date",
                             "write YYYY-MM-DD, e.g. 2020-03-15", field="--date") from None
    a = load_agreement(agreement)  # a filed agreement must be a valid one
    sha, _ = file_sha256(Path(agreement))
    summary = append_digest(ledger_db, agreement, "data_batch",
                            covers_text(a.agreement, body, date, reference))
    index = summary.results[0].index if summary.results else ""
    rows = []
    if Path(filings_csv).is_file():
        rows = [r for _, r in read_csv_rows(filings_csv, FILINGS_HEADER, "filings")
                if not (r["sha256"] == sha and r["body"] == body
                        and r["reference"] == reference)]
    new = dict(date=date, body=body, reference=reference, agreement_id=a.agreement,
               agreement_file=Path(agreement).name, sha256=sha, ledger_index=index)
    rows.append(new)
    rows.sort(key=lambda r: (r["date"], r["reference"]))
    write_csv(filings_csv, FILINGS_HEADER, rows)
    return {**new, "status": summary.results[0].status if summary.results else ""}
