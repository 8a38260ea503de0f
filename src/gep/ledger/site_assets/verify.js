/* Proof and checkpoint verification in the browser, independent of the server that built
 * the site. Inclusion proofs follow RFC 9162 section 2.1.3.2 step by step; checkpoints are
 * C2SP signed notes (tlog-checkpoint body), signatures Ed25519 through WebCrypto when the
 * browser has it. SHA-256 comes from WebCrypto, or from the bundled gepSha256 without it.
 * Sizes and indices use plain arithmetic (not 32-bit bit operations) so trees up to 2^53
 * leaves work. */
(function (root) {
  "use strict";
  var enc = new TextEncoder();
  var useSubtle = !!(root.crypto && root.crypto.subtle && root.isSecureContext !== false);

  function hexToBytes(hex) {
    if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error("not a hex string: " + hex);
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }
  function bytesToHex(b) {
    var s = "";
    for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? "0" : "") + b[i].toString(16);
    return s;
  }
  function b64ToBytes(s) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
      throw new Error("not standard base64: " + s);
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function concat() {
    var n = 0, i;
    for (i = 0; i < arguments.length; i++) n += arguments[i].length;
    var out = new Uint8Array(n), off = 0;
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], off); off += arguments[i].length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function lsb(x) { return x % 2 === 1; }
  function half(x) { return Math.floor(x / 2); }

  async function sha256(bytes) {
    if (useSubtle) {
      try {
        return new Uint8Array(await root.crypto.subtle.digest("SHA-256", bytes));
      } catch (e) {
        useSubtle = false;
      }
    }
    return root.gepSha256(bytes);
  }
  function leafHash(entryBytes) { return sha256(concat(new Uint8Array([0]), entryBytes)); }
  function nodeHash(left, right) { return sha256(concat(new Uint8Array([1]), left, right)); }

  /* RFC 9162, 2.1.3.2: returns the computed root r, or throws where the RFC says "fail". */
  async function rootFromInclusionProof(leafIndex, treeSize, hash, path) {
    // 1. If leaf_index is greater than or equal to tree_size, fail.
    if (leafIndex >= treeSize) throw new Error("leaf index is not below the tree size");
    // 2. Set fn to leaf_index and sn to tree_size - 1.
    var fn = leafIndex, sn = treeSize - 1;
    // 3. Set r to hash.
    var r = hash;
    // 4. For each value p in the inclusion_path array:
    for (var i = 0; i < path.length; i++) {
      var p = path[i];
      // a. If sn is 0, stop the iteration and fail the proof verification.
      if (sn === 0) throw new Error("the proof is longer than the tree is deep");
      // b. If LSB(fn) is set, or if fn is equal to sn, then:
      if (lsb(fn) || fn === sn) {
        // i. Set r to HASH(0x01 || p || r).
        r = await nodeHash(p, r);
        // ii. If LSB(fn) is not set, right-shift fn and sn equally until LSB(fn) is set or
        //     fn is 0.
        while (!lsb(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
      } else {
        // Otherwise: i. Set r to HASH(0x01 || r || p).
        r = await nodeHash(r, p);
      }
      // c. Finally, right-shift both fn and sn one time.
      fn = half(fn); sn = half(sn);
    }
    // 5. Compare sn to 0 (and, by the caller, r to the root hash).
    if (sn !== 0) throw new Error("the proof is shorter than the tree is deep");
    return r;
  }

  function parseNote(text) {
    var split = text.lastIndexOf("\n\n");
    if (split < 0 || text.charAt(text.length - 1) !== "\n") throw new Error("malformed note");
    var body = text.slice(0, split + 1);
    var lines = text.slice(split + 2, -1).split("\n");
    var sigs = lines.map(function (ln) {
      var m = /^\u2014 (\S+) (\S+)$/.exec(ln);
      if (!m || m[1].indexOf("+") >= 0) throw new Error("malformed signature line: " + ln);
      var raw = b64ToBytes(m[2]);
      if (raw.length < 5) throw new Error("signature too short");
      return { name: m[1], keyId: raw.slice(0, 4), sig: raw.slice(4) };
    });
    return { body: body, sigs: sigs };
  }

  function parseCheckpoint(body) {
    var lines = body.split("\n");
    if (lines.length < 4 || lines[lines.length - 1] !== "") throw new Error("bad checkpoint");
    if (!lines[0]) throw new Error("empty origin");
    if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("bad tree size");
    var rootHash = b64ToBytes(lines[2]);
    if (rootHash.length !== 32) throw new Error("root hash is not 32 bytes");
    return { origin: lines[0], size: Number(lines[1]), root: rootHash };
  }

  async function parseVkey(vkey) {
    var parts = vkey.trim().split("+");
    if (parts.length < 3) throw new Error("bad verifier key");
    var name = parts[0], hexId = parts[1], raw = b64ToBytes(parts.slice(2).join("+"));
    if (raw.length !== 33 || raw[0] !== 1) throw new Error("not an Ed25519 verifier key");
    var pub = raw.slice(1);
    var id = (await sha256(concat(enc.encode(name + "\n"), new Uint8Array([1]), pub))).slice(0, 4);
    if (bytesToHex(id) !== hexId) throw new Error("verifier key id does not match");
    return { name: name, keyId: id, pub: pub };
  }

  /* "valid" | "invalid" | "unknown-key" | "unsupported" (no Ed25519 in this browser). */
  async function verifyNoteSignature(noteText, vkeyText) {
    var note = parseNote(noteText);
    var v = await parseVkey(vkeyText);
    var mine = note.sigs.filter(function (s) { return s.name === v.name && equal(s.keyId, v.keyId); });
    if (!mine.length) return "unknown-key";
    if (!(root.crypto && root.crypto.subtle)) return "unsupported";
    var key;
    try {
      key = await root.crypto.subtle.importKey("raw", v.pub, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      return "unsupported";
    }
    for (var i = 0; i < mine.length; i++) {
      var ok = await root.crypto.subtle.verify({ name: "Ed25519" }, key, mine[i].sig,
        enc.encode(note.body));
      if (!ok) return "invalid";
    }
    return "valid";
  }

  /* Check that entryText is leaf `index` of the tree whose signed root is in noteText. */
  async function verifyEntryProof(entryText, index, pathHex, noteText) {
    var cp = parseCheckpoint(parseNote(noteText).body);
    var leaf = await leafHash(enc.encode(entryText));
    var path = pathHex.map(hexToBytes);
    var r = await rootFromInclusionProof(index, cp.size, leaf, path);
    return { ok: equal(r, cp.root), leaf: bytesToHex(leaf), computedRoot: bytesToHex(r),
      signedRoot: bytesToHex(cp.root), size: cp.size, origin: cp.origin };
  }

  root.gepVerify = {
    sha256: sha256, leafHash: leafHash, nodeHash: nodeHash, hexToBytes: hexToBytes,
    bytesToHex: bytesToHex, rootFromInclusionProof: rootFromInclusionProof,
    parseNote: parseNote, parseCheckpoint: parseCheckpoint, parseVkey: parseVkey,
    verifyNoteSignature: verifyNoteSignature, verifyEntryProof: verifyEntryProof,
    usesWebCrypto: function () { return useSubtle; },
    forceBundledSha256: function () { useSubtle = false; }
  };
})(window);
