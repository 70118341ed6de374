import { expect, test, type Page } from "@playwright/test";
import { signIn } from "./login";

async function hydrated(page: Page) {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

/** Waits for the service worker, then reloads so the page is loaded through it. */
async function underServiceWorker(page: Page) {
  const script = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
  expect(script).toMatch(/\/sw\.js$/);
  await page.reload();
  const controller = await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL ?? null);
  expect(controller).toMatch(/\/sw\.js$/);
}

/** The path of every response the service worker has cached, in any of its caches, with a
 * bundle's hash shown as `<hash>`. */
async function cachedPaths(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const paths: string[] = [];
    for (const name of await caches.keys()) {
      for (const request of await (await caches.open(name)).keys()) {
        paths.push(new URL(request.url).pathname.replace(/^\/pkg\/[0-9a-f]{16}\//, "/pkg/<hash>/"));
      }
    }
    return paths.sort();
  });
}

test("the manifest and its icons are served without signing in", async ({ page, request }) => {
  const response = await request.get("/manifest.webmanifest");
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toBe("application/manifest+json");
  const manifest = await response.json();
  expect(manifest).toMatchObject({
    name: "Herald",
    start_url: "/",
    scope: "/",
    display: "standalone",
    theme_color: "#0f766e",
  });
  expect(manifest.id).toBeTruthy();
  expect(manifest.icons.map((icon: { purpose: string; sizes: string }) => `${icon.purpose} ${icon.sizes}`)).toEqual(
    expect.arrayContaining(["any 192x192", "any 512x512", "maskable 512x512"]),
  );

  // The login page is as far as an anonymous browser gets; it links the manifest, and each icon
  // decodes there as an image of the size the manifest states.
  await page.goto("/login");
  await expect(page.locator('link[rel="manifest"]')).toHaveAttribute("href", "/manifest.webmanifest");
  const appleIcon = await page.locator('link[rel="apple-touch-icon"]').getAttribute("href");
  const icons = [...manifest.icons, { src: appleIcon, sizes: "180x180" }];
  for (const icon of icons) {
    const iconResponse = await request.get(icon.src);
    expect(iconResponse.headers()["content-type"], icon.src).toBe("image/png");
    const decoded = await page.evaluate(async (src) => {
      const image = new Image();
      image.src = src;
      await image.decode();
      return `${image.naturalWidth}x${image.naturalHeight}`;
    }, icon.src);
    expect(decoded, icon.src).toBe(icon.sizes);
  }
});

test("the service worker script is served without signing in and always revalidated", async ({ request }) => {
  const response = await request.get("/sw.js");
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toBe("text/javascript");
  expect(response.headers()["cache-control"]).toBe("no-cache");
});

test("after signing in the service worker registers and controls the page", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await signIn(page);
  await underServiceWorker(page);
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  await hydrated(page);
  await expect.poll(() => cachedPaths(page)).toEqual(
    expect.arrayContaining([
      "/",
      "/manifest.webmanifest",
      "/pkg/<hash>/herald.css",
      "/pkg/<hash>/herald.js",
      "/pkg/<hash>/herald.wasm",
    ]),
  );
  expect(errors).toEqual([]);
});

test("the worker leaves the API, the event stream and server functions to the network", async ({ page, context }) => {
  const fetchedByWorker: string[] = [];
  context.on("request", (request) => {
    if (request.serviceWorker()) fetchedByWorker.push(new URL(request.url()).pathname);
  });
  const apiAnsweredByWorker: string[] = [];
  page.on("response", (response) => {
    if (new URL(response.url()).pathname.startsWith("/api/") && response.fromServiceWorker()) {
      apiAnsweredByWorker.push(response.url());
    }
  });
  await signIn(page);
  await underServiceWorker(page);
  await hydrated(page);

  // A server function: the System page asks for the system's status.
  await page.getByRole("link", { name: "System" }).click();
  await expect(page.getByTestId("database-status")).toHaveText("OK");
  // A JSON endpoint and the event stream.
  expect(await page.evaluate(async () => (await fetch("/api/health")).status)).toBe(200);
  const streamOpened = await page.evaluate(
    () =>
      new Promise<boolean>((resolve) => {
        const source = new EventSource("/api/events");
        source.onopen = () => {
          source.close();
          resolve(true);
        };
        source.onerror = () => {
          source.close();
          resolve(false);
        };
      }),
  );
  expect(streamOpened).toBe(true);

  // The worker did fetch what it serves (the reloaded page), so it is being observed...
  expect(fetchedByWorker).toContain("/");
  // ...but never anything under /api/, and it keeps none of it.
  expect(fetchedByWorker.filter((path) => path.startsWith("/api/"))).toEqual([]);
  expect(apiAnsweredByWorker).toEqual([]);
  const cached = await cachedPaths(page);
  expect(cached.filter((path) => /^\/(api|auth|login)(\/|$)/.test(path))).toEqual([]);
});

test("after a first visit the app starts offline from its cached shell", async ({ page, context }) => {
  await signIn(page);
  await underServiceWorker(page);
  await expect.poll(() => cachedPaths(page)).toContain("/");

  await context.setOffline(true);
  try {
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(true);
    await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
    // The wasm bundle came from the cache too: the page comes alive.
    await hydrated(page);

    // A page never loaded in full has no copy: the start page stands in, at its own address.
    await page.goto("/settings");
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  } finally {
    await context.setOffline(false);
  }
});

/**
 * Dispatches what Chromium's `beforeinstallprompt` event carries (a headless browser never offers
 * installing); `prompt()` calls are counted in `window.heraldTestPrompts`. Returns whether the
 * browser's own install banner was suppressed.
 */
function offerInstall(outcome: "accepted" | "dismissed"): boolean {
  const counter = window as unknown as { heraldTestPrompts: number };
  counter.heraldTestPrompts = 0;
  const offer = Object.assign(new Event("beforeinstallprompt", { cancelable: true }), {
    prompt: () => {
      counter.heraldTestPrompts += 1;
      return Promise.resolve({ outcome });
    },
    userChoice: Promise.resolve({ outcome, platform: "web" }),
  });
  window.dispatchEvent(offer);
  return offer.defaultPrevented;
}

const prompts = (page: Page) => page.evaluate(() => (window as unknown as { heraldTestPrompts: number }).heraldTestPrompts);
const dismissal = (page: Page) => page.evaluate(() => localStorage.getItem("herald.install-dismissed"));
/** Lets the page react to an event before checking that nothing appeared. */
const nextFrame = (page: Page) => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));

test("an install offer shows a button that prompts, without moving the page", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page);
  await hydrated(page);
  const install = page.getByRole("button", { name: "Install Herald" });
  await expect(install).toBeHidden();
  const contentTop = (await page.locator("main").boundingBox())?.y;

  expect(await page.evaluate(offerInstall, "accepted")).toBe(true);
  await expect(install).toBeVisible();
  await expect(page.getByRole("button", { name: "Dismiss install prompt" })).toBeVisible();
  expect((await page.locator("main").boundingBox())?.y).toBe(contentTop);
  await install.focus();
  await expect(install).toBeFocused();

  await install.click();
  await expect(install).toBeHidden();
  expect(await prompts(page)).toBe(1);
  expect(await dismissal(page)).toBeNull();

  // Installed from the browser's menu instead: the button goes.
  await page.evaluate(offerInstall, "accepted");
  await expect(install).toBeVisible();
  await page.evaluate(() => window.dispatchEvent(new Event("appinstalled")));
  await expect(install).toBeHidden();
});

test("an offer made before the app has loaded is kept for the button", async ({ page }) => {
  await signIn(page);
  await page.addInitScript(`document.addEventListener("DOMContentLoaded", () => (${offerInstall})("accepted"));`);
  await page.reload();
  await hydrated(page);
  await page.getByRole("button", { name: "Install Herald" }).click();
  expect(await prompts(page)).toBe(1);
});

test("turning the offer down is remembered, so it does not come back", async ({ page }) => {
  await signIn(page);
  await hydrated(page);
  const install = page.getByRole("button", { name: "Install Herald" });

  await page.evaluate(offerInstall, "accepted");
  await page.getByRole("button", { name: "Dismiss install prompt" }).click();
  await expect(install).toBeHidden();
  expect(await dismissal(page)).not.toBeNull();
  expect(await prompts(page)).toBe(0);

  await page.reload();
  await hydrated(page);
  expect(await page.evaluate(offerInstall, "accepted")).toBe(true);
  await nextFrame(page);
  await expect(install).toBeHidden();

  // Declining in the browser's own dialog counts as well.
  await page.evaluate(() => localStorage.clear());
  await page.evaluate(offerInstall, "dismissed");
  await install.click();
  expect(await prompts(page)).toBe(1);
  await expect.poll(() => dismissal(page)).not.toBeNull();
});
