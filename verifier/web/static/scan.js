// The scanner page: camera -> zxing-wasm -> offline verdict at once -> online verdict when
// the network is there. The signed lists and the inspector's reports wait in IndexedDB.
const config = JSON.parse(document.getElementById("ocop-config").textContent);
// by its versioned name, so that no HTTP cache serves older code (scanner_page.py)
const {
  DocumentError, STATUS_CHANGES_TYPE, applyStatusChanges, checkDocument, ed25519Engine, hexToBytes,
  offlineVerdict, statusListOf, trustListOf, unverifiedDocumentType,
} = await import(config.shell.urls["ocop-verify.js"]);

const T = config.texts;
const roots = config.root_keys.map(hexToBytes);
const $ = (id) => document.getElementById(id);
const video = $("video"), statusLine = $("status"), result = $("result");
const frames = document.createElement("canvas"); // camera frames
const photos = document.createElement("canvas"); // photos: never shared with the camera loop
localStorage.removeItem("ocop.device"); // the phone id once sent with every check: no longer kept

let stream = null, busy = false, lastText = "", lastAt = 0, lastScan = null;
// A serial as printed under the stamp's QR code: stamps.sheet.human_serial's rule (01-000001042).
const humanSerial = (keyIndex, serial) =>
  `${String(keyIndex).padStart(2, "0")}-${String(serial).padStart(9, "0")}`;
// read by the tests and the benchmarks (bench/scanner.py): keep these names
window.ocopScanner = {
  ready: false, engine: ed25519Engine, history: [], timings: {}, humanSerial,
  version: config.shell.version, listsFrom: null, documentsChecked: 0, listsKept: null,
};

// ---------- IndexedDB: the signed lists and the inspector's reports ----------
let connection = null;
function database() {
  connection ??= new Promise((resolve, reject) => {
    const open = indexedDB.open("ocop", 2);
    open.onupgradeneeded = () => {
      for (const name of ["reports", "lists"]) {
        if (!open.result.objectStoreNames.contains(name)) {
          open.result.createObjectStore(name, name === "reports" ? { keyPath: "client_id" } : undefined);
        }
      }
    };
    open.onsuccess = () => {
      open.result.onversionchange = () => { open.result.close(); connection = null; }; // a newer page upgrades
      resolve(open.result);
    };
    open.onerror = () => reject(open.error);
    open.onblocked = () => reject(new Error("an older scanner page holds the database open"));
  });
  connection.catch(() => { connection = null; });
  return connection;
}

/** Run `action` on the object store `name` in one transaction; resolves with the result of
 *  the request it returns (or of each of an array of requests) once the transaction is
 *  committed, rejects when it aborts (a full disk: QuotaExceededError). */
async function inStore(name, mode, action) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    let request = null;
    try {
      request = action(tx.objectStore(name));
    } catch (error) {
      tx.abort();
      reject(error);
      return;
    }
    tx.oncomplete = () => resolve(Array.isArray(request) ? request.map((r) => r.result) : request && request.result);
    tx.onabort = () => reject(tx.error || new Error("aborted"));
  });
}

// ---------- signed lists ----------
// Each list is checked once (docs/stamp-format.md 7.1) and kept in IndexedDB as its claims,
// with when they were checked: a revisit builds its lookup maps from them without checking
// signatures again, and serves them as of when they were checked, past their validity too
// (the verdict then says how old they are). Online, the status list and the registry snapshot
// are brought up to date with their changes since the version held (7.5, 7.6); the trust
// list is small and fetched whole. In memory: one Map per document, no document text.
const TRUST = ["/.well-known/ocop/trust-list", "ocop-trust-list+json"];
const STATUS = ["/.well-known/ocop/status-list", "ocop-status-list+json"];
const SNAPSHOT = ["/.well-known/ocop/registry-snapshot", "ocop-registry-snapshot+json"];
const NAMES = ["trust", "status", "snapshot"];
const ref = (c) => `${c.issuer}\u0000${c.certificate_id}`;

// { trust, status, snapshot: { version, issued_at, expires_at, entries: Map, lots: Map }, trustClaims }
let lists = null;
let seen = { trust: null, status: null, snapshot: null }; // the highest versions accepted: rollback
let kept = { trust: null, status: null, snapshot: null }; // what IndexedDB holds: `${version} ${issued_at}`
let listsPending = true; // until the first attempt to load the lists has ended
let waiting = null; // a stamp read offline before the lists were usable: checked when they are

async function checked(text, typ, now, held) {
  window.ocopScanner.documentsChecked += 1;
  return checkDocument(text, typ, roots, now, held);
}

// lots: the lot summaries by lot_id (absent from a snapshot signed before they were added)
const snapshotOf = (
  claims,
  entries = new Map(claims.certificates.map((c) => [ref(c), c])),
  lots = new Map((claims.lots || []).map((lot) => [lot.lot_id, lot])),
) => ({ version: claims.version, issued_at: claims.issued_at, expires_at: claims.expires_at, entries, lots });

/** The status list as its claims (section 7.4), from what the page holds of it. */
function statusClaimsOf(status) {
  const { certificates, blocked, voided, ...rest } = status;
  return { ...rest, certificates: [...certificates.values()].map(({ next, ...entry }) => entry) };
}

function claimsOf(name) {
  if (name === "trust") return lists.trustClaims;
  if (name === "status") return statusClaimsOf(lists.status);
  const { entries, lots, ...rest } = lists.snapshot;
  return { type: "ocop-registry-snapshot", since: null, ...rest, certificates: [...entries.values()], lots: [...lots.values()] };
}

// a list is kept again only when this changed: its version, or its validity (signed again)
const keptAs = (list) => `${list.version} ${list.issued_at}`;

function raiseSeen() {
  for (const name of NAMES) {
    const held = lists[name] ? lists[name].version : null;
    if (held !== null && (seen[name] === null || held > seen[name])) seen[name] = held;
  }
}

/** The lists kept by an earlier visit, or null. Old pages kept whole documents in
 *  localStorage (which holds about 5 MB: not a national registry): they are dropped here,
 *  and the versions they had reached are kept for the rollback check. */
async function readKept() {
  const versions = {};
  for (const name of ["trust", "status"]) {
    const held = Number(localStorage.getItem(`ocop.version.${name}`));
    if (held) versions[name] = held;
  }
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith("ocop.doc.")) localStorage.removeItem(key);
  }
  let stored = {};
  try {
    const [keys, records] = await inStore("lists", "readonly", (store) => [store.getAllKeys(), store.getAll()]);
    stored = Object.fromEntries(keys.map((key, i) => [key, records[i]]));
  } catch {
    // no IndexedDB here (or blocked): the lists live in memory only
  }
  for (const name of NAMES) {
    const held = Math.max(versions[name] || 0, (stored.versions && stored.versions[name]) || 0);
    seen[name] = held || null;
  }
  if (!stored.trust || !stored.status) return null;
  try {
    const held = {
      trustClaims: stored.trust.claims,
      trust: trustListOf(stored.trust.claims),
      status: statusListOf(stored.status.claims),
      // a snapshot kept without lots (an older page) is fetched whole: changes carry only
      // the lots changed since its version, not those it lacks
      snapshot: stored.snapshot && stored.snapshot.claims.lots ? snapshotOf(stored.snapshot.claims) : null,
    };
    for (const name of NAMES) kept[name] = stored[name] ? keptAs(stored[name].claims) : null;
    return held;
  } catch {
    return null; // kept by a page that wrote another shape: fetched again
  }
}

/** Keep in IndexedDB the versions seen and each list that changed since it was last kept;
 *  return whether they are all kept. Never throws. */
async function keepLists(now) {
  try {
    await inStore("lists", "readwrite", (store) => store.put({ ...seen }, "versions"));
    for (const name of ["trust", "status"]) localStorage.removeItem(`ocop.version.${name}`);
    const changed = NAMES.filter((name) => lists[name] && keptAs(lists[name]) !== kept[name]);
    if (changed.length) {
      await inStore("lists", "readwrite", (store) => {
        for (const name of changed) store.put({ claims: claimsOf(name), checkedAt: now }, name);
      });
      for (const name of changed) kept[name] = keptAs(lists[name]);
    }
    return true;
  } catch {
    return false; // a full disk, a private window: the lists stay in memory for this visit
  }
}

async function fetchText(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(url);
  return response.text();
}

async function freshTrust(now) {
  const trustClaims = await checked(await fetchText(TRUST[0]), TRUST[1], now, seen.trust);
  return { trustClaims, trust: trustListOf(trustClaims) };
}

/** The status list brought up to date: the changes since the version held applied to it, or
 *  the whole list (when none is held, when the service answers with the whole list, or when
 *  the changes do not start at the version held). */
async function freshStatus(now) {
  const held = lists ? lists.status : null;
  const text = await fetchText(held ? `${STATUS[0]}?since=${held.version}` : STATUS[0]);
  if (held && unverifiedDocumentType(text) === STATUS_CHANGES_TYPE) {
    const changes = await checked(text, STATUS_CHANGES_TYPE, now, held.version);
    const none = ["certificates", "blocked_serials", "lifted_serials", "voided_batches"]
      .every((field) => !changes[field] || changes[field].length === 0);
    if (none && changes.since <= held.version) { // nothing changed since an older version
      return { ...held, version: changes.version, issued_at: changes.issued_at, expires_at: changes.expires_at };
    }
    try {
      return statusListOf(applyStatusChanges(statusClaimsOf(held), changes));
    } catch (error) {
      if (!(error instanceof DocumentError && error.code === "document_gap")) throw error;
      return statusListOf(await checked(await fetchText(STATUS[0]), STATUS[1], now, seen.status));
    }
  }
  return statusListOf(await checked(text, STATUS[1], now, seen.status));
}

/** The registry snapshot brought up to date: the certificates and lots changed since the
 *  version held replace theirs, or the whole snapshot. */
async function freshSnapshot(now) {
  const held = lists ? lists.snapshot : null;
  if (held) {
    const changes = await checked(await fetchText(`${SNAPSHOT[0]}?since=${held.version}`), SNAPSHOT[1], now, held.version);
    if (changes.since === null) return snapshotOf(changes); // the whole snapshot
    const lots = changes.lots || [];
    // nothing changed: what is held stands (asked again from its version next time, rather
    // than kept again whole for a new version number)
    // changes since the version held or an older one: whole entries, set again if held
    if (changes.since <= held.version && changes.certificates.length === 0 && lots.length === 0) return held;
    if (changes.since <= held.version) {
      for (const entry of changes.certificates) held.entries.set(ref(entry), entry);
      for (const lot of lots) held.lots.set(lot.lot_id, lot);
      return snapshotOf(changes, held.entries, held.lots);
    }
  }
  return snapshotOf(await checked(await fetchText(SNAPSHOT[0]), SNAPSHOT[1], now, seen.snapshot));
}

/** Bring the lists up to date from the network; keep what is held of any list that cannot be
 *  fetched or is refused. Returns whether any list came from the network. */
async function refreshLists() {
  const now = Date.now();
  const outcomes = await Promise.allSettled([freshTrust(now), freshStatus(now), freshSnapshot(now)]);
  const [trust, status, snapshot] = outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : null));
  const next = {
    ...(trust || { trustClaims: lists && lists.trustClaims, trust: lists && lists.trust }),
    status: status || (lists && lists.status),
    snapshot: snapshot || (lists && lists.snapshot),
  };
  if (!next.trust || !next.status) return false; // no lists yet, and none to be had now
  lists = next;
  raiseSeen();
  return Boolean(trust || status || snapshot);
}

let refreshing = null;
/** Make the lists usable: those kept first, then those of the network, kept in turn; what
 *  the page reads (the camera) never waits for this. */
function loadLists() {
  refreshing ??= (async () => {
    try {
      if (!lists) {
        lists = await readKept();
        if (lists) {
          raiseSeen();
          window.ocopScanner.listsFrom = "kept";
          listsUsable(true);
        }
      }
      if (await refreshLists()) {
        window.ocopScanner.listsFrom ??= "network";
        listsUsable(await keepLists(Date.now()));
      }
    } finally {
      refreshing = null;
      listsPending = false;
      listsArrived();
      showListsNotice();
    }
  })();
  return refreshing;
}

/** The lists in memory are usable offline; `keptOnPhone`: they are kept for the next visit. */
function listsUsable(keptOnPhone) {
  window.ocopScanner.listsKept = keptOnPhone;
  window.ocopScanner.timings.listsReady ??= performance.now();
  $("storage-notice").hidden = keptOnPhone;
  $("storage-notice").textContent = keptOnPhone ? "" : T.ui.lists_not_kept;
  listsArrived();
  showListsNotice();
}

/** A stamp read offline while the lists were loading gets its verdict now. */
function listsArrived() {
  if (!waiting) return;
  const text = waiting;
  waiting = null;
  lastText = "";
  onText(text);
}

function listsAgeHours() {
  return lists ? (Date.now() - Date.parse(lists.status.issued_at)) / 3600000 : Infinity;
}

/** What an offline verdict says of its lists: how old they are once past the threshold, how
 *  long ago they expired past their validity; null while they are fresh. */
function listsCaveat() {
  const expiredMs = Date.now() - Date.parse(lists.status.expires_at);
  if (expiredMs > 0) return T.ui.lists_expired.replace("{days}", Math.max(1, Math.floor(expiredMs / 86400000)));
  if (listsAgeHours() <= config.max_list_age_hours) return null;
  return T.ui.lists_stale.replace("{hours}", Math.floor(listsAgeHours()));
}

function showListsNotice(offlineCheck = false) {
  const notice = $("offline-notice");
  if (!lists) {
    notice.hidden = false;
    notice.className = "stale";
    notice.textContent = T.ui.no_lists;
    return;
  }
  const caveat = listsCaveat();
  notice.hidden = !(offlineCheck || caveat || !navigator.onLine);
  notice.className = caveat ? "stale" : "";
  notice.textContent = caveat ?? T.ui.checked_offline.replace("{hours}", Math.max(0, Math.floor(listsAgeHours())));
}

// ---------- verdicts ----------
const ICONS = {
  green: '<svg viewBox="0 0 48 48" aria-hidden="true"><circle cx="24" cy="24" r="22" fill="#fff"/><path d="M13 25l7 7 15-16" stroke="#0a6b2f" stroke-width="5" fill="none" stroke-linecap="round"/></svg>',
  amber: '<svg viewBox="0 0 48 48" aria-hidden="true"><path d="M24 3l22 40H2z" fill="#fff"/><path d="M24 17v13M24 35v2" stroke="#8a5300" stroke-width="5" stroke-linecap="round"/></svg>',
  red: '<svg viewBox="0 0 48 48" aria-hidden="true"><circle cx="24" cy="24" r="22" fill="#fff"/><path d="M15 15l18 18M33 15L15 33" stroke="#a3120e" stroke-width="5" stroke-linecap="round"/></svg>',
};
const escapeHtml = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ddmmyyyy = (iso) => (iso ? iso.slice(0, 10).split("-").reverse().join("/") : "");

function show(answer) {
  window.ocopScanner.timings.firstVerdict ??= performance.now();
  const tone = T.tone[answer.verdict];
  const [headline, meaning, action] = T.verdicts[answer.verdict];
  const c = answer.certificate;
  const stars = c ? c.stars : null;
  const rows = [];
  if (c && c.product) rows.push([T.ui.product, c.product]);
  if (c && c.producer) rows.push([T.ui.producer, c.producer]);
  if (answer.issuer) rows.push([T.ui.issuer, answer.issuer]);
  if (c && c.valid_until) rows.push([T.ui.valid_until, ddmmyyyy(c.valid_until)]);
  if (c && c.decision) rows.push([T.ui.decision, c.decision]);
  const caveat = answer.offline ? listsCaveat() : null;
  if (answer.scans && answer.scans.complete === false) rows.push([T.ui.checks, T.ui.checks_unknown]); // the count stored could not be read
  else if (answer.scans) rows.push([T.ui.checks, T.ui.checks_value.replace("{count}", answer.scans.count).replace("{first}", ddmmyyyy(answer.scans.first_at))]);
  // a forged code names a serial it has no right to: it learns nothing of that serial's lots
  const lots = ["counterfeit", "malformed"].includes(answer.verdict) ? [] : lotsOf(answer.stampId);
  result.innerHTML = `
    <div class="band ${tone}" data-verdict="${answer.verdict}" data-tone="${tone}">
      ${ICONS[tone]}
      <div><h2>${escapeHtml(headline)}</h2>
      <p>${escapeHtml(meaning)}</p><p><strong>${escapeHtml(action)}</strong></p>${caveat ? `<p class="lists-age" id="lists-age">${escapeHtml(caveat)}</p>` : ""}</div>
    </div>
    ${stars ? `<p class="stars" aria-label="${escapeHtml(T.ui.stars_label.replace("{n}", stars))}">${"★".repeat(stars)}<span class="off">${"★".repeat(5 - stars)}</span></p>` : ""}
    ${definitions(rows)}
    ${answer.reasons.length ? `<p>${escapeHtml(T.ui.reasons)}</p><ul>${answer.reasons.map((r) => `<li>${escapeHtml(T.reasons[r] || r)}</li>`).join("")}</ul>` : ""}
    <p class="muted" id="how-checked">${escapeHtml(answer.offline ? T.ui.checked_offline.replace("{hours}", Math.max(0, Math.floor(listsAgeHours()))) : T.ui.checked_online)}</p>
    ${claimNote(answer)}
    ${lots.length ? traceSection(lots) : ""}`;
}

/** A stamp printed with a PIN (issue 21), online only: whether its PIN was confirmed, and
 *  where to type it (the stamp's own page takes it). */
function claimNote(answer) {
  const claim = answer.claim;
  if (!claim) return "";
  if (claim.claimed) return `<p class="claim" id="claim-note">${escapeHtml(claim.messages[config.lang] || claim.messages.vi)}</p>`;
  const page = `/check?code=${encodeURIComponent(answer.text)}&lang=${encodeURIComponent(config.lang)}`;
  return `<p class="claim" id="claim-note">${escapeHtml(T.ui.claim_pin)} <a href="${escapeHtml(page)}">${escapeHtml(T.ui.claim_enter)}</a></p>`;
}

const definitions = (rows) =>
  (rows.length ? `<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>` : "");

/** The lots the signed snapshot says label the batch of a stamp's serial (none without one). */
function lotsOf(stampId) {
  if (!stampId || !lists || !lists.snapshot) return [];
  const { keyIndex, serial } = stampId;
  return [...lists.snapshot.lots.values()].filter((lot) =>
    lot.batches.some(([key, first, last]) => key === keyIndex && first <= serial && serial <= last));
}

/** The stamp page's "Truy xuất nguồn gốc" in short (docs/traceability.md): each lot as its
 *  producer declared it, set apart from what the verdict above says the authority certifies. */
function traceSection(lots) {
  const described = lots.map((lot) => {
    const rows = [[T.ui.produced_on, ddmmyyyy(lot.produced_on)]];
    if (lot.best_before) rows.push([T.ui.best_before, ddmmyyyy(lot.best_before)]);
    if (lot.expires_on) rows.push([T.ui.expires_on, ddmmyyyy(lot.expires_on)]);
    if (lot.origins.length) rows.push([T.ui.origins, lot.origins.join(", ")]);
    if (lot.stages) rows.push([T.ui.stages, String(lot.stages)]);
    if (lot.standards.length) rows.push([T.ui.standards, lot.standards.join(", ")]);
    return `<h3>${escapeHtml(T.ui.lot)} ${escapeHtml(lot.lot_number)}</h3>${definitions(rows)}`;
  });
  return `<section class="trace" id="trace" aria-labelledby="trace-title">
    <h2 id="trace-title">${escapeHtml(T.ui.trace_title)}</h2>
    <p class="declared">${escapeHtml(T.ui.trace_declared)}</p>${described.join("")}</section>`;
}

function fromSnapshot(verdict) {
  const stamp = verdict.stamp, key = verdict.key;
  let certificate = null;
  if (stamp && key) {
    // the current certificate may be another authority's (a 5-star upgrade of a 4-star one)
    const issuer = verdict.certificate ? verdict.certificate.issuer : key.issuer;
    const id = verdict.certificate ? verdict.certificate.certificate_id : stamp.certificateId;
    const entry = lists.snapshot && lists.snapshot.entries.get(ref({ issuer, certificate_id: id }));
    certificate = {
      stars: verdict.certificate ? verdict.certificate.stars : stamp.stars,
      valid_until: verdict.certificate ? verdict.certificate.valid_until : stamp.validUntil,
      product: entry && entry.product, producer: entry && entry.producer,
      decision: entry && entry.decision_number,
    };
  }
  return {
    stampId: stamp ? { keyIndex: stamp.keyIndex, serial: stamp.serial } : null,
    verdict: verdict.verdict, reasons: verdict.reasons, offline: true,
    issuer: key && key.issuer_name, certificate: verdict.verdict === "counterfeit" ? null : certificate,
  };
}

function fromServer(json) {
  const c = json.certificate;
  return {
    stampId: json.stamp ? { keyIndex: json.stamp.key_index, serial: json.stamp.serial } : null,
    verdict: json.verdict, reasons: json.reasons, offline: false, scans: json.scans,
    issuer: json.stamp && json.stamp.issuer_name, claim: json.claim,
    certificate: c && {
      stars: c.stars, valid_until: c.valid_until, product: c.product.name,
      producer: c.producer.name, decision: c.decision_number,
    },
  };
}

async function onText(text) {
  const now = Date.now();
  // A stamp held in view is checked once: it counts again only after 3 s out of view, so
  // its scan count is not inflated by the camera seeing it many times a second.
  const stillInView = text === lastText && now - lastAt < 3000;
  lastText = text;
  lastAt = now;
  if (stillInView) return;
  if (!lastScan || text !== lastScan.code) $("block-message").hidden = true;
  const starsSeen = signedIn() && $("stars-seen").value ? Number($("stars-seen").value) : null;
  let answer = null;
  if (lists) {
    answer = fromSnapshot(await offlineVerdict(text, lists.trust, lists.status, now, starsSeen));
    show(answer);
    showListsNotice(true);
  } else if (listsPending) {
    result.innerHTML = ""; // not the verdict of the stamp before
    statusLine.textContent = T.ui.checking;
  }
  signal();
  try {
    // no phone id: a signed-in inspector is known by the token, anyone else needs none
    const params = new URLSearchParams({ code: text });
    const where = coarseLocation();
    if (where) params.set("location", where);
    if (starsSeen) params.set("stars_seen", String(starsSeen));
    const headers = signedIn() ? { Authorization: `Bearer ${token()}` } : {};
    const response = await fetch(`/api/v1/verify?${params}`, { headers, signal: AbortSignal.timeout(5000) });
    if (response.ok) {
      answer = { ...fromServer(await response.json()), text };
      show(answer);
      showListsNotice(false);
    }
  } catch {
    // offline: the offline verdict stands
  }
  if (!answer && listsPending) {
    waiting = text; // offline: checked the moment the lists are usable
    return;
  }
  if (!answer) {
    statusLine.textContent = T.ui.no_lists;
    return;
  }
  if (statusLine.textContent === T.ui.checking) statusLine.textContent = T.ui.aim;
  // only a validly signed stamp that is not blocked yet has a serial worth blocking, and an
  // inspector blocks only a stamp the server saw it check, signed in
  const blockable = answer.stampId && !["counterfeit", "malformed"].includes(answer.verdict)
    && !answer.reasons.includes("serial_blocked") && !answer.offline && signedIn();
  lastScan = {
    code: text, verdict: answer.verdict, product: answer.certificate && answer.certificate.product,
    keyIndex: blockable ? answer.stampId.keyIndex : null, serial: blockable ? answer.stampId.serial : null,
  };
  showInspector();
  addHistory(answer);
}

function addHistory(answer) {
  const entry = { at: new Date().toLocaleTimeString(config.lang), verdict: answer.verdict, product: answer.certificate && answer.certificate.product };
  window.ocopScanner.history.push(entry);
  const item = document.createElement("li");
  item.innerHTML = `<span class="dot ${T.tone[answer.verdict]}"></span><span>${escapeHtml(entry.at)} · <strong>${escapeHtml(T.verdicts[answer.verdict][0])}</strong>${entry.product ? " · " + escapeHtml(entry.product) : ""}</span>`;
  $("history").prepend(item);
}

function signal() {
  if (navigator.vibrate) navigator.vibrate(150);
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.frequency.value = 880;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.12);
  } catch {
    // no sound: fine
  }
}

// ---------- camera and photos ----------
let decoding = Promise.resolve(); // one decode at a time: the WebAssembly reader is shared
// A look at a frame or a photo: scaled down to `side` pixels across, or (`middle`) its middle
// at full resolution, as many pixels. A photo the first look misses (a code too small in the
// frame or blurred) gets the others (bench/photo_reads.py --browser counts what each reads).
const FRAME_LOOK = { side: 1280 };
const PHOTO_LOOKS = [FRAME_LOOK, { side: 1280, middle: true }, { side: 2000 }];
function decode(source, width, height, canvas, look = FRAME_LOOK) {
  const run = decoding.then(() => decodeNow(source, width, height, canvas, look));
  decoding = run.catch(() => {});
  return run;
}

async function decodeNow(source, width, height, canvas, { side, middle = false }) {
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const scale = Math.min(1, side / Math.max(width, height));
  if (middle && scale === 1) return undefined; // the whole was seen at full resolution
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const [w, h] = [canvas.width, canvas.height];
  const from = middle ? [(width - w) >> 1, (height - h) >> 1, w, h] : [0, 0, width, height];
  context.drawImage(source, ...from, 0, 0, w, h);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = await window.ZXingWASM.readBarcodes(pixels, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 });
  return found.find((r) => r.isValid !== false && r.text);
}

async function scanLoop() {
  if (!stream) return;
  if (!busy && decoderReady && video.readyState >= 2 && video.videoWidth) {
    busy = true;
    try {
      const found = await decode(video, video.videoWidth, video.videoHeight, frames);
      if (found) await onText(found.text);
    } finally {
      busy = false;
    }
  }
  setTimeout(scanLoop, 100);
}

async function startCamera() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } }, audio: false });
  } catch {
    statusLine.textContent = T.ui.no_camera;
    return;
  }
  video.srcObject = stream;
  await video.play();
  window.ocopScanner.timings.cameraStarted ??= performance.now();
  statusLine.textContent = T.ui.aim;
  $("start").hidden = true;
  const track = stream.getVideoTracks()[0];
  const capabilities = track.getCapabilities ? track.getCapabilities() : {};
  if (capabilities.torch) {
    $("torch").hidden = false;
    $("torch").onclick = async () => {
      const on = $("torch").getAttribute("aria-pressed") !== "true";
      await track.applyConstraints({ advanced: [{ torch: on }] });
      $("torch").setAttribute("aria-pressed", String(on));
    };
  }
  scanLoop();
}

function stopCamera() {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("start").hidden = false;
  $("torch").hidden = true;
}

async function readPhoto(file) {
  while (!decoderReady) await new Promise((r) => setTimeout(r, 20)); // a photo picked at once
  const bitmap = await createImageBitmap(file);
  for (const look of PHOTO_LOOKS) {
    const found = await decode(bitmap, bitmap.width, bitmap.height, photos, look);
    if (found) return found.text;
  }
  return undefined;
}
window.ocopScanner.readPhoto = readPhoto;

$("photo").addEventListener("change", async () => {
  const file = $("photo").files[0];
  if (!file) return;
  stopCamera(); // the photo's result must not be replaced by what the camera sees next
  const text = await readPhoto(file);
  if (text) {
    lastText = "";
    await onText(text);
  } else {
    statusLine.textContent = T.ui.no_qr_found;
  }
});
$("start").addEventListener("click", startCamera);

// ---------- inspector mode: stars seen, reports queued in IndexedDB ----------
const token = () => localStorage.getItem("ocop.inspector");
const signedIn = () => Boolean(token());

// Inspectors' checks carry where they were made (rounded to about 1 km), so the authority
// sees copied stamps by place; a buyer's scan never asks for or sends a location.
let lastPosition = null, watching = null;
function watchLocation() {
  if (!signedIn() || watching !== null || !navigator.geolocation) return;
  watching = navigator.geolocation.watchPosition(
    (p) => { lastPosition = { latitude: p.coords.latitude, longitude: p.coords.longitude, at: Date.now() }; },
    () => {},
    { enableHighAccuracy: false, maximumAge: 600000 },
  );
}
const freshPosition = () => (signedIn() && lastPosition && Date.now() - lastPosition.at < 600000 ? lastPosition : null);
function coarseLocation() {
  const here = freshPosition();
  return here ? `${here.latitude.toFixed(2)},${here.longitude.toFixed(2)}` : null;
}

window.ocopScanner.where = coarseLocation;

function showInspector() {
  if (signedIn()) watchLocation();
  else if (watching !== null) {
    navigator.geolocation.clearWatch(watching);
    watching = null;
    lastPosition = null;
  }
  $("inspector-off").hidden = signedIn();
  $("inspector-on").hidden = !signedIn();
  $("report").hidden = !signedIn() || !lastScan;
  $("block").hidden = !signedIn() || !lastScan || lastScan.serial === null;
}

$("inspector-off").addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = $("token").value.trim();
  try {
    const response = await fetch("/api/v1/reports", { headers: { Authorization: `Bearer ${value}` } });
    if (!response.ok) throw new Error(String(response.status));
    localStorage.setItem("ocop.inspector", value);
    $("token").value = "";
  } catch {
    statusLine.textContent = T.ui.sign_in_failed;
  }
  showInspector();
  if (signedIn() && lastScan) {
    lastText = ""; // check the stamp in view again, signed in: what a block rests on
    await onText(lastScan.code);
  }
  await syncReports();
});
$("sign-in-fields").disabled = false; // the form is ours now (see scan.html)
$("stars-seen").addEventListener("change", () => {
  if (!lastScan) return;
  lastText = ""; // check the last stamp again against the stars on its pack
  onText(lastScan.code);
});
$("block").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!lastScan || lastScan.serial === null) return;
  const label = humanSerial(lastScan.keyIndex, lastScan.serial);
  if (!window.confirm(T.ui.block_confirm.replace("{serial}", label))) return;
  let response;
  try {
    response = await fetch("/api/v1/blocked-serials", {
      method: "POST", headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" },
      body: JSON.stringify({ key_index: lastScan.keyIndex, first_serial: lastScan.serial, last_serial: lastScan.serial, reason: $("block-reason").value }),
    });
  } catch {
    tellBlock(T.ui.block_needs_network);
    return;
  }
  if (!response.ok) {
    tellBlock(await refusalText(response));
    return;
  }
  tellBlock(T.ui.blocked.replace("{serial}", label));
  lastText = ""; // show the new verdict
  await onText(lastScan.code);
});

// What came of a block, at the top of the page and next to the button the inspector pressed.
function tellBlock(text) {
  statusLine.textContent = text;
  $("block-message").textContent = text;
  $("block-message").hidden = false;
}

// The server's own words for a refused action, in the page's language.
async function refusalText(response) {
  try {
    const error = (await response.json()).error;
    return (error.messages && error.messages[config.lang]) || error.message || T.ui.block_refused;
  } catch {
    return T.ui.block_refused;
  }
}
$("sign-out").addEventListener("click", () => {
  localStorage.removeItem("ocop.inspector");
  $("block-message").hidden = true;
  showInspector();
});

const queued = (mode, action) => inStore("reports", mode, action);

const readFile = (file) => new Promise((resolve) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.readAsDataURL(file);
});
const position = () => new Promise((resolve) => {
  if (!navigator.geolocation) return resolve(null);
  navigator.geolocation.getCurrentPosition((p) => resolve(p.coords), () => resolve(null), { timeout: 5000 });
});

$("report").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!lastScan) return;
  const coords = freshPosition() || await position();
  const photos = await Promise.all([...$("photos").files].slice(0, 3).map(readFile));
  const report = {
    client_id: crypto.randomUUID(), created_at: new Date().toISOString(), code: lastScan.code,
    verdict: lastScan.verdict, shop_name: $("shop").value, address: $("address").value,
    note: $("note").value, latitude: coords ? coords.latitude : null,
    longitude: coords ? coords.longitude : null, photos, stars_seen: $("stars-seen").value ? Number($("stars-seen").value) : null,
  };
  await queued("readwrite", (store) => store.put(report));
  $("report").reset();
  statusLine.textContent = T.ui.report_queued;
  await syncReports();
});

let syncing = false;
async function syncReports() {
  if (!signedIn() || syncing) return renderReports();
  syncing = true;
  try {
    const waiting = await queued("readonly", (store) => store.getAll());
    for (const report of waiting || []) {
      const response = await fetch("/api/v1/reports", {
        method: "POST", headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" },
        body: JSON.stringify(report),
      });
      if (response.status === 200 || response.status === 201) {
        await queued("readwrite", (store) => store.delete(report.client_id));
      } else if (response.status >= 400 && response.status < 500 && response.status !== 401) {
        await queued("readwrite", (store) => store.delete(report.client_id)); // refused for good
      }
    }
  } catch {
    // offline: try again when the network returns
  } finally {
    syncing = false;
  }
  await renderReports();
}

async function renderReports() {
  const list = $("reports");
  const waiting = (await queued("readonly", (store) => store.getAll())) || [];
  let sent = [];
  if (signedIn() && navigator.onLine) {
    try {
      const response = await fetch("/api/v1/reports", { headers: { Authorization: `Bearer ${token()}` } });
      if (response.ok) sent = (await response.json()).reports;
    } catch { /* offline */ }
  }
  list.innerHTML = [
    ...waiting.map((r) => `<li data-state="queued">${escapeHtml(r.shop_name)} · ${escapeHtml(T.verdicts[r.verdict][0])} · <em>${escapeHtml(T.ui.report_waiting)}</em></li>`),
    ...sent.map((r) => `<li data-state="sent">${escapeHtml(r.shop_name)} · ${escapeHtml(T.verdicts[r.verdict] ? T.verdicts[r.verdict][0] : r.verdict)} · ${escapeHtml(T.ui.report_status[r.status] || r.status)}</li>`),
  ].join("");
}

window.addEventListener("online", () => { syncReports(); loadLists(); checkForNewVersion(); });
window.addEventListener("offline", () => showListsNotice());

// ---------- new versions of the page ----------
// The service worker tells the page when a new version of the page's files is in its cache;
// a page running older code offers to reload. The next open runs the new code anyway.
let worker = null;
function watchVersions() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "ocop-shell" && event.data.version !== config.shell.version) {
      $("new-version").hidden = false;
    }
  });
  worker = navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => null);
}
async function checkForNewVersion() {
  const registration = worker && await worker;
  if (registration) registration.update().catch(() => {});
}
$("new-version").addEventListener("click", () => window.location.reload());
document.addEventListener("visibilitychange", () => { if (!document.hidden) checkForNewVersion(); });

// ---------- start ----------
// The camera first: the decoder and the lists load while it starts, and a stamp read before
// the lists are usable is checked online, or the moment they are.
let decoderReady = false;
async function prepareDecoder() {
  while (!window.ZXingWASM) await new Promise((r) => setTimeout(r, 20));
  const wasm = config.shell.urls["vendor/zxing-wasm/zxing_reader.wasm"];
  const locateFile = (path) => (path === "zxing_reader.wasm" ? wasm : `/static/vendor/zxing-wasm/${path}`);
  await window.ZXingWASM.prepareZXingModule({ overrides: { locateFile }, fireImmediately: true });
  decoderReady = true;
}

async function main() {
  watchVersions();
  prepareDecoder();
  const camera = startCamera();
  // the lists' main-thread work (reading what is kept, building the maps) waits for the
  // camera, for at most a second in case the phone is asking for permission
  await Promise.race([camera, new Promise((resolve) => setTimeout(resolve, 1000))]);
  await loadLists();
  showInspector();
  syncReports();
  window.ocopScanner.ready = true;
  await camera;
}
main();
