// The scanner page: camera -> zxing-wasm -> offline verdict at once -> online verdict when
// the network is there. Inspector reports wait in IndexedDB until they reach the server once.
import {
  checkDocument, ed25519Engine, hexToBytes, offlineVerdict, statusListOf, trustListOf,
} from "/static/ocop-verify.js";

const config = JSON.parse(document.getElementById("ocop-config").textContent);
const T = config.texts;
const roots = config.root_keys.map(hexToBytes);
const $ = (id) => document.getElementById(id);
const video = $("video"), statusLine = $("status"), result = $("result");
const frames = document.createElement("canvas"); // camera frames
const photos = document.createElement("canvas"); // photos: never shared with the camera loop
localStorage.removeItem("ocop.device"); // the phone id once sent with every check: no longer kept

let lists = null; // { trust, status, snapshot: Map, issuedAt }
let stream = null, busy = false, lastText = "", lastAt = 0, lastScan = null;
// A serial as printed under the stamp's QR code: stamps.sheet.human_serial's rule (01-000001042).
const humanSerial = (keyIndex, serial) =>
  `${String(keyIndex).padStart(2, "0")}-${String(serial).padStart(9, "0")}`;
// read by the tests and bench/scanner.py
window.ocopScanner = { ready: false, engine: ed25519Engine, history: [], timings: {}, humanSerial };

// ---------- signed lists ----------
// The trust and status lists are kept whole; the registry snapshot is kept as one full
// document and the signed changes since it, each checked again whenever they are read.
const DOCS = {
  trust: ["/.well-known/ocop/trust-list", "ocop-trust-list+json"],
  status: ["/.well-known/ocop/status-list", "ocop-status-list+json"],
};
const SNAPSHOT = ["/.well-known/ocop/registry-snapshot", "ocop-registry-snapshot+json"];
const MAX_DELTAS = 20;

async function readSnapshot(full, deltas, now) {
  let claims = await checkDocument(full, SNAPSHOT[1], roots, now);
  const entries = new Map(claims.certificates.map((c) => [`${c.issuer}\u0000${c.certificate_id}`, c]));
  let version = claims.version;
  for (const text of deltas) {
    claims = await checkDocument(text, SNAPSHOT[1], roots, now, version);
    if (claims.since !== version) throw new Error("a gap in the snapshot changes");
    for (const c of claims.certificates) entries.set(`${c.issuer}\u0000${c.certificate_id}`, c);
    version = claims.version;
  }
  return { entries, version };
}

async function readLists(texts, now) {
  const claims = {};
  for (const [name, [, typ]] of Object.entries(DOCS)) {
    const held = Number(localStorage.getItem(`ocop.version.${name}`) || 0) || null;
    claims[name] = await checkDocument(texts[name], typ, roots, now, held);
  }
  const snapshot = await readSnapshot(texts.snapshot, texts.deltas, now);
  return {
    trust: trustListOf(claims.trust), status: statusListOf(claims.status),
    snapshot: snapshot.entries, snapshotVersion: snapshot.version,
    issuedAt: Date.parse(claims.status.issued_at), versions: claims, texts,
  };
}

function storedTexts() {
  const texts = {
    trust: localStorage.getItem("ocop.doc.trust"), status: localStorage.getItem("ocop.doc.status"),
    snapshot: localStorage.getItem("ocop.doc.snapshot"),
    deltas: JSON.parse(localStorage.getItem("ocop.doc.snapshot-changes") || "[]"),
  };
  return texts.trust && texts.status && texts.snapshot ? texts : null;
}

async function fetchText(url) {
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(url);
  return response.text();
}

async function loadLists() {
  const now = Date.now();
  const stored = storedTexts();
  if (stored) {
    // Checked as of when they were stored: lists that were valid then still serve, past their
    // validity, with the verdict saying how old they are (docs/stamp-format.md, the notes).
    const storedAt = Number(localStorage.getItem("ocop.doc.checked-at")) || now;
    try { lists = await readLists(stored, Math.min(now, storedAt)); } catch { lists = null; }
  }
  try {
    const fresh = { trust: await fetchText(DOCS.trust[0]), status: await fetchText(DOCS.status[0]) };
    fresh.snapshot = lists ? lists.texts.snapshot : null;
    fresh.deltas = lists ? lists.texts.deltas : [];
    if (lists && fresh.deltas.length < MAX_DELTAS) {
      const changes = await fetchText(`${SNAPSHOT[0]}?since=${lists.snapshotVersion}`);
      const claims = await checkDocument(changes, SNAPSHOT[1], roots, now, lists.snapshotVersion);
      if (claims.certificates.length) fresh.deltas = [...fresh.deltas, changes];
    } else {
      fresh.snapshot = await fetchText(SNAPSHOT[0]);
      fresh.deltas = [];
    }
    let checked;
    try {
      checked = await readLists(fresh, now);
    } catch {
      fresh.snapshot = await fetchText(SNAPSHOT[0]); // start again from a whole snapshot
      fresh.deltas = [];
      checked = await readLists(fresh, now);
    }
    localStorage.setItem("ocop.doc.trust", fresh.trust);
    localStorage.setItem("ocop.doc.status", fresh.status);
    localStorage.setItem("ocop.doc.snapshot", fresh.snapshot);
    localStorage.setItem("ocop.doc.snapshot-changes", JSON.stringify(fresh.deltas));
    localStorage.setItem("ocop.doc.checked-at", String(now));
    for (const name of Object.keys(DOCS)) {
      localStorage.setItem(`ocop.version.${name}`, String(checked.versions[name].version));
    }
    lists = checked;
  } catch {
    // no network, or refused documents: keep what is held
  }
  window.ocopScanner.snapshot = lists ? { version: lists.snapshotVersion, changes: lists.texts.deltas.length } : null;
  showListsNotice();
}

function listsAgeHours() {
  return lists ? (Date.now() - lists.issuedAt) / 3600000 : Infinity;
}

/** What an offline verdict says of its lists: how old they are once past the threshold, how
 *  long ago they expired past their validity; null while they are fresh. */
function listsCaveat() {
  const expiredMs = Date.now() - Date.parse(lists.versions.status.expires_at);
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
  if (answer.scans) rows.push([T.ui.checks, T.ui.checks_value.replace("{count}", answer.scans.count).replace("{first}", ddmmyyyy(answer.scans.first_at))]);
  result.innerHTML = `
    <div class="band ${tone}" data-verdict="${answer.verdict}" data-tone="${tone}">
      ${ICONS[tone]}
      <div><h2>${escapeHtml(headline)}</h2>
      <p>${escapeHtml(meaning)}</p><p><strong>${escapeHtml(action)}</strong></p>${caveat ? `<p class="lists-age" id="lists-age">${escapeHtml(caveat)}</p>` : ""}</div>
    </div>
    ${stars ? `<p class="stars" aria-label="${escapeHtml(T.ui.stars_label.replace("{n}", stars))}">${"★".repeat(stars)}<span class="off">${"★".repeat(5 - stars)}</span></p>` : ""}
    ${rows.length ? `<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>` : ""}
    ${answer.reasons.length ? `<p>${escapeHtml(T.ui.reasons)}</p><ul>${answer.reasons.map((r) => `<li>${escapeHtml(T.reasons[r] || r)}</li>`).join("")}</ul>` : ""}
    <p class="muted" id="how-checked">${escapeHtml(answer.offline ? T.ui.checked_offline.replace("{hours}", Math.max(0, Math.floor(listsAgeHours()))) : T.ui.checked_online)}</p>`;
}

function fromSnapshot(verdict) {
  const stamp = verdict.stamp, key = verdict.key;
  let certificate = null;
  if (stamp && key) {
    // the current certificate may be another authority's (a 5-star upgrade of a 4-star one)
    const issuer = verdict.certificate ? verdict.certificate.issuer : key.issuer;
    const id = verdict.certificate ? verdict.certificate.certificate_id : stamp.certificateId;
    const entry = lists.snapshot.get(`${issuer}\u0000${id}`);
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
    issuer: json.stamp && json.stamp.issuer_name,
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
      answer = fromServer(await response.json());
      show(answer);
      showListsNotice(false);
    }
  } catch {
    // offline: the offline verdict stands
  }
  if (!answer) {
    statusLine.textContent = T.ui.no_lists;
    return;
  }
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
function decode(source, width, height, canvas) {
  const run = decoding.then(() => decodeNow(source, width, height, canvas));
  decoding = run.catch(() => {});
  return run;
}

async function decodeNow(source, width, height, canvas) {
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const scale = Math.min(1, 1280 / Math.max(width, height));
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  context.drawImage(source, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = await window.ZXingWASM.readBarcodes(pixels, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 });
  return found.find((r) => r.isValid !== false && r.text);
}

async function scanLoop() {
  if (!stream) return;
  if (!busy && video.readyState >= 2 && video.videoWidth) {
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

$("photo").addEventListener("change", async () => {
  const file = $("photo").files[0];
  if (!file) return;
  stopCamera(); // the photo's result must not be replaced by what the camera sees next
  const bitmap = await createImageBitmap(file);
  const found = await decode(bitmap, bitmap.width, bitmap.height, photos);
  if (found) {
    lastText = "";
    await onText(found.text);
  } else {
    statusLine.textContent = T.ui.no_qr_in_photo;
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

function queue() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("ocop", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("reports", { keyPath: "client_id" });
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}
async function queued(mode, action) {
  const db = await queue();
  return new Promise((resolve, reject) => {
    const tx = db.transaction("reports", mode);
    const request = action(tx.objectStore("reports"));
    tx.oncomplete = () => resolve(request && request.result);
    tx.onerror = () => reject(tx.error);
  });
}

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

window.addEventListener("online", () => { syncReports(); loadLists(); });
window.addEventListener("offline", () => showListsNotice());

// ---------- start ----------
async function main() {
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  while (!window.ZXingWASM) await new Promise((r) => setTimeout(r, 20));
  window.ZXingWASM.prepareZXingModule({ overrides: { locateFile: (path) => `/static/vendor/zxing-wasm/${path}` }, fireImmediately: true });
  await loadLists();
  showInspector();
  syncReports();
  window.ocopScanner.ready = true;
  await startCamera();
}
main();
