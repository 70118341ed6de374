import { expect, test, type Locator, type Page } from "@playwright/test";
import { finishedRuns, hydrated, pairedAccount, simFault, watchConsole } from "./fixtures";
import { signIn } from "./login";
import { saveScreenshots } from "./screenshots";

// The dashboard against the running stack (simulated WhatsApp). Account health is driven the
// real way: pairing through the UI and the simulator's fault control. Finished runs come from
// herald-fixture, as the worker records them: the feed only reads the rows.

function statValue(page: Page, card: string): Locator {
  return page.getByTestId(card).getByTestId("stat-value");
}

async function statNumber(page: Page, card: string): Promise<number> {
  const text = (await statValue(page, card).textContent())?.trim() ?? "";
  expect(text).toMatch(/^\d+$/);
  return Number(text);
}

/** "connected / total" from the accounts card. */
async function accountFigures(page: Page): Promise<[number, number]> {
  const text = (await statValue(page, "stat-accounts").textContent())?.trim() ?? "";
  const match = text.match(/^(\d+) \/ (\d+)$/);
  expect(match, `accounts card reads ${text}`).not.toBeNull();
  return [Number(match![1]), Number(match![2])];
}

function chip(page: Page, label: string): Locator {
  return page
    .getByTestId("health-chip")
    .filter({ has: page.getByTestId("health-label").getByText(label, { exact: true }) });
}

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("the stat cards and the health strip follow a pairing and a logout live", async ({ page, context }) => {
    test.setTimeout(120_000);
    const errors = watchConsole(page);
    await signIn(page);
    await hydrated(page);
    const [connected, total] = await accountFigures(page);
    // A reload would drop this mark: the updates below must arrive on the same document.
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

    // Pair a new account in another tab while the dashboard stays open.
    const other = await context.newPage();
    const { label, id } = await pairedAccount(other, "Dash");
    await other.close();

    await expect(statValue(page, "stat-accounts")).toHaveText(`${connected + 1} / ${total + 1}`, { timeout: 15000 });
    const mine = chip(page, label);
    await expect(mine.getByTestId("account-status")).toHaveText("Connected");
    await expect(mine.getByTestId("simulated-tag")).toBeVisible();
    await expect(mine.getByTestId("health-flag")).toHaveCount(0);
    await expect(mine.getByRole("link")).toHaveAttribute("href", `/accounts/${id}`);
    await expect(mine.getByRole("link")).toContainText(/Seen today \d\d:\d\d|Never seen/);

    // WhatsApp logs the account out: its chip turns into a flagged problem at the front of the
    // strip, and the connected count drops.
    await simFault(id, "log_out");
    await expect(mine.getByTestId("account-status")).toHaveText("Logged out", { timeout: 15000 });
    await expect(mine.getByTestId("health-flag")).toHaveText("⚠ Needs attention");
    await expect(mine).toHaveClass(/health-chip-alert/);
    await expect(statValue(page, "stat-accounts")).toHaveText(`${connected} / ${total + 1}`);
    await expect(page.getByTestId("stat-accounts")).toHaveClass(/stat-card-warn/);
    await expect(page.getByTestId("health-flagged")).toHaveText(/^\d+ needs? attention$/);
    // Problems lead the strip.
    const flags = await page
      .getByTestId("health-chip")
      .evaluateAll((chips) => chips.map((c) => c.classList.contains("health-chip-alert")));
    expect(flags.indexOf(false) === -1 || flags.lastIndexOf(true) < flags.indexOf(false)).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

    // The accounts card leads to the accounts.
    await page.getByTestId("stat-accounts").click();
    await expect(page).toHaveURL(/\/accounts$/);
    expect(errors).toEqual([]);
  });

  test("the activity feed lists runs; clearing it empties the feed and keeps the runs", async ({ page }) => {
    test.setTimeout(60_000);
    const errors = watchConsole(page);
    await signIn(page);
    await hydrated(page);

    // The stack has no reminders yet (this file runs before reminders.spec.ts): the feed says so
    // and offers to create one.
    const activityEmpty = page.getByTestId("activity-empty");
    await expect(activityEmpty).toHaveAttribute("data-reason", "no-reminders");
    await expect(activityEmpty.getByTestId("create-reminder")).toHaveAttribute("href", "/reminders/new");
    await expect(page.getByTestId("clear-activity")).toHaveCount(0);
    const runsToday = await statNumber(page, "stat-runs-today");
    const problemsToday = await statNumber(page, "stat-problems-today");

    const seeded = finishedRuns();
    await page.reload();
    await hydrated(page);
    await expect(statValue(page, "stat-runs-today")).toHaveText(String(runsToday + 2));
    await expect(statValue(page, "stat-problems-today")).toHaveText(String(problemsToday + 2));
    await expect(page.getByTestId("stat-problems-today")).toHaveClass(/stat-card-bad/);

    const feed = page.getByTestId("activity-list");
    const partial = feed.locator(`[data-run-id="${seeded.partialRun}"]`);
    await expect(partial.getByTestId("run-reminder")).toHaveText(seeded.name);
    await expect(partial.getByTestId("run-reminder")).toHaveAttribute("href", `/reminders/${seeded.reminder}`);
    await expect(partial.getByTestId("run-status")).toHaveText("Partly sent");
    await expect(partial.getByTestId("run-counts")).toHaveText("2 of 3 sent");
    await expect(partial.locator("time")).toHaveText(/^Today \d\d:\d\d$/);
    await expect(partial.getByTestId("run-link")).toHaveAttribute("href", `/reminders/runs/${seeded.partialRun}`);
    const orphan = feed.locator(`[data-run-id="${seeded.failedRun}"]`);
    await expect(orphan.getByTestId("run-reminder")).toHaveText(seeded.deletedName);
    await expect(orphan.getByTestId("run-reminder-deleted")).toHaveText("(deleted reminder)");
    await expect(orphan.locator("a.run-item-reminder")).toHaveCount(0);
    await expect(orphan.getByTestId("run-status")).toHaveText("Failed");
    await expect(orphan.getByTestId("run-counts")).toHaveText("0 of 1 sent");
    const order = await feed
      .getByTestId("run-item")
      .evaluateAll((items) => items.map((item) => Number(item.getAttribute("data-run-id"))));
    expect(order.indexOf(seeded.partialRun)).toBeLessThan(order.indexOf(seeded.failedRun));

    await saveScreenshots(page, "dashboard");

    // Clearing asks first, says what stays, then empties the feed.
    await page.getByTestId("clear-activity").click();
    const dialog = page.getByRole("dialog", { name: "Clear recent activity?" });
    await expect(dialog).toContainText("Nothing is deleted: every run stays in its reminder's history");
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(feed.getByTestId("run-item")).not.toHaveCount(0);
    await page.getByTestId("clear-activity").click();
    await dialog.getByTestId("clear-confirm").click();
    await expect(dialog).toBeHidden();
    await expect(activityEmpty).toHaveAttribute("data-reason", "cleared");
    await expect(activityEmpty.getByTestId("activity-cleared-at")).toHaveText(/^Cleared today \d\d:\d\d\.$/);
    await expect(page.getByTestId("run-item")).toHaveCount(0);
    await expect(page.getByTestId("clear-activity")).toHaveCount(0);
    // The figures count runs, not the feed.
    await expect(statValue(page, "stat-runs-today")).toHaveText(String(runsToday + 2));
    await page.reload();
    await hydrated(page);
    await expect(activityEmpty).toHaveAttribute("data-reason", "cleared");

    // The problems card opens today's problems: both runs are still on record.
    await page.getByTestId("stat-problems-today").click();
    await expect(page).toHaveURL(/\/runs\?day=today&status=problems$/);
    await expect(page.getByRole("heading", { level: 1, name: "Runs" })).toBeVisible();
    await expect(page.getByTestId("runs-summary")).toHaveText(
      /^Runs with a problem \(failed, partly sent or skipped\) today \(\d{4}-\d\d-\d\d\), newest first\.$/,
    );
    const list = page.getByTestId("runs-list");
    await expect(list.locator(`[data-run-id="${seeded.partialRun}"]`)).toBeVisible();
    await expect(list.locator(`[data-run-id="${seeded.failedRun}"]`)).toBeVisible();

    // The filter form narrows the list through the URL.
    await page.getByTestId("runs-status").selectOption("partial");
    await page.getByTestId("runs-apply").click();
    await expect(page).toHaveURL(/[?&]status=partial(&|$)/);
    await expect(list.locator(`[data-run-id="${seeded.failedRun}"]`)).toHaveCount(0);
    await expect(list.locator(`[data-run-id="${seeded.partialRun}"]`)).toBeVisible();
    await expect(page.getByTestId("runs-status")).toHaveValue("partial");
    await saveScreenshots(page, "runs");

    // A day that is not one is refused in words.
    await page.goto("/runs?day=someday");
    await expect(page.getByTestId("runs-error")).toHaveText("Pick a day as YYYY-MM-DD, or today.");
    expect(errors).toEqual([]);
  });
});
