// Herald's service worker: keeps the app shell so the installed app starts without a network,
// and downloads nothing that has not changed.
//
// - The bundle is addressed by its content (/pkg/<hash>/herald.js, .wasm, .css; the server's
//   bundle.rs): an address names one build's bytes forever, so it is answered from the cache
//   first and fetched only once. A deploy's pages name a new hash, so a page never meets another
//   build's bundle; the previous build's files are dropped once the new one is kept.
// - Pages are network-first (a copy answers only when the network does not), and so are the
//   manifest and icons, revalidated past the HTTP cache (`cache: "no-cache"`: a small 304 when
//   unchanged). The plain /pkg/herald.* names (no longer linked) are treated the same way.
// A deploy therefore needs no new sw.js: bump CACHE_VERSION only when this file's caching
// changes.
//
// Never answered here (the browser handles them as if there were no worker): anything but GET,
// other origins, /api/ (server functions, JSON endpoints, the /api/events stream), /auth/ and
// /login (one-time links). Signing out is only noticed, to drop the kept pages.

const CACHE_VERSION = "v2";
const SHELL_CACHE = `herald-shell-${CACHE_VERSION}`;
const BUNDLE_CACHE = `herald-bundle-${CACHE_VERSION}`;
const PAGE_CACHE = `herald-pages-${CACHE_VERSION}`;
const START_URL = "/";
const SHELL = [
  "/manifest.webmanifest",
  "/favicon.svg",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/maskable-512.png",
  "/icons/apple-touch-icon.png",
];
// A hashed bundle address: its hash, and the file.
const BUNDLE_ADDRESS = /^\/pkg\/([0-9a-f]{16})\/([^/]+)$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const shell = await caches.open(SHELL_CACHE);
      await shell.addAll(SHELL.map((url) => new Request(url, { cache: "no-cache" })));
      // The start page as well, and the bundle it loads, so the installed app opens offline
      // even if "/" is not visited again first. The worker is registered from signed-in pages,
      // so this is the operator's dashboard; a redirect (signed out meanwhile) is not kept.
      try {
        const start = await fetch(START_URL, { cache: "no-cache", redirect: "manual" });
        if (isKeepablePage(start)) {
          const html = await start.clone().text();
          await (await caches.open(PAGE_CACHE)).put(START_URL, start);
          const addresses = new Set(html.match(/\/pkg\/[0-9a-f]{16}\/[\w.-]+/g) ?? []);
          await Promise.all([...addresses].map((address) => keepBundleFile(new Request(address))));
        }
      } catch {
        // Offline while installing: the start page is cached on its next visit instead.
      }
      // Every strategy here is network-first, so a new worker can take over open pages at once.
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const current = [SHELL_CACHE, BUNDLE_CACHE, PAGE_CACHE];
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith("herald-") && !current.includes(name))
          .map((name) => caches.delete(name)),
      );
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/auth/logout") {
    // Not answered here, only noticed: copies of signed-in pages must not outlive the session.
    event.waitUntil(caches.delete(PAGE_CACHE));
    return;
  }
  if (request.method !== "GET" || isLeftAlone(url.pathname)) return;
  if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (BUNDLE_ADDRESS.test(url.pathname)) {
    event.respondWith(bundleFile(event));
  } else if (url.pathname.startsWith("/pkg/") || SHELL.includes(url.pathname)) {
    event.respondWith(shellFile(event));
  }
});

function isLeftAlone(path) {
  return (
    path === "/api" ||
    path.startsWith("/api/") ||
    path.startsWith("/auth/") ||
    path === "/login" ||
    path.startsWith("/login/")
  );
}

// Only a page the server rendered in full: not a redirect, an error or a 404 page.
function isKeepablePage(response) {
  return response.status === 200 && response.type === "basic";
}

async function page(event) {
  const request = event.request;
  try {
    const response = await fetch(request);
    if (isKeepablePage(response)) {
      const copy = response.clone();
      event.waitUntil(caches.open(PAGE_CACHE).then((pages) => pages.put(request.url, copy)));
    } else if (response.type === "opaqueredirect") {
      // Pages redirect only to the login page, i.e. the session is gone: so are its copies.
      event.waitUntil(caches.delete(PAGE_CACHE));
    }
    return response;
  } catch (offline) {
    const pages = await caches.open(PAGE_CACHE);
    const copy = await pages.match(request.url);
    if (copy) return copy;
    // The start page's HTML under another address would hydrate as the wrong route, so send the
    // browser to "/" itself, whose copy is then served.
    if (new URL(request.url).pathname !== START_URL && (await pages.match(START_URL))) {
      return Response.redirect(START_URL, 302);
    }
    throw offline;
  }
}

// Cache-first: a hashed address never changes.
async function bundleFile(event) {
  const copy = await caches.match(event.request, { cacheName: BUNDLE_CACHE });
  if (copy) return copy;
  const response = await fetch(event.request);
  if (response.ok) event.waitUntil(keep(event.request, response.clone()));
  return response;
}

async function keepBundleFile(request) {
  const response = await fetch(request);
  if (response.ok) await keep(request, response);
}

// Keeps a bundle file, and drops the same file of other builds.
async function keep(request, response) {
  const [, hash, file] = new URL(request.url).pathname.match(BUNDLE_ADDRESS);
  const bundle = await caches.open(BUNDLE_CACHE);
  await bundle.put(request, response);
  for (const kept of await bundle.keys()) {
    const match = new URL(kept.url).pathname.match(BUNDLE_ADDRESS);
    if (match && match[2] === file && match[1] !== hash) await bundle.delete(kept);
  }
}

async function shellFile(event) {
  const request = event.request;
  try {
    const response = await fetch(request, { cache: "no-cache" });
    if (response.ok) {
      const copy = response.clone();
      event.waitUntil(caches.open(SHELL_CACHE).then((shell) => shell.put(request, copy)));
    }
    return response;
  } catch (offline) {
    const copy = await caches.match(request, { cacheName: SHELL_CACHE });
    if (copy) return copy;
    throw offline;
  }
}
