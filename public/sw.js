// Herald's service worker: keeps the app shell so the installed app starts without a network.
//
// Everything it answers is network-first. The bundle's names (/pkg/herald.js, .wasm, .css) are
// the same in every release, so serving them from the cache first (or stale-while-revalidate)
// would, after a deploy, pair the new server's pages with the old wasm until a second reload —
// a hydration mismatch. Instead every request goes to the server, and shell files revalidate past
// the HTTP cache (`cache: "no-cache"`: a small 304 when unchanged); the cache answers only when
// the network does not. A deploy therefore needs no new sw.js: bump CACHE_VERSION only when this
// file's caching changes.
//
// Never answered here (the browser handles them as if there were no worker): anything but GET,
// other origins, /api/ (server functions, JSON endpoints, the /api/events stream), /auth/ and
// /login (one-time links). Signing out is only noticed, to drop the kept pages.

const CACHE_VERSION = "v1";
const SHELL_CACHE = `herald-shell-${CACHE_VERSION}`;
const PAGE_CACHE = `herald-pages-${CACHE_VERSION}`;
const START_URL = "/";
const SHELL = [
  "/pkg/herald.js",
  "/pkg/herald.wasm",
  "/pkg/herald.css",
  "/manifest.webmanifest",
  "/favicon.svg",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/maskable-512.png",
  "/icons/apple-touch-icon.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const shell = await caches.open(SHELL_CACHE);
      await shell.addAll(SHELL.map((url) => new Request(url, { cache: "no-cache" })));
      // The start page as well, so the installed app opens offline even if "/" is not visited
      // again first. The worker is registered from signed-in pages, so this is the operator's
      // dashboard; a redirect (signed out meanwhile) is not kept.
      try {
        const start = await fetch(START_URL, { cache: "no-cache", redirect: "manual" });
        if (isKeepablePage(start)) await (await caches.open(PAGE_CACHE)).put(START_URL, start);
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
      const current = [SHELL_CACHE, PAGE_CACHE];
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
