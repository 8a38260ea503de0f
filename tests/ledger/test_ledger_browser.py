"""The public site in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``).

Pages are opened as ``file://`` URLs, as a citizen who downloaded the site would. Checked: no
console errors on the index or on any entry's page (``entry.html#<i>``); the checkpoint
signature verifies in the browser; search and the year / kind / account filters show exactly
the matching transfers; every inclusion proof shown verifies against the signed root, and fails
once the entry text is edited; the browser's RFC 9162 verifier reproduces the published
RFC 6962 vectors; the bundled SHA-256 equals hashlib's; the language switch works; the page
fits a phone screen; and long lists are paged.

Skipped only when Chromium is missing and ``CI`` is unset; under ``CI=true`` they must run.
"""
from __future__ import annotations

import importlib.util
import base64
import hashlib
import json
from pathlib import Path

import pytest

from gep.ledger import api
from gep.ledger.site import build_site

from .ledger_helpers import mth, transfer_row, write_transfers
from .test_ledger_merkle import INCLUSION, LEAVES, ROOTS

_spec = importlib.util.spec_from_file_location(
    "gep_tests_browser", Path(__file__).resolve().parents[1] / "browser.py")
browser = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser)
pytestmark = browser.skip_without_browser

ROWS = [
    transfer_row("S-2021-01", "100000000.00", 2021, "zhejiang", "anhui", "bet",
                 "对赌协议：水质达标，浙江补偿安徽 water quality met"),
    transfer_row("S-2021-02", "1500000.50", 2021, "xiahe", "shanyuan", "performance",
                 "GEP 增量绩效奖励 performance reward"),
    transfer_row("S-2022-01", "750000.00", 2022, "nanzhou", "linxi", "performance",
                 "林溪县 GEP 增长"),
    transfer_row("S-2022-02", "98.76", 2022, "zhejiang", "yunling", "base",
                 "基础补偿 base <script>alert(1)</script>"),
]
DISBURSE = [
    transfer_row("D-2023-07-01", "12345.67", 2023, "escrow", "shanyuan", "daily",
                 "日常拨付 daily disbursement"),
    transfer_row("D-2023-07-02", "2000.00", 2023, "escrow", "linxi", "daily",
                 "日常拨付 paused day resumed"),
]
PARTIES = ("index,party_id,name,name_zh,role,province\n"
           "1,shanyuan,Shanyuan County,山源县,upstream,Anhui\n"
           "2,linxi,Linxi County,林溪县,upstream,Anhui\n"
           "3,yunling,Yunling County,云岭县,upstream,Anhui\n"
           "4,xiahe,Xiahe City,下河市,downstream,Zhejiang\n"
           "5,nanzhou,Nanzhou District,南洲区,downstream,Zhejiang\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("site")
    db = d / "ledger.db"
    skey, vkey = api.keygen("gep.example/demo", d / "keys")
    api.append_transfers_csv(db, write_transfers(d / "t.csv", ROWS))
    api.append_transfers_csv(db, write_transfers(d / "d.csv", DISBURSE), kind="disbursement")
    rep = d / "report_2021.html"
    rep.write_text("<h1>2021</h1>", encoding="utf-8")
    api.append_digest(db, rep, "report", "年度报告 2021 annual report")
    alerts = d / "alerts.csv"
    alerts.write_text("date,section,indicator,value,action\n"
                      "2023-07-02,boundary,NH3-N,1.40,pause\n", encoding="utf-8")
    api.append_alerts_csv(db, alerts)
    cp = d / "checkpoint"
    api.write_checkpoint(db, skey, "gep.example/demo", cp, d / "verifier.vkey")
    # One more entry after the checkpoint: shown, but not provable yet.
    api.append_transfers_csv(db, write_transfers(d / "late.csv", [
        transfer_row("S-2024-01", "1.00", 2024, "zhejiang", "anhui", "base", "late")]))
    (d / "parties.csv").write_text(PARTIES, encoding="utf-8")
    out = d / "site"
    build_site(db, cp, d / "verifier.vkey", out, parties=d / "parties.csv")
    entries = [raw for raw in (json.loads(ln) for ln in
                               (out / "ledger.jsonl").read_text(encoding="utf-8").splitlines())]
    return {"dir": out, "checkpoint": cp.read_text(encoding="utf-8"), "entries": entries,
            "db": db}


@pytest.fixture(scope="module")
def driver():
    with browser.chromium() as drv:
        drv.set_script_timeout(30)
        yield drv


def _open(driver, path: Path):
    driver.get(path.as_uri())
    return driver


def _severe(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _wait_status(driver, elem_id, timeout=10):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.ID, elem_id).get_attribute("data-status") != "pending")
    return driver.find_element(By.ID, elem_id).get_attribute("data-status")


def _visible_rows(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#transfers tbody tr'))"
        ".map(tr => tr.querySelector('code').textContent);")


def _open_entry(driver, site_dir: Path, i: int) -> str:
    """Show entry i; wait until it is drawn and its proof checked; return the proof status."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get((site_dir / "entry.html").as_uri() + f"#{i}")
    WebDriverWait(driver, 10).until(lambda d: d.find_element(
        "id", "entry-page").get_attribute("data-index") == str(i))
    if driver.find_element("id", "proof").is_displayed():
        return _wait_status(driver, "verify-result")
    return "not provable"


def test_pages_load_without_console_errors(driver, site):
    _open(driver, site["dir"] / "index.html")
    assert _wait_status(driver, "sig-status") == "valid"
    assert _severe(driver) == []
    for e in site["entries"]:
        _open(driver, site["dir"] / "index.html")  # a fresh load of entry.html each time
        _open_entry(driver, site["dir"], e["index"])
        assert _severe(driver) == [], e["index"]
    # An index that does not exist is reported on the page, without errors.
    driver.get((site["dir"] / "entry.html").as_uri() + "#999")
    assert driver.find_element("id", "no-entry").is_displayed()
    assert _severe(driver) == []


def test_checkpoint_signature_verifies_in_browser(driver, site):
    _open(driver, site["dir"] / "index.html")
    assert _wait_status(driver, "sig-status") == "valid"
    shown = driver.find_element("id", "checkpoint-note").text
    assert shown.split("\n")[:3] == site["checkpoint"].split("\n")[:3]


def test_search_and_filters(driver, site):
    from selenium.webdriver.support.ui import Select

    transfers = [e["record"] for e in site["entries"] if e["record"]["type"] == "transfer"]
    _open(driver, site["dir"] / "index.html")
    assert sorted(_visible_rows(driver)) == sorted(t["transfer_id"] for t in transfers)
    search = driver.find_element("id", "search")
    search.send_keys("林溪")  # the Chinese name of linxi, from parties.csv
    want = sorted(t["transfer_id"] for t in transfers if "linxi" in (t["from_account"],
                                                                      t["to_account"]))
    assert sorted(_visible_rows(driver)) == want == ["D-2023-07-02", "S-2022-01"]
    assert driver.find_element("id", "transfer-count").text == "2"
    search.clear()
    search.send_keys("Performance")  # case-insensitive, matches the clause
    assert sorted(_visible_rows(driver)) == ["S-2021-02", "S-2022-01"]
    search.clear()
    search.send_keys(" ")  # whitespace only: no filter
    Select(driver.find_element("id", "filter-year")).select_by_value("2021")
    assert sorted(_visible_rows(driver)) == ["S-2021-01", "S-2021-02"]
    Select(driver.find_element("id", "filter-year")).select_by_value("")
    Select(driver.find_element("id", "filter-kind")).select_by_value("disbursement")
    assert sorted(_visible_rows(driver)) == ["D-2023-07-01", "D-2023-07-02"]
    Select(driver.find_element("id", "filter-party")).select_by_value("shanyuan")
    assert _visible_rows(driver) == ["D-2023-07-01"]
    Select(driver.find_element("id", "filter-kind")).select_by_value("")
    assert sorted(_visible_rows(driver)) == ["D-2023-07-01", "S-2021-02"]
    Select(driver.find_element("id", "filter-party")).select_by_value("")
    assert len(_visible_rows(driver)) == len(transfers)
    # Markup in an explanation is shown as text, never run.
    assert "<script>alert(1)</script>" in driver.find_element("id", "transfers").text


def test_every_proof_shown_verifies(driver, site):
    root = base64.b64decode(site["checkpoint"].split("\n")[2]).hex()
    size = int(site["checkpoint"].split("\n")[1])
    raws = []
    for e in site["entries"][:size]:
        raws.append(json.dumps(e["record"], sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode())
    assert mth(raws).hex() == root
    for e in site["entries"][:size]:  # moving between entries on one page (hash changes)
        assert _open_entry(driver, site["dir"], e["index"]) == "ok"
        assert driver.find_element("id", "computed-root").text == root
        assert driver.find_element("id", "computed-leaf").text == e["leaf_hash"]
        assert driver.find_element("id", "entry-text").get_attribute("value") == \
            raws[e["index"]].decode()
        assert _wait_status(driver, "sig-status") == "valid"
    late = site["entries"][size]
    assert _open_entry(driver, site["dir"], late["index"]) == "not provable"
    assert driver.find_element("id", "awaiting").is_displayed()


def test_edited_entry_fails_verification(driver, site):
    from selenium.webdriver.common.keys import Keys

    assert _open_entry(driver, site["dir"], 1) == "ok"
    box = driver.find_element("id", "entry-text")
    text = box.get_attribute("value")
    assert "1500000.50" in text
    reset = ("document.getElementById('verify-result').setAttribute('data-status', 'pending');"
             "arguments[0].value = arguments[1];")
    driver.execute_script(reset, box, text.replace("1500000.50", "1500000.51"))
    driver.find_element("id", "verify-btn").click()
    assert _wait_status(driver, "verify-result") == "fail"
    # Typing into the box works the same way: one character appended -> fail.
    driver.execute_script(reset, box, text)
    box.send_keys(Keys.END, " ")
    driver.find_element("id", "verify-btn").click()
    assert _wait_status(driver, "verify-result") == "fail"
    driver.execute_script(reset, box, text)  # the original text verifies again
    driver.find_element("id", "verify-btn").click()
    assert _wait_status(driver, "verify-result") == "ok"


def test_bundled_sha256_matches_hashlib_and_verifies_without_webcrypto(driver, site):
    _open_entry(driver, site["dir"], 0)
    inputs = [bytes(range(n % 256)) * (1 + n // 256) for n in range(0, 140)]
    inputs += ["阳光账本 sunshine ledger".encode() * 300, b"abc"]
    got = driver.execute_script(
        "return arguments[0].map(h => { const b = gepVerify.hexToBytes(h);"
        " return gepVerify.bytesToHex(gepSha256(b)); });", [x.hex() for x in inputs])
    assert got == [hashlib.sha256(x).hexdigest() for x in inputs]
    driver.execute_script("gepVerify.forceBundledSha256();"
                          "document.getElementById('verify-result')"
                          ".setAttribute('data-status', 'pending');")
    driver.find_element("id", "verify-btn").click()
    assert _wait_status(driver, "verify-result") == "ok"
    assert driver.execute_script("return gepVerify.usesWebCrypto();") is False


def test_browser_verifier_on_rfc_vectors(driver, site):
    """The in-page RFC 9162 verifier reproduces transparency-dev/merkle's published roots."""
    _open(driver, site["dir"] / "index.html")
    cases = []
    for leaf_no, size, proof in INCLUSION:
        leaf = hashlib.sha256(b"\x00" + LEAVES[leaf_no - 1]).hexdigest()
        cases.append([leaf_no - 1, size, leaf, proof, ROOTS[size - 1].hex()])
    results = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "(async () => { const out = [];"
        " for (const [i, n, leaf, path, root] of arguments[0]) {"
        "  const V = gepVerify;"
        "  const r = await V.rootFromInclusionProof(i, n, V.hexToBytes(leaf),"
        "                                           path.map(V.hexToBytes));"
        "  let rejected = 0;"
        "  for (const bad of [[i + 1, n], [i, n * 2], [i, Math.floor(n / 2)]]) {"
        "    try { const r2 = await V.rootFromInclusionProof(bad[0], bad[1],"
        "            V.hexToBytes(leaf), path.map(V.hexToBytes));"
        "          if (V.bytesToHex(r2) !== root) rejected++; }"
        "    catch (e) { rejected++; } }"
        "  out.push([V.bytesToHex(r), rejected]); }"
        " done(out); })().catch(e => done(String(e)));", cases)
    assert [r[0] for r in results] == [c[4] for c in cases]
    assert all(r[1] == 3 for r in results)


def test_language_switch_and_phone_layout(driver, site):
    _open(driver, site["dir"] / "index.html")
    driver.execute_script("localStorage.removeItem('gep-ledger-lang'); location.reload();")
    html = driver.find_element("tag name", "html")
    h1 = driver.find_element("css selector", "header h1")
    start = html.get_attribute("data-lang")
    assert start in ("zh", "en")
    texts = {start: h1.text}
    driver.find_element("id", "lang-toggle").click()
    other = html.get_attribute("data-lang")
    assert other != start
    texts[other] = h1.text
    assert texts == {"zh": "阳光账本", "en": "Sunshine Ledger"}
    placeholder = driver.find_element("id", "search").get_attribute("placeholder")
    assert ("搜索" in placeholder) == (other == "zh")
    # The choice is remembered across pages.
    _open_entry(driver, site["dir"], 0)
    assert driver.find_element("tag name", "html").get_attribute("data-lang") == other
    # Phone width: nothing wider than the screen (tables scroll inside their own box).
    _open(driver, site["dir"] / "index.html")
    width, inner = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];")
    assert width <= inner
    assert driver.execute_script(
        "return document.querySelector('meta[name=viewport]').content").startswith(
        "width=device-width")


def test_long_transfer_lists_are_paged(driver, tmp_path, keys):
    """Years of daily disbursements: the list shows 100 rows at a time and filters them all."""
    from selenium.webdriver.common.by import By

    skey, vkey = keys
    db = tmp_path / "l.db"
    rows = [transfer_row(f"D{i:04d}", f"{i + 1}.00", 2021 + i % 2, "escrow",
                         ["shanyuan", "linxi"][i % 3 == 0], "daily", f"day {i}")
            for i in range(300)]
    api.append_transfers_csv(db, write_transfers(tmp_path / "t.csv", rows),
                             kind="disbursement")
    api.write_checkpoint(db, skey, "gep.example/test", tmp_path / "cp")
    build_site(db, tmp_path / "cp", vkey, tmp_path / "site")
    _open(driver, tmp_path / "site" / "index.html")
    more = driver.find_element(By.ID, "more")
    assert len(_visible_rows(driver)) == 100 and more.is_displayed()
    assert driver.find_element(By.ID, "transfer-count").text == "300"
    more.click()
    assert len(_visible_rows(driver)) == 200
    more.click()
    assert len(_visible_rows(driver)) == 300 and not more.is_displayed()
    driver.find_element(By.ID, "search").send_keys("linxi")
    want = sorted(r["transfer_id"] for r in rows if r["to_account"] == "linxi")
    assert sorted(_visible_rows(driver)) == want and len(want) == 100
    assert driver.find_element(By.ID, "transfer-count").text == "100"
    assert not more.is_displayed()
    # Entries 256.. live in the second data file (256 per file): their proofs verify too.
    assert _open_entry(driver, tmp_path / "site", 299) == "ok"
    assert _open_entry(driver, tmp_path / "site", 255) == "ok"
    assert _severe(driver) == []
