import { expect, test } from "@playwright/test";
import { signIn } from "./login";
import { hydrated, pairedAccount, simMessages, skippedRun, unsureRun, watchConsole } from "./fixtures";
import { saveScreenshots } from "./screenshots";

// What went wrong, on a phone: a run that reached no group is a problem wherever runs are
// counted, and one tap sends its own message to the groups it missed — each of them once,
// counted in the simulator's outbox. A group that may already have it is sent it only after
// the operator confirms it could get it twice.

test.use({ viewport: { width: 390, height: 844 } });

test("a skipped run counts as a problem and is retried to its groups in one tap", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Florist");

  await page.goto("/");
  await hydrated(page);
  const problems = page.getByTestId("stat-problems-today").getByTestId("stat-value");
  const before = Number((await problems.textContent())?.trim());
  const skipped = skippedRun(account.label);
  await page.reload();
  await hydrated(page);
  await expect(problems).toHaveText(String(before + 1));
  await expect(page.getByTestId("stat-problems-today")).toHaveClass(/stat-card-bad/);

  // The problems filter lists it, in red.
  await page.getByTestId("stat-problems-today").click();
  await expect(page).toHaveURL(/\/runs\?day=today&status=problems$/);
  const listed = page.getByTestId("runs-list").locator(`[data-run-id="${skipped.run_id}"]`);
  await expect(listed.getByTestId("run-status")).toHaveText("Skipped");
  await expect(listed.getByTestId("run-status")).toHaveClass(/badge-bad/);

  await page.goto(`/reminders/runs/${skipped.run_id}`);
  await hydrated(page);
  await expect(page.getByTestId("run-counts")).toHaveText("0 of 2 sent");
  await expect(page.getByTestId("unreached-count")).toContainText("2 groups did not get this run.");
  await saveScreenshots(page, "run-unreached");
  await page.getByTestId("retry-run").click();
  await expect(page.getByRole("status")).toContainText("Sending");
  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId("run").getAttribute("data-status");
    }, { timeout: 60_000, intervals: [1000] })
    .toBe("success");
  await expect(page.getByTestId("run-counts")).toHaveText("2 of 2 sent");
  await expect(page.getByTestId("retry-run")).toHaveCount(0);

  const perGroup = new Map<string, number>();
  for (const message of await simMessages(account.id)) {
    perGroup.set(message.group_jid, (perGroup.get(message.group_jid) ?? 0) + 1);
  }
  expect([...perGroup.values()]).toEqual([1, 1]);
  expect(errors).toEqual([]);
});

test("a group that may already have a run is resent to only after confirming", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Bakery");
  const unsure = unsureRun(account.label);

  await page.goto(`/reminders/runs/${unsure.run_id}`);
  await hydrated(page);
  await expect(page.getByTestId("unreached-count")).toContainText("1 group did not get this run.");
  await expect(page.getByTestId("unknown-count")).toContainText("1 group may already have it");
  await expect(page.getByTestId("retry-unknown")).toHaveText(
    "Also resend to the group that may already have it…",
  );

  // Cancelling the confirmation sends nothing.
  await page.getByTestId("retry-unknown").click();
  const dialog = page.getByTestId("retry-unknown-dialog");
  await expect(dialog).toContainText("If it did, they get the message twice.");
  await expect(dialog.getByTestId("retry-unknown-groups").locator("li")).toHaveCount(1);
  await saveScreenshots(page, "run-resend-unknown");
  await dialog.getByTestId("retry-unknown-cancel").click();
  await expect(dialog).toHaveCount(0);

  // The one-tap retry sends to the group not reached only.
  await page.getByTestId("retry-run").click();
  await expect(page.getByRole("status")).toContainText("Sending");
  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId("run").getAttribute("data-status");
    }, { timeout: 60_000, intervals: [1000] })
    .toBe("partial");
  expect((await simMessages(account.id)).length).toBe(1);

  // Confirmed, the group that may have it is sent it too.
  await hydrated(page);
  await expect(page.getByTestId("retry-run")).toHaveCount(0);
  await expect(page.getByTestId("retry-unknown")).toHaveText("Resend to the group that may already have it…");
  await page.getByTestId("retry-unknown").click();
  await page.getByTestId("retry-unknown-confirm").click();
  await expect(page.getByRole("status")).toContainText("Sending");
  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId("run").getAttribute("data-status");
    }, { timeout: 60_000, intervals: [1000] })
    .toBe("success");
  await expect(page.getByTestId("retry-unknown")).toHaveCount(0);

  const perGroup = new Map<string, number>();
  for (const message of await simMessages(account.id)) {
    perGroup.set(message.group_jid, (perGroup.get(message.group_jid) ?? 0) + 1);
  }
  expect([...perGroup.values()]).toEqual([1, 1]);
  expect(errors).toEqual([]);
});
