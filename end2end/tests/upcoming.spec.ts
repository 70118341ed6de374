import { expect, test } from "@playwright/test";
import { signIn } from "./login";
import { dailyReminder, hydrated, pairedAccount, simFault, watchConsole } from "./fixtures";
import { saveScreenshots } from "./screenshots";

// What goes out next, on a phone: the agenda lists each send to come by day, with its account
// and groups, and warns of a send whose account is not connected. (Named to run after
// dashboard.spec.ts, which expects a stack with no reminders yet.)

test.use({ viewport: { width: 390, height: 844 } });

test("the agenda lists the next sends and warns of an account that is not connected", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Grocer");
  const reminder = dailyReminder(account.label);

  await page.goto("/agenda");
  await hydrated(page);
  const sends = page.getByTestId("agenda-send").filter({ has: page.locator(`a[href="/reminders/${reminder.reminder_id}"]`) });
  // Daily at 17:30 UTC from tomorrow: six or seven of them in the next seven days.
  await expect(sends.first()).toBeVisible();
  expect(await sends.count()).toBeGreaterThanOrEqual(6);
  await expect(sends.first()).toContainText(`${account.label} → 2 groups`);
  await expect(sends.first().getByTestId("agenda-account-warning")).toHaveCount(0);

  // WhatsApp logs the account out: each of its sends says so, with a way to its account.
  await simFault(account.id, "log_out");
  await expect
    .poll(async () => {
      await page.reload();
      return sends.first().getByTestId("agenda-account-warning").count();
    }, { timeout: 30_000, intervals: [1000] })
    .toBe(1);
  const warning = sends.first().getByTestId("agenda-account-warning");
  await expect(warning).toContainText("Its account is not connected (Logged out)");
  await expect(warning.getByRole("link")).toHaveAttribute("href", `/accounts/${account.id}`);
  await saveScreenshots(page, "agenda");

  // The dashboard leads with the next send, the way into the agenda. (The stack may hold other
  // tests' reminders due sooner, so only its shape is checked.)
  await page.goto("/");
  await hydrated(page);
  const next = page.getByTestId("next-send");
  await expect(next).toContainText(/^Next.+: .+ → \d+ groups?/);
  await expect(next).toHaveAttribute("href", "/agenda");
  await next.click();
  await expect(page).toHaveURL(/\/agenda$/);

  // Thirty days list more of them.
  await page.getByTestId("agenda-30").click();
  await expect(page).toHaveURL(/\/agenda\?days=30$/);
  await expect.poll(() => sends.count()).toBeGreaterThanOrEqual(29);
  expect(errors).toEqual([]);
});
