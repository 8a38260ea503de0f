/* Page behaviour: language switch (zh/en); the transfer list (search, filters, paging) drawn
 * from data/transfers.js; the entry page (entry.html#<index>) drawn from data/entries-<k>.js;
 * and the in-browser checks (checkpoint signature, inclusion proof). Data is only ever put
 * into the page as text (textContent), never as markup. */
(function () {
  "use strict";
  var html = document.documentElement;
  var PAGE = 100;
  var siteData = null;

  function data() {
    if (!siteData) {
      var el = document.getElementById("site-data");
      siteData = el ? JSON.parse(el.textContent) : {};
    }
    return siteData;
  }

  function node(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) el.textContent = String(text);
    return el;
  }

  function bilingual(pair) {  // [zh, en] -> <span lang=zh>..</span><span lang=en>..</span>
    var f = document.createDocumentFragment();
    f.appendChild(node("span", { lang: "zh" }, pair[0]));
    f.appendChild(node("span", { lang: "en" }, pair[1]));
    return f;
  }

  function setLang(lang) {
    html.setAttribute("data-lang", lang);
    html.setAttribute("lang", lang === "zh" ? "zh-CN" : "en");
    document.querySelectorAll("[data-placeholder-" + lang + "]").forEach(function (el) {
      el.setAttribute("placeholder", el.getAttribute("data-placeholder-" + lang));
    });
    try { localStorage.setItem("gep-ledger-lang", lang); } catch (e) { /* storage blocked */ }
  }

  function initLang() {
    var lang = null;
    try { lang = localStorage.getItem("gep-ledger-lang"); } catch (e) { lang = null; }
    if (lang !== "zh" && lang !== "en") {
      lang = (navigator.language || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
    }
    setLang(lang);
    var btn = document.getElementById("lang-toggle");
    if (btn) {
      btn.addEventListener("click", function () {
        setLang(html.getAttribute("data-lang") === "zh" ? "en" : "zh");
      });
    }
  }

  function setStatus(el, status) {
    el.setAttribute("data-status", status);
    el.querySelectorAll("[data-when]").forEach(function (s) {
      s.hidden = s.getAttribute("data-when") !== status;
    });
  }

  /* ------------------------------------------------------------------ transfer list */
  function initTransfers() {
    var table = document.getElementById("transfers");
    var L = window.GEP_LEDGER;
    if (!table || !L) return;
    var names = L.names, kinds = L.kinds;
    function name(acct) { return names[acct] || [acct, acct]; }
    // t = [index, transfer_id, year, kind, from, to, amount, clause, explanation, proven]
    var rows = L.transfers.map(function (t) {
      var text = [t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8]]
        .concat(name(t[4]), name(t[5]), kinds[t[3]] || []).join(" ").toLowerCase();
      return { t: t, text: text };
    });
    var tbody = table.tBodies[0];
    var search = document.getElementById("search");
    var year = document.getElementById("filter-year");
    var kind = document.getElementById("filter-kind");
    var party = document.getElementById("filter-party");
    var count = document.getElementById("transfer-count");
    var more = document.getElementById("more");
    var matches = [], limit = PAGE;

    function rowFor(t) {
      var tr = node("tr", { "data-index": t[0], "data-year": t[2], "data-kind": t[3],
        "data-from": t[4], "data-to": t[5] });
      tr.appendChild(node("td", {}, t[0]));
      var id = node("td");
      id.appendChild(node("code", {}, t[1]));
      tr.appendChild(id);
      tr.appendChild(node("td", {}, t[2]));
      var k = node("td");
      k.appendChild(bilingual(kinds[t[3]] || [t[3], t[3]]));
      tr.appendChild(k);
      var flow = node("td");
      flow.appendChild(bilingual(name(t[4])));
      flow.appendChild(document.createTextNode(" → "));
      flow.appendChild(bilingual(name(t[5])));
      tr.appendChild(flow);
      tr.appendChild(node("td", { class: "num" }, t[6]));
      var why = node("td");
      why.appendChild(node("strong", {}, t[7]));
      why.appendChild(document.createTextNode(" " + t[8]));
      tr.appendChild(why);
      var proof = node("td");
      if (t[9]) {
        var a = node("a", { href: "entry.html#" + t[0] });
        a.appendChild(bilingual(["查看证明", "proof"]));
        proof.appendChild(a);
      } else {
        var s = node("span", { class: "muted" });
        s.appendChild(bilingual(["待下次签名", "awaiting next checkpoint"]));
        proof.appendChild(s);
      }
      tr.appendChild(proof);
      return tr;
    }

    function render() {
      var frag = document.createDocumentFragment();
      matches.slice(0, limit).forEach(function (r) { frag.appendChild(rowFor(r.t)); });
      tbody.textContent = "";
      tbody.appendChild(frag);
      more.hidden = matches.length <= limit;
      count.textContent = String(matches.length);
    }

    function apply() {
      var q = (search.value || "").trim().toLowerCase();
      matches = rows.filter(function (r) {
        var t = r.t;
        return (!q || r.text.indexOf(q) >= 0) &&
          (!year.value || String(t[2]) === year.value) &&
          (!kind.value || t[3] === kind.value) &&
          (!party.value || t[4] === party.value || t[5] === party.value);
      });
      limit = PAGE;
      render();
    }

    [search, year, kind, party].forEach(function (el) {
      el.addEventListener("input", apply);
      el.addEventListener("change", apply);
    });
    more.addEventListener("click", function () { limit += PAGE; render(); });
    apply();
  }

  /* ------------------------------------------------------------------ checks */
  async function checkSignature() {
    var el = document.getElementById("sig-status");
    if (!el) return;
    var D = data();
    try {
      setStatus(el, await window.gepVerify.verifyNoteSignature(D.checkpoint, D.vkey));
    } catch (e) {
      setStatus(el, "invalid");
      el.querySelector("[data-detail]").textContent = String(e.message || e);
    }
  }

  var current = null;  // the entry shown: {index, path}

  async function checkProof() {
    var out = document.getElementById("verify-result");
    if (!out || !current || !current.path) return;
    var shown = current;
    var entry = document.getElementById("entry-text").value;
    var detail = out.querySelector("[data-detail]");
    setStatus(out, "pending");
    try {
      var res = await window.gepVerify.verifyEntryProof(entry, shown.index, shown.path,
        data().checkpoint);
      if (shown !== current) return;  // the reader moved on meanwhile
      document.getElementById("computed-leaf").textContent = res.leaf;
      document.getElementById("computed-root").textContent = res.computedRoot;
      document.getElementById("signed-root").textContent = res.signedRoot;
      detail.textContent = "";
      setStatus(out, res.ok ? "ok" : "fail");
    } catch (e) {
      detail.textContent = String(e.message || e);
      setStatus(out, "fail");
    }
  }

  /* ------------------------------------------------------------------ entry page */
  var chunkPromises = {};
  window.gepEntryChunk = function (chunk) {  // called by data/entries-<k>.js
    (window.gepEntryChunks = window.gepEntryChunks || {})[chunk.start] = chunk;
  };

  function loadChunk(k) {
    var D = data();
    if (!chunkPromises[k]) {
      chunkPromises[k] = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = "data/entries-" + k + ".js";
        s.charset = "utf-8";
        s.onload = function () {
          var c = (window.gepEntryChunks || {})[k * D.chunk];
          if (c) resolve(c); else reject(new Error("data file " + s.src + " is damaged"));
        };
        s.onerror = function () { reject(new Error("cannot load " + s.src)); };
        document.head.appendChild(s);
      });
    }
    return chunkPromises[k];
  }

  function showFields(record) {
    var D = data(), dl = document.getElementById("fields");
    dl.textContent = "";
    var items = [["type", record.type]];
    var src = record.type === "alert" ? record.fields : record;
    Object.keys(src).forEach(function (k) { if (k !== "type") items.push([k, src[k]]); });
    items.forEach(function (kv) {
      var dt = node("dt");
      dt.appendChild(bilingual(D.labels[kv[0]] || [kv[0], kv[0]]));
      dl.appendChild(dt);
      dl.appendChild(node("dd", {}, kv[1]));
    });
    var type = document.getElementById("entry-type");
    type.textContent = "";
    type.appendChild(bilingual(D.types[record.type] || [record.type, record.type]));
  }

  async function showEntry() {
    var page = document.getElementById("entry-page");
    var D = data();
    var raw = location.hash.replace(/^#/, "");
    var i = /^(0|[1-9][0-9]*)$/.test(raw) ? Number(raw) : -1;
    var proof = document.getElementById("proof"), awaiting = document.getElementById("awaiting");
    var none = document.getElementById("no-entry");
    current = null;
    page.setAttribute("data-index", "");
    setStatus(document.getElementById("verify-result"), "pending");
    document.getElementById("entry-index").textContent = raw;
    if (i < 0 || i >= D.size) {
      none.hidden = false; proof.hidden = true; awaiting.hidden = true;
      document.getElementById("fields").textContent = "";
      page.setAttribute("data-index", "none");
      return;
    }
    none.hidden = true;
    var chunk = await loadChunk(Math.floor(i / D.chunk));
    var e = chunk.entries[i - chunk.start];  // [index, entry text, leaf hash, path or null]
    current = { index: e[0], path: e[3] };
    showFields(JSON.parse(e[1]));
    document.getElementById("entry-text").value = e[1];
    document.getElementById("leaf-index").textContent = String(e[0]);
    document.getElementById("server-leaf").textContent = e[2];
    ["computed-leaf", "computed-root", "signed-root"].forEach(function (id) {
      document.getElementById(id).textContent = "";
    });
    var ol = document.getElementById("path");
    ol.textContent = "";
    (e[3] || []).forEach(function (h) { ol.appendChild(node("li", { class: "hash" }, h)); });
    proof.hidden = !e[3];
    awaiting.hidden = !!e[3];
    page.setAttribute("data-index", String(e[0]));
    await checkProof();
  }

  function initEntry() {
    if (!document.getElementById("entry-page")) return;
    document.getElementById("verify-btn").addEventListener("click", checkProof);
    window.addEventListener("hashchange", function () { showEntry(); });
    showEntry().catch(function (e) {
      var out = document.getElementById("verify-result");
      out.querySelector("[data-detail]").textContent = String(e.message || e);
      setStatus(out, "fail");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initLang();
    initTransfers();
    checkSignature();
    initEntry();
  });
})();
