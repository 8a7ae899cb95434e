// The scanner's service worker: the page, its code and the decoder come from the cache, so
// the page opens with no signal; the signed lists are fetched fresh when the network is there.
const CACHE = "ocop-scan-v6"; // a new name drops what older workers cached
const SHELL = [
  "/scan",
  "/scan?lang=en",
  "/static/ocop.css",
  "/static/scan.css",
  "/static/scan.js",
  "/static/ocop-verify.js",
  "/static/vendor/noble-ed25519/ed25519.js",
  "/static/vendor/zxing-wasm/zxing-reader.js",
  "/static/vendor/zxing-wasm/zxing_reader.wasm",
];
const OWN = new Set(SHELL.map((path) => new URL(path, location.origin).pathname));
const LISTS = ["/.well-known/ocop/trust-list", "/.well-known/ocop/status-list", "/.well-known/ocop/registry-snapshot"];

// Fetched without cookies, so that keeping the English page never makes English the phone's
// language (its answer sets the language cookie for a person who chose it).
const PRECACHE = [...SHELL, ...LISTS].map((path) => new Request(path, { credentials: "omit" }));

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  // Only the scanner's own files: the site's other pages (a stamp's verdict, the desk) and the
  // API always come from the network.
  if (!OWN.has(url.pathname) && !LISTS.includes(url.pathname)) return;
  const networkFirst = url.pathname === "/scan" || LISTS.includes(url.pathname);
  event.respondWith(networkFirst ? fromNetwork(event.request) : fromCache(event.request));
});

async function fromNetwork(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) cache.put(request, response.clone());
    return response;
  } catch {
    const cached = await cache.match(request);
    return cached || Response.error();
  }
}

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone());
  return response;
}
