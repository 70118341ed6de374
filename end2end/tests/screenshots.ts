import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";

/** Where screenshots go: end2end/artifacts/screenshots (ignored by git). */
export const SCREENSHOT_DIR = path.join(__dirname, "..", "artifacts", "screenshots");

/** A phone (the operator's usual device) and a desktop. */
const VIEWPORTS = [
  { width: 390, height: 844 },
  { width: 1440, height: 900 },
];

/**
 * Full-page PNGs of the page as it is now, once per viewport, as `<name>-<width>x<height>.png`.
 * The page's own viewport is restored afterwards.
 */
export async function saveScreenshots(page: Page, name: string) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
    await page.screenshot({
      path: path.join(SCREENSHOT_DIR, `${name}-${viewport.width}x${viewport.height}.png`),
      fullPage: true,
      animations: "disabled",
    });
  }
  if (original) await page.setViewportSize(original);
}
