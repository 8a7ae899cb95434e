// The scanner's service worker: the page, its code and the decoder come from the cache, so
// the page opens with no signal. The signed lists are the page's own business (it keeps them
// in IndexedDB): this worker never fetches them, so a first visit downloads them once.
// /sw.js is served with both values filled in (verifier/web/routes/scanner_page.py): the
// version of the page's files, and their names, each versioned by its content (?v=).
const VERSION = "__OCOP_SHELL_VERSION__";
const SHELL = ["__OCOP_SHELL_FILES__"];
const CACHE = `ocop-scan-${VERSION}`;
const OWN = new Set(SHELL.map((path) => new URL(path, location.origin).pathname));
const SHELL_HEADER = "OCOP-Shell-Version";

// Fetched without cookies, so that keeping the English page never makes English the phone's
// language (its answer sets the language cookie for a person who chose it); and revalidated,
// so that a name that does not carry its version never comes from an old HTTP cache.
const request = (path) => new Request(path, { credentials: "omit", cache: "no-cache" });

// A file whose name carries its content's hash is taken from the old cache when it is there:
// a change to the page's code does not download the decoder again.
async function keep(cache, path, older) {
  if (path.includes("?v=")) {
    for (const name of older) {
      const held = await (await caches.open(name)).match(path);
      if (held) return cache.put(request(path), held);
    }
  }
  const response = await fetch(request(path));
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return cache.put(request(path), response);
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const older = (await caches.keys()).filter((name) => name !== CACHE);
    const cache = await caches.open(CACHE);
    await Promise.all(SHELL.map((path) => keep(cache, path, older)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)));
    await self.clients.claim();
    // a page running older code offers to reload (it compares the version with its own)
    for (const client of await self.clients.matchAll({ type: "window" })) {
      client.postMessage({ type: "ocop-shell", version: VERSION });
    }
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  // Only the scanner's own files: the site's other pages (a stamp's verdict, the desk), the
  // signed lists and the API always come from the network.
  if (!OWN.has(url.pathname)) return;
  event.respondWith(url.pathname === "/scan" ? page(event.request) : file(event.request));
});

// The page from the network when there is one (in the phone's language, with the server's
// current settings), kept only when it was made for the files this cache holds.
async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.headers.get(SHELL_HEADER) === VERSION) cache.put(request, response.clone());
    return response;
  } catch {
    return (await cache.match(request)) || (await cache.match("/scan")) || Response.error();
  }
}

async function file(request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(request)) || fetch(request);
}
