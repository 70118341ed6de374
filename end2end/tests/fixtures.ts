import { execFileSync } from "node:child_process";
import { expect, type Page } from "@playwright/test";

/** Waits until the page is hydrated (the layout marks the body once it is). */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

/** Collects console errors and uncaught exceptions (a hydration mismatch shows up here). */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().includes("status of 422")) errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(err.message));
  return errors;
}

/**
 * Adds a simulated account through the UI, pairs it with the simulator's scan and waits for its
 * groups. Returns its label and id.
 */
export async function pairedAccount(page: Page, prefix: string): Promise<{ label: string; id: number }> {
  const label = `${prefix}-${Date.now()}`;
  await page.goto("/accounts");
  await hydrated(page);
  await page.getByTestId("add-account-label").fill(label);
  await page.getByTestId("add-account-submit").click();
  await page.getByRole("link", { name: label, exact: true }).click();
  await expect(page).toHaveURL(/\/accounts\/\d+$/);
  const id = Number(new URL(page.url()).pathname.split("/").pop());
  await hydrated(page);
  await page.getByTestId("pair-button").click();
  const modal = page.getByRole("dialog", { name: `Pair “${label}”` });
  await modal.getByTestId("simulate-scan").click({ timeout: 15000 });
  await expect(modal.getByTestId("qr-phase")).toHaveText(/^Connected ✓/, { timeout: 15000 });
  await modal.getByTestId("qr-modal-close").click();
  await expect(page.getByTestId("groups-table").getByTestId("group-row").first()).toBeVisible({ timeout: 15000 });
  return { label, id };
}

/** What the simulator has "sent" for an account. */
export async function simMessages(accountId: number): Promise<{ group_jid: string; kind: string; body: string }[]> {
  const worker = process.env.WORKER_URL;
  if (!worker) throw new Error("WORKER_URL is not set (scripts/e2e.sh sets it)");
  const response = await fetch(`${worker}/sim/accounts/${accountId}/messages`);
  expect(response.status).toBe(200);
  return response.json();
}

/** Injects a simulator fault (`log_out`, …) into an account's session. */
export async function simFault(accountId: number, fault: string) {
  const worker = process.env.WORKER_URL;
  if (!worker) throw new Error("WORKER_URL is not set (scripts/e2e.sh sets it)");
  const response = await fetch(`${worker}/sim/accounts/${accountId}/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ fault }),
  });
  expect(response.status, await response.text()).toBe(204);
}

/** Runs `herald-fixture` (testkit) against the stack's database and parses what it made. */
function fixture<T>(...args: string[]): T {
  const bin = process.env.HERALD_FIXTURE_BIN;
  if (!bin) throw new Error("HERALD_FIXTURE_BIN is not set (scripts/e2e.sh sets it)");
  return JSON.parse(execFileSync(bin, args, { encoding: "utf8" }));
}

/** A run paused at its send window: its first group sent, the rest waiting, its reminder paused. */
export function pausedRun(label: string): { reminder_id: number; run_id: number } {
  return fixture("paused-run", label);
}

/**
 * A run to two groups of the account, skipped a minute ago because the account was logged out
 * then, with its own copy of the message; the account is connected again.
 */
export function skippedRun(label: string): { reminder_id: number; run_id: number; name: string } {
  return fixture("skipped-run", label);
}

/**
 * As `skippedRun`, but the second group's send was cut off by a stop and reported unknown (the
 * simulator never got it), so the run failed.
 */
export function unsureRun(label: string): { reminder_id: number; run_id: number; name: string } {
  return fixture("unsure-run", label);
}

/** A daily reminder ("Evening notice", 17:30 UTC from tomorrow) to two of the account's groups. */
export function dailyReminder(label: string): { reminder_id: number; name: string } {
  return fixture("daily-reminder", label);
}

/**
 * Two runs that just ended, on an account of their own: a partly sent run (2 of 3) of an ended
 * reminder, and a failed run whose reminder has since been deleted.
 */
export function finishedRuns(): {
  reminder: number;
  name: string;
  partialRun: number;
  deletedName: string;
  failedRun: number;
} {
  return fixture("finished-runs");
}

/** The daily media clean-up, failed for good with `error`; its task id. */
export function failedJob(error: string): string {
  return fixture<{ id: string }>("failed-job", error).id;
}

/** A task's state, or `gone` once the queue removed it after a successful run. */
export function jobState(id: string): string {
  return fixture<{ state: string }>("job-state", id).state;
}

/** A 2×2 PNG, so an image part has real image bytes to upload. */
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGPgL8sDIgYIBQAZJgPNYghy3gAAAABJRU5ErkJggg==",
  "base64",
);
