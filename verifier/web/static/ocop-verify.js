// The offline verdict in the browser: docs/stamp-format.md, sections 5, 7 and 8.
// Ed25519 through WebCrypto, or @noble/ed25519 where the browser lacks it.
import * as noble from "/static/vendor/noble-ed25519/ed25519.js";

const DOMAIN_TAG = new TextEncoder().encode("OCOP-STAMP-v1");
const EPOCH = Date.UTC(2000, 0, 1);
const DAY = 86400000;

let webcrypto = null; // null: not tried yet; true / false: the browser has Ed25519 or not

/** Which Ed25519 implementation verified the last signature: "webcrypto" or "noble". */
export function ed25519Engine() {
  return webcrypto === false ? "noble" : "webcrypto";
}

/** Verify an Ed25519 signature (RFC 8032). Never throws. */
export async function ed25519Verify(publicKey, signature, message) {
  if (webcrypto !== false) {
    let key = null;
    try {
      key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      if (error && error.name === "NotSupportedError") webcrypto = false; // no Ed25519 here
      else return false; // a malformed public key
    }
    if (key) {
      webcrypto = true;
      try {
        return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
      } catch {
        return false;
      }
    }
  }
  try {
    return await noble.verifyAsync(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function b64urlDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error("b64");
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (b64urlEncode(bytes) !== text) throw new Error("b64 not canonical");
  return bytes;
}
export function b64urlEncode(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
export const hexToBytes = (hex) => Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));

const dayToDate = (days) => new Date(EPOCH + days * DAY).toISOString().slice(0, 10);
function addMonths(iso, months) {
  const [y, m, d] = iso.split("-").map(Number);
  const index = y * 12 + (m - 1) + months;
  const year = Math.floor(index / 12), month = index % 12;
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(d, last))).toISOString().slice(0, 10);
}
export const vietnamDate = (ms) => new Date(ms + 7 * 3600000).toISOString().slice(0, 10);

class Malformed extends Error {
  constructor(code) { super(code); this.code = code; }
}

/** Section 5: a stamp from its URL (either form) or digits, or a Malformed error with the
 *  reason code. `gtin` is the Digital Link form's GTIN (not signed), null for the others. */
export function parseStamp(text) {
  if ([...text].length > 2048) throw new Malformed("too_long");
  const body0 = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  if (body0 === "") throw new Malformed("empty");
  let body;
  const url = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#\s]*)([\s\S]*)$/.exec(body0);
  if (url) {
    const [, scheme, host, rest] = url;
    if (!["http", "https"].includes(scheme.toLowerCase()) || host === "") throw new Malformed("not_a_stamp");
    if (rest.startsWith("/01/")) return parseGs1Link(rest);
    if (!rest.startsWith("/s/") && !rest.startsWith("/S/")) throw new Malformed("wrong_path");
    body = rest.slice(3);
  } else {
    if (!/^[0-9]/.test(body0)) throw new Malformed("not_a_stamp");
    body = body0;
  }
  if (!/^[0-9]+$/.test(body)) throw new Malformed("non_digit");
  if (body.length !== 193) throw new Malformed("wrong_length");
  const n = BigInt(body);
  if (n >= 1n << 640n) throw new Malformed("out_of_range");
  return stampOf(hexToBytes(n.toString(16).padStart(160, "0")), null);
}

/** Section 4.1: a 14-digit GTIN whose last digit is its GS1 check digit. */
function isGtin(text) {
  if (!/^[0-9]{14}$/.test(text)) return false;
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += Number(text[12 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10 === Number(text[13]);
}

/** Section 5, step 3: the GS1 Digital Link form after the host. */
function parseGs1Link(rest) {
  const link = /^\/01\/([^/?#]*)\/21\/([^/?#]*)\?8030=([\s\S]*)$/.exec(rest);
  if (!link) throw new Malformed("bad_link");
  const [, gtin, serial, signature] = link;
  if (!isGtin(gtin)) throw new Malformed("bad_gtin");
  if (serial.length !== 20 || signature.length !== 86) throw new Malformed("bad_link");
  let bytes;
  try {
    bytes = Uint8Array.from([1, ...b64urlDecode(serial), ...b64urlDecode(signature)]);
  } catch {
    throw new Malformed("bad_link");
  }
  return stampOf(bytes, gtin);
}

function stampOf(bytes, gtin) {
  const payload = bytes.slice(0, 16), signature = bytes.slice(16);
  if (payload[0] !== 1) throw new Malformed("unknown_version");
  if (![3, 4, 5].includes(payload[7])) throw new Malformed("invalid_field");
  const view = new DataView(payload.buffer);
  return {
    payload, signature, gtin,
    keyIndex: view.getUint16(1),
    certificateId: view.getUint32(3),
    stars: payload[7],
    validUntil: dayToDate(view.getUint16(8)),
    serial: view.getUint16(10) * 2 ** 32 + view.getUint32(12),
  };
}

export class DocumentError extends Error {
  constructor(code) { super(code); this.code = code; }
}
const isInt = (v, bits) => Number.isInteger(v) && v >= 0 && v < 2 ** bits;
const isDay = (v) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v);
const isTime = (v) => typeof v === "string" && /(Z|[+-]\d{2}:\d{2})$/i.test(v) && !isNaN(Date.parse(v));

async function keyId(raw) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return b64urlEncode(digest.slice(0, 12));
}

export const STATUS_CHANGES_TYPE = "ocop-status-list-changes+json";
const protectedHeader = (outer) => JSON.parse(new TextDecoder().decode(b64urlDecode(outer.protected)));

/** The `typ` a document's header claims, or null: only to choose which kind to check it as
 *  with checkDocument, never trusted. */
export function unverifiedDocumentType(text) {
  try {
    const typ = protectedHeader(JSON.parse(text)).typ;
    return typeof typ === "string" ? typ : null;
  } catch {
    return null;
  }
}

/** Section 7.1: check a signed document (unencoded payload, RFC 7797) and return its claims.
 *  Throws DocumentError. */
export async function checkDocument(text, typ, roots, now, heldVersion = null) {
  let outer, header, claims, signature;
  try {
    outer = JSON.parse(text);
    header = protectedHeader(outer);
    signature = b64urlDecode(outer.signature);
    if (typeof outer.payload !== "string") throw new Error("payload");
    claims = JSON.parse(outer.payload);
  } catch { throw new DocumentError("document_invalid"); }
  if (!header || header.alg !== "EdDSA" || header.typ !== typ) throw new DocumentError("document_invalid");
  if (header.b64 !== false || !Array.isArray(header.crit) || header.crit.length !== 1 || header.crit[0] !== "b64") {
    throw new DocumentError("document_invalid");
  }
  const input = new TextEncoder().encode(`${outer.protected}.${outer.payload}`);
  const ids = await Promise.all(roots.map(keyId));
  const matching = roots.filter((_, i) => ids[i] === header.kid);
  let trusted = false;
  for (const root of matching.length ? matching : roots) {
    if (await ed25519Verify(root, signature, input)) { trusted = true; break; }
  }
  if (!trusted) throw new DocumentError("document_signature_invalid");
  if (!claims || typeof claims !== "object" || Array.isArray(claims)) throw new DocumentError("document_invalid");
  const bad = () => { throw new DocumentError("document_invalid"); };
  if (!isInt(claims.version, 53) || !isTime(claims.issued_at) || !isTime(claims.expires_at)) bad();
  if (heldVersion !== null && claims.version < heldVersion) throw new DocumentError("document_rollback");
  if (now > Date.parse(claims.expires_at)) throw new DocumentError("document_expired");
  return claims;
}

/** The trust list's keys by index (section 7.3). */
export function trustListOf(claims) {
  if (claims.type !== "ocop-trust-list" || !Array.isArray(claims.keys)) throw new DocumentError("document_invalid");
  const keys = new Map();
  for (const k of claims.keys) {
    if (!isInt(k.index, 16) || keys.has(k.index) || !Array.isArray(k.stars) || !isDay(k.not_before) || !isDay(k.not_after)) {
      throw new DocumentError("document_invalid");
    }
    keys.set(k.index, { ...k, raw: b64urlDecode(k.public_key), last_serial: k.last_serial ?? null });
  }
  return { ...claims, keys };
}

const ref = (issuer, id) => `${issuer}\u0000${id}`;

/** The status list's certificates and ranges (section 7.4). */
export function statusListOf(claims) {
  if (claims.type !== "ocop-status-list" || !Array.isArray(claims.certificates)) throw new DocumentError("document_invalid");
  const certificates = new Map();
  for (const c of claims.certificates) {
    const next = c.superseded_by ?? null;
    certificates.set(ref(c.issuer, c.certificate_id), { ...c, next: next && ref(next.issuer, next.certificate_id) });
  }
  return { ...claims, certificates, blocked: claims.blocked_serials || [], voided: claims.voided_batches || [] };
}

/** Section 7.5: the status list `held` (claims) brought to the version of `changes` (claims
 *  checked with checkDocument as STATUS_CHANGES_TYPE), as whole-list claims: changes since the
 *  version held or an older one. Throws DocumentError("document_gap") when the version held
 *  is not from `changes.since` to `changes.version`. */
export function applyStatusChanges(held, changes) {
  if (changes.type !== "ocop-status-list-changes" || !Array.isArray(changes.certificates)) throw new DocumentError("document_invalid");
  if (!(changes.since <= held.version && held.version <= changes.version)) throw new DocumentError("document_gap");
  const rangeKey = (r) => `${r.key_index}:${r.first}:${r.last}`;
  const certificates = new Map(held.certificates.map((c) => [ref(c.issuer, c.certificate_id), c]));
  for (const c of changes.certificates) certificates.set(ref(c.issuer, c.certificate_id), c);
  const lifted = new Set((changes.lifted_serials || []).map(rangeKey));
  const withNew = (ranges, added) => {
    const seen = new Set(ranges.map(rangeKey));
    return [...ranges, ...(added || []).filter((r) => !seen.has(rangeKey(r)) && seen.add(rangeKey(r)))];
  };
  return {
    type: "ocop-status-list", version: changes.version,
    issued_at: changes.issued_at, expires_at: changes.expires_at,
    certificates: [...certificates.values()],
    blocked_serials: withNew((held.blocked_serials || []).filter((r) => !lifted.has(rangeKey(r))), changes.blocked_serials),
    voided_batches: withNew(held.voided_batches || [], changes.voided_batches),
  };
}

const ORDER = ["malformed", "counterfeit", "unregistered", "revoked", "expired", "star_mismatch", "suspected_clone", "genuine"];
const REASON_VERDICT = {
  unknown_key: "counterfeit", bad_signature: "counterfeit", stars_out_of_key_scope: "counterfeit",
  outside_key_period: "counterfeit", key_compromised: "counterfeit", key_retired: "counterfeit",
  gtin_mismatch: "counterfeit", serial_not_issued: "unregistered", batch_voided: "unregistered", certificate_revoked: "revoked",
  certificate_expired: "expired", stars_lowered: "star_mismatch", stars_raised: "star_mismatch",
  stars_seen_higher: "star_mismatch", serial_blocked: "suspected_clone",
};
const verdictOf = (reason) => REASON_VERDICT[reason] ?? "malformed";

function conclude(reasons, notes, extra = {}) {
  const unique = [...new Set(reasons)];
  const sorted = unique
    .map((r, i) => [r, i])
    .sort((a, b) => ORDER.indexOf(verdictOf(a[0])) - ORDER.indexOf(verdictOf(b[0])) || a[1] - b[1])
    .map((x) => x[0]);
  return { verdict: sorted.length ? verdictOf(sorted[0]) : "genuine", reasons: sorted, notes, ...extra };
}

/** Section 8.3: the offline verdict on a stamp text at the moment `now` (ms). */
export async function offlineVerdict(text, trustList, statusList, now, starsSeen = null) {
  const notes = ["offline"];
  if (now > Date.parse(trustList.expires_at)) notes.push("trust_list_expired");
  if (now > Date.parse(statusList.expires_at)) notes.push("status_list_expired");
  let stamp;
  try { stamp = parseStamp(text); } catch (e) {
    if (e instanceof Malformed) return conclude([e.code], notes);
    throw e;
  }
  const key = trustList.keys.get(stamp.keyIndex);
  if (!key) return conclude(["unknown_key"], notes, { stamp });
  const message = new Uint8Array(DOMAIN_TAG.length + 16);
  message.set(DOMAIN_TAG);
  message.set(stamp.payload, DOMAIN_TAG.length);
  if (!(await ed25519Verify(key.raw, stamp.signature, message))) return conclude(["bad_signature"], notes, { stamp });
  const scope = [];
  if (!key.stars.includes(stamp.stars)) scope.push("stars_out_of_key_scope");
  if (stamp.validUntil < key.not_before || addMonths(stamp.validUntil, -36) > key.not_after) scope.push("outside_key_period");
  if (key.last_serial !== null && stamp.serial > key.last_serial) scope.push(key.status === "compromised" ? "key_compromised" : "key_retired");
  if (scope.length) return conclude(scope, notes, { stamp, key });
  if (key.status === "compromised") notes.push("key_compromised_below_watermark");
  const reasons = [];
  const inRange = (ranges) => ranges.some((r) => r.key_index === stamp.keyIndex && r.first <= stamp.serial && stamp.serial <= r.last);
  if (inRange(statusList.voided)) reasons.push("batch_voided");
  const listed = statusList.certificates.get(ref(key.issuer, stamp.certificateId));
  let current = listed;
  for (let i = 0; i < 16 && current && current.next; i++) {
    const next = statusList.certificates.get(current.next);
    if (!next) break;
    current = next;
  }
  let stars = stamp.stars, validUntil = stamp.validUntil;
  if (!listed) {
    notes.push("not_in_status_list");
  } else {
    if (current !== listed) notes.push("renewed");
    stars = current.stars;
    validUntil = current.valid_until;
    if (current.status === "revoked") reasons.push("certificate_revoked");
    else if (current.status === "expired") reasons.push("certificate_expired");
  }
  if (stamp.gtin !== null) { // the Digital Link form: its GTIN is not signed
    if (!listed) notes.push("gtin_unchecked");
    else if (stamp.gtin !== (listed.gtin ?? null)) reasons.push("gtin_mismatch");
  }
  if (validUntil < vietnamDate(now)) reasons.push("certificate_expired");
  if (stamp.stars > stars) reasons.push("stars_lowered");
  if (stamp.stars < stars) reasons.push("stars_raised");
  if (starsSeen !== null && starsSeen > stars) reasons.push("stars_seen_higher");
  if (inRange(statusList.blocked)) reasons.push("serial_blocked");
  const certificate = current ? { issuer: current.issuer, certificate_id: current.certificate_id, stars, valid_until: validUntil, status: current.status } : null;
  return conclude(reasons, notes, { stamp, key, certificate });
}
