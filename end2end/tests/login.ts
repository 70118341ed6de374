import { execFileSync } from "node:child_process";
import { expect, type Page } from "@playwright/test";

/** A fresh one-time link from `herald-server login-link`, as an operator without Telegram gets one. */
export function loginLink(): string {
  const bin = process.env.HERALD_SERVER_BIN;
  if (!bin) throw new Error("HERALD_SERVER_BIN is not set (scripts/test.sh sets it)");
  const url = execFileSync(bin, ["login-link"], { encoding: "utf8" }).trim();
  expect(url).toMatch(/\/login\/[A-Za-z0-9_-]{43}$/);
  return url;
}

/** Opens a fresh link; the link page signs in by itself and lands on the dashboard. */
export async function signIn(page: Page) {
  await page.goto(loginLink());
  // Generous: the link page signs in only once hydrated, which a busy machine delays.
  await expect(page).toHaveURL(/\/$/, { timeout: 15000 });
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
}
