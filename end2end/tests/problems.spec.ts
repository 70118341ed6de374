import { expect, test } from "@playwright/test";
import { signIn } from "./login";
import { hydrated, pairedAccount, simMessages, skippedRun, watchConsole } from "./fixtures";
import { saveScreenshots } from "./screenshots";

// What went wrong, on a phone: a run that reached no group is a problem wherever runs are
// counted, and one tap sends its own message to the groups it missed — each of them once,
// counted in the simulator's outbox.

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
