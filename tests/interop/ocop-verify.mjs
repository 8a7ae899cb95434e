// An independent OCOP stamp v1 verifier, written from docs/stamp-format.md (section numbers
// below) and checked against tests/vectors; Node 20 built-ins only. Used by tests/test_interop.py.
//
//   node ocop-verify.mjs vectors DIR
//   node ocop-verify.mjs verify --trust-list F --status-list F --root-key HEX --at TIME [--stars-seen N] TEXT
//   node ocop-verify.mjs forge --seed HEX --key-index N --certificate N --stars N
//                              --valid-until YYYY-MM-DD --serial N [--host H] [--version V]
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const DOMAIN_TAG = Buffer.from("OCOP-STAMP-v1", "ascii"); // section 3
const DIGITS = 193; // section 4
const EPOCH = Date.UTC(2000, 0, 1);
const DAY = 86400000;

// --- base64url without padding, canonical (section 7.1 step 2) ---
function b64urlDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error("b64");
  const raw = Buffer.from(text, "base64url");
  if (raw.toString("base64url") !== text) throw new Error("b64 not canonical");
  return raw;
}
const b64urlEncode = (buf) => Buffer.from(buf).toString("base64url");

function publicKey(raw) {
  if (raw.length !== 32) throw new Error("key length");
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64urlEncode(raw) }, format: "jwk" });
}
function edVerifyRaw(raw, signature, message) {
  try { return edVerify(null, message, publicKey(raw), signature); } catch { return false; }
}

// --- dates (sections 2, 8.3) ---
const dayToDate = (days) => new Date(EPOCH + days * DAY).toISOString().slice(0, 10);
function addMonths(iso, months) {
  const [y, m, d] = iso.split("-").map(Number);
  const index = y * 12 + (m - 1) + months;
  const year = Math.floor(index / 12), month = index % 12;
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(d, last))).toISOString().slice(0, 10);
}
const vietnamDate = (ms) => new Date(ms + 7 * 3600000).toISOString().slice(0, 10);

// --- parsing (section 5) ---
class Malformed extends Error { constructor(code) { super(code); this.code = code; } }
function parseStamp(text) {
  if ([...text].length > 2048) throw new Malformed("too_long");
  const body0 = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (body0 === "") throw new Malformed("empty");
  let body;
  const url = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#\s]*)([\s\S]*)$/.exec(body0);
  if (url) {
    const [, scheme, host, rest] = url;
    if (!["http", "https"].includes(scheme.toLowerCase())) throw new Malformed("not_a_stamp");
    if (host === "") throw new Malformed("not_a_stamp");
    if (rest.startsWith("/01/")) return digitalLink(rest);
    if (!rest.startsWith("/s/") && !rest.startsWith("/S/")) throw new Malformed("wrong_path");
    body = rest.slice(3);
  } else {
    if (!/^[0-9]/.test(body0)) throw new Malformed("not_a_stamp");
    body = body0;
  }
  if (!/^[0-9]+$/.test(body)) throw new Malformed("non_digit");
  if (body.length !== DIGITS) throw new Malformed("wrong_length");
  const n = BigInt(body);
  if (n >= 1n << 640n) throw new Malformed("out_of_range");
  return fromBytes(Buffer.from(n.toString(16).padStart(160, "0"), "hex"), null);
}

// --- the GS1 Digital Link form (section 4.1): /01/GTIN/21/SERIAL?8030=SIGNATURE ---
function gs1CheckDigit(first13) {
  // weights 3 and 1 alternating, starting with 3 at the digit next to the check digit
  const sum = [...first13].reverse().reduce((acc, d, i) => acc + Number(d) * (i % 2 ? 1 : 3), 0);
  return String((10 - (sum % 10)) % 10);
}
function digitalLink(rest) {
  const [path, query, ...more] = rest.split("?");
  const parts = path.split("/"); // "", "01", GTIN, "21", SERIAL
  if (more.length || query === undefined || parts.length !== 5 || parts[3] !== "21" || !query.startsWith("8030=")) {
    throw new Malformed("bad_link");
  }
  const gtin = parts[2], serial = parts[4], signature = query.slice(5);
  if (path.includes("#")) throw new Malformed("bad_link");
  if (!/^\d{14}$/.test(gtin) || gs1CheckDigit(gtin.slice(0, 13)) !== gtin[13]) throw new Malformed("bad_gtin");
  if (serial.length !== 20 || signature.length !== 86) throw new Malformed("bad_link");
  let tail, sig;
  try { [tail, sig] = [b64urlDecode(serial), b64urlDecode(signature)]; } catch { throw new Malformed("bad_link"); }
  return fromBytes(Buffer.concat([Buffer.from([1]), tail, sig]), gtin);
}

function fromBytes(bytes, gtin) {
  const payload = bytes.subarray(0, 16), signature = bytes.subarray(16);
  if (payload[0] !== 1) throw new Malformed("unknown_version");
  const stars = payload[7];
  if (![3, 4, 5].includes(stars)) throw new Malformed("invalid_field");
  return {
    payload, signature, gtin,
    keyIndex: payload.readUInt16BE(1),
    certificateId: payload.readUInt32BE(3),
    stars,
    validUntil: dayToDate(payload.readUInt16BE(8)),
    serial: Number(payload.readUIntBE(10, 6)),
  };
}

// --- signed documents (section 7) ---
class DocError extends Error { constructor(code) { super(code); this.code = code; } }
const keyId = (raw) => b64urlEncode(createHash("sha256").update(raw).digest().subarray(0, 12));
const isInt = (v, bits) => Number.isInteger(v) && v >= 0 && v < 2 ** bits;
const isDay = (v) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v) && !isNaN(Date.parse(v));
const isTime = (v) => typeof v === "string" && /(Z|[+-]\d{2}:\d{2})$/i.test(v) && !isNaN(Date.parse(v));

function checkDocument(bytes, typ, roots, now, heldVersion) {
  if (bytes.length > 16 * 1024 * 1024) throw new DocError("document_invalid");
  let outer, header, claims, signature;
  let payload;
  try {
    outer = JSON.parse(bytes.toString("utf8"));
    header = JSON.parse(b64urlDecode(outer.protected).toString("utf8"));
    signature = b64urlDecode(outer.signature);
    if (typeof outer.payload !== "string") throw new Error("payload");
    payload = Buffer.from(outer.payload, "utf8"); // unencoded (RFC 7797): signed as it is
    claims = JSON.parse(outer.payload);
  } catch { throw new DocError("document_invalid"); }
  if (!header || header.alg !== "EdDSA" || header.typ !== typ) throw new DocError("document_invalid");
  if (header.b64 !== false || JSON.stringify(header.crit) !== '["b64"]') throw new DocError("document_invalid");
  const input = Buffer.concat([Buffer.from(`${outer.protected}.`, "ascii"), payload]);
  const matching = roots.filter((r) => keyId(r) === header.kid);
  if (!(matching.length ? matching : roots).some((r) => edVerifyRaw(r, signature, input))) throw new DocError("document_signature_invalid");
  if (!claims || typeof claims !== "object" || Array.isArray(claims)) throw new DocError("document_invalid");
  const doc = READERS[typ](claims);
  if (heldVersion !== null && heldVersion !== undefined && doc.version < heldVersion) throw new DocError("document_rollback");
  if (now > Date.parse(doc.expiresAt)) throw new DocError("document_expired");
  return doc;
}
function header(claims, type) {
  const bad = () => { throw new DocError("document_invalid"); };
  if (claims.type !== type || !isInt(claims.version, 53) || !isTime(claims.issued_at) || !isTime(claims.expires_at)) bad();
  if (Date.parse(claims.expires_at) <= Date.parse(claims.issued_at)) bad();
  return { version: claims.version, issuedAt: claims.issued_at, expiresAt: claims.expires_at };
}
function trustList(claims) {
  const bad = () => { throw new DocError("document_invalid"); };
  const doc = header(claims, "ocop-trust-list");
  if (!Array.isArray(claims.keys)) bad();
  doc.keys = new Map();
  for (const k of claims.keys) {
    if (!k || !isInt(k.index, 16) || doc.keys.has(k.index)) bad();
    let raw;
    try { raw = b64urlDecode(k.public_key); publicKey(raw); } catch { bad(); }
    if (typeof k.issuer !== "string" || !k.issuer || typeof k.issuer_name !== "string" || !k.issuer_name) bad();
    if (k.province_code !== null && k.province_code !== undefined && typeof k.province_code !== "string") bad();
    if (!Array.isArray(k.stars) || !k.stars.length || !k.stars.every((s) => [3, 4, 5].includes(s))) bad();
    if (!isDay(k.not_before) || !isDay(k.not_after) || k.not_after < k.not_before) bad();
    if (!["active", "retired", "compromised"].includes(k.status)) bad();
    const last = k.last_serial ?? null;
    if (last !== null && !isInt(last, 48)) bad();
    if (k.status === "compromised" && last === null) bad();
    doc.keys.set(k.index, { ...k, raw, last_serial: last });
  }
  return doc;
}
const ref = (r) => `${r.issuer}\u0000${r.certificate_id}`;
function statusList(claims) {
  const doc = header(claims, "ocop-status-list");
  doc.certificates = certificates(claims.certificates);
  doc.blocked = ranges(claims.blocked_serials);
  doc.voided = ranges(claims.voided_batches);
  doc.ref = ref;
  return doc;
}
// section 7.5: changes since a version
function statusChanges(claims) {
  const doc = header(claims, "ocop-status-list-changes");
  if (!isInt(claims.since, 53) || claims.since > claims.version) throw new DocError("document_invalid");
  doc.since = claims.since;
  doc.certificates = certificates(claims.certificates);
  doc.blocked = ranges(claims.blocked_serials);
  doc.lifted = ranges(claims.lifted_serials);
  doc.voided = ranges(claims.voided_batches);
  return doc;
}
function applyChanges(held, changes) {
  if (!(changes.since <= held.version && held.version <= changes.version)) throw new DocError("document_gap");
  const same = (a, b) => a.key_index === b.key_index && a.first === b.first && a.last === b.last;
  const added = (list, more) => [...list, ...more.filter((r) => !list.some((h) => same(h, r)))];
  return {
    version: changes.version, issuedAt: changes.issuedAt, expiresAt: changes.expiresAt, ref,
    certificates: new Map([...held.certificates, ...changes.certificates]),
    blocked: added(held.blocked.filter((r) => !changes.lifted.some((l) => same(l, r))), changes.blocked),
    voided: added(held.voided, changes.voided),
  };
}
function ranges(list) {
  if (!Array.isArray(list)) throw new DocError("document_invalid");
  return list.map((r) => {
    if (!r || !isInt(r.key_index, 16) || !isInt(r.first, 48) || !isInt(r.last, 48) || r.last < r.first) throw new DocError("document_invalid");
    return r;
  });
}
function certificates(list) {
  const bad = () => { throw new DocError("document_invalid"); };
  if (!Array.isArray(list)) bad();
  const entries = new Map();
  for (const c of list) {
    if (!c || typeof c.issuer !== "string" || !isInt(c.certificate_id, 32)) bad();
    if (!["active", "expired", "revoked", "superseded"].includes(c.status) || ![3, 4, 5].includes(c.stars) || !isDay(c.valid_until)) bad();
    const next = c.superseded_by ?? null;
    if ((c.status === "superseded") !== (next !== null)) bad();
    if (next !== null && (typeof next.issuer !== "string" || !isInt(next.certificate_id, 32))) bad();
    const gtin = c.gtin ?? null;
    if (gtin !== null && (typeof gtin !== "string" || !/^\d{14}$/.test(gtin) || gs1CheckDigit(gtin.slice(0, 13)) !== gtin[13])) bad();
    if (entries.has(ref(c))) bad();
    entries.set(ref(c), { ...c, next: next && ref(next) });
  }
  return entries;
}
const READERS = {
  "ocop-trust-list+json": trustList,
  "ocop-status-list+json": statusList,
  "ocop-status-list-changes+json": statusChanges,
};
const TYPES = { trust_list: "ocop-trust-list+json", status_list: "ocop-status-list+json", status_list_changes: "ocop-status-list-changes+json" };

// --- the offline verdict (section 8) ---
const ORDER = ["malformed", "counterfeit", "unregistered", "revoked", "expired", "star_mismatch", "suspected_clone", "genuine"];
const REASON_VERDICT = {
  unknown_key: "counterfeit", bad_signature: "counterfeit", stars_out_of_key_scope: "counterfeit",
  outside_key_period: "counterfeit", key_compromised: "counterfeit", key_retired: "counterfeit",
  gtin_mismatch: "counterfeit", serial_not_issued: "unregistered", batch_voided: "unregistered", certificate_revoked: "revoked",
  certificate_expired: "expired", stars_lowered: "star_mismatch", stars_raised: "star_mismatch",
  stars_seen_higher: "star_mismatch", serial_blocked: "suspected_clone",
};
const verdictOf = (reason) => REASON_VERDICT[reason] ?? "malformed";
function conclude(reasons, notes) {
  const unique = [...new Set(reasons)];
  const sorted = unique.map((r, i) => [r, i]).sort((a, b) => ORDER.indexOf(verdictOf(a[0])) - ORDER.indexOf(verdictOf(b[0])) || a[1] - b[1]).map((x) => x[0]);
  return { verdict: sorted.length ? verdictOf(sorted[0]) : "genuine", reasons: sorted, notes };
}
function verdict(text, tl, sl, now, starsSeen) {
  const notes = ["offline"];
  if (now > Date.parse(tl.expiresAt)) notes.push("trust_list_expired");
  if (now > Date.parse(sl.expiresAt)) notes.push("status_list_expired");
  let stamp;
  try { stamp = parseStamp(text); } catch (e) { if (e instanceof Malformed) return conclude([e.code], notes); throw e; }
  const key = tl.keys.get(stamp.keyIndex);
  if (!key) return conclude(["unknown_key"], notes);
  if (!edVerifyRaw(key.raw, stamp.signature, Buffer.concat([DOMAIN_TAG, stamp.payload]))) return conclude(["bad_signature"], notes);
  const scope = [];
  if (!key.stars.includes(stamp.stars)) scope.push("stars_out_of_key_scope");
  const first = addMonths(stamp.validUntil, -36), last = stamp.validUntil;
  if (last < key.not_before || first > key.not_after) scope.push("outside_key_period");
  if (key.last_serial !== null && stamp.serial > key.last_serial) scope.push(key.status === "compromised" ? "key_compromised" : "key_retired");
  if (scope.length) return conclude(scope, notes);
  if (key.status === "compromised") notes.push("key_compromised_below_watermark");
  const reasons = [];
  const inRange = (ranges) => ranges.some((r) => r.key_index === stamp.keyIndex && r.first <= stamp.serial && stamp.serial <= r.last);
  if (inRange(sl.voided)) reasons.push("batch_voided");
  const listed = sl.certificates.get(sl.ref({ issuer: key.issuer, certificate_id: stamp.certificateId }));
  let current = listed;
  for (let i = 0; i < 16 && current && current.next; i++) {
    const next = sl.certificates.get(current.next);
    if (!next) break;
    current = next;
  }
  const today = vietnamDate(now);
  let stars, validUntil;
  if (!listed) {
    notes.push("not_in_status_list");
    [stars, validUntil] = [stamp.stars, stamp.validUntil];
  } else {
    if (current !== listed) notes.push("renewed");
    [stars, validUntil] = [current.stars, current.valid_until];
    if (current.status === "revoked") reasons.push("certificate_revoked");
    else if (current.status === "expired") reasons.push("certificate_expired");
  }
  if (stamp.gtin !== null) {
    if (!listed) notes.push("gtin_unchecked");
    else if ((listed.gtin ?? null) !== stamp.gtin) reasons.push("gtin_mismatch");
  }
  if (validUntil < today) reasons.push("certificate_expired");
  if (stamp.stars > stars) reasons.push("stars_lowered");
  if (stamp.stars < stars) reasons.push("stars_raised");
  if (starsSeen !== null && starsSeen !== undefined && starsSeen > stars) reasons.push("stars_seen_higher");
  if (inRange(sl.blocked)) reasons.push("serial_blocked");
  return conclude(reasons, notes);
}

// --- forging, for the tests (sections 2-4) ---
function forge(o) {
  const payload = Buffer.alloc(16);
  payload[0] = Number(o.version ?? 1);
  payload.writeUInt16BE(Number(o["key-index"]), 1);
  payload.writeUInt32BE(Number(o.certificate), 3);
  payload[7] = Number(o.stars);
  payload.writeUInt16BE(Math.round((Date.parse(o["valid-until"]) - EPOCH) / DAY), 8);
  payload.writeUIntBE(Number(o.serial), 10, 6);
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(o.seed, "hex")]);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const signature = edSign(null, Buffer.concat([DOMAIN_TAG, payload]), key);
  const digits = BigInt("0x" + Buffer.concat([payload, signature]).toString("hex")).toString().padStart(DIGITS, "0");
  return { url: `https://${o.host ?? "ocop.vn"}/s/${digits}`, digits };
}

// --- command line ---
function options(args) {
  const o = { _: [] };
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith("--")) o[args[i].slice(2)] = args[++i];
    else o._.push(args[i]);
  }
  return o;
}
const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const [command, ...rest] = process.argv.slice(2);
const o = options(rest);
if (command === "vectors") {
  const dir = o._[0];
  const v = JSON.parse(readFileSync(join(dir, "vectors.json"), "utf8"));
  const roots = [Buffer.from(v.root_public_key_hex, "hex")];
  const now = Date.parse(v.now);
  const tl = checkDocument(readFileSync(join(dir, v.trust_list)), "ocop-trust-list+json", roots, now, null);
  const sl = checkDocument(readFileSync(join(dir, v.status_list)), "ocop-status-list+json", roots, now, null);
  const failures = [];
  for (const c of v.stamps) {
    const got = verdict(c.input, tl, sl, now, c.stars_seen ?? null);
    if (JSON.stringify(got) !== JSON.stringify(c.expected)) failures.push({ name: c.name, expected: c.expected, got });
  }
  for (const d of v.documents) {
    let got = null;
    try { checkDocument(readFileSync(join(dir, d.file)), TYPES[d.kind], roots, now, d.held_version); } catch (e) { got = e.code ?? String(e); }
    if (got !== d.expected_error) failures.push({ name: d.name, expected: d.expected_error, got });
  }
  const load = (file, kind, held = null) => checkDocument(readFileSync(join(dir, file)), TYPES[kind], roots, now, held);
  // a list is its version, dates, certificates and sets of ranges: compared in one order
  const shape = (l) => JSON.stringify([l.version, l.issuedAt, l.expiresAt,
    [...l.certificates.values()].map((c) => JSON.stringify([c.issuer, c.certificate_id, c.status, c.stars, c.valid_until, c.reason, c.decision, c.next])).sort(),
    ...[l.blocked, l.voided].map((rs) => rs.map((r) => [r.key_index, r.first, r.last]).sort())]);
  for (const c of v.changes) {
    let got = null;
    try {
      const held = load(c.held, "status_list");
      const applied = applyChanges(held, load(c.changes, "status_list_changes", held.version));
      if (shape(applied) !== shape(load(c.result, "status_list"))) got = "result_differs";
    } catch (e) { got = e.code ?? String(e); }
    if (got !== c.expected_error) failures.push({ name: c.name, expected: c.expected_error, got });
  }
  print({ stamp_cases: v.stamps.length, document_cases: v.documents.length, change_cases: v.changes.length, failures });
  process.exit(failures.length ? 1 : 0);
} else if (command === "verify") {
  const roots = [Buffer.from(o["root-key"].trim(), "hex")];
  const now = Date.parse(o.at);
  let tl, sl;
  try {
    tl = checkDocument(readFileSync(o["trust-list"]), "ocop-trust-list+json", roots, now, null);
    sl = checkDocument(readFileSync(o["status-list"]), "ocop-status-list+json", roots, now, null);
  } catch (e) { print({ error: e.code ?? String(e) }); process.exit(2); }
  const got = verdict(o._[0], tl, sl, now, o["stars-seen"] === undefined ? null : Number(o["stars-seen"]));
  print(got);
  process.exit(got.verdict === "genuine" ? 0 : 1);
} else if (command === "forge") {
  print(forge(o));
} else {
  process.stderr.write("usage: ocop-verify.mjs vectors DIR | verify ... | forge ...\n");
  process.exit(2);
}
