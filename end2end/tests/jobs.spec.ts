import { expect, test, type Page } from "@playwright/test";
import { failedJob, hydrated, jobState, watchConsole } from "./fixtures";
import { signIn } from "./login";

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("with nothing failed, the page says why it is empty", async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page);
    await hydrated(page);
    await page.getByRole("button", { name: "Open menu" }).click();
    await page.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Failed jobs" }).click();
    await expect(page).toHaveURL(/\/jobs$/);
    await expect(page.getByRole("heading", { level: 1, name: "Failed jobs" })).toBeVisible();
    await expect(page.getByTestId("jobs-empty")).toContainText(
      "No failed jobs — every task either ran or is waiting its turn.",
    );
    await expect(page.getByTestId("job-row")).toHaveCount(0);
    expect(errors).toEqual([]);
  });
});

test("a failed job is listed with its error; Retry puts it back in line, the worker runs it, and it is audited", async ({ page }) => {
  const errors = watchConsole(page);
  const error = `disk unavailable (${Date.now()})`;
  const id = failedJob(error);
  await signIn(page);
  await page.goto("/jobs");
  await hydrated(page);

  const row = page.getByTestId("job-row").filter({ hasText: error });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("job-title")).toHaveText("Daily media clean-up");
  await expect(row.getByTestId("job-system")).toHaveText("System");
  await expect(row.getByTestId("job-error-message")).toHaveText(error);
  await expect(row.locator(`td[data-label="Retries"]`)).toHaveText("20");

  await row.getByRole("button", { name: "Retry Daily media clean-up" }).click();
  await expect(page.getByTestId("job-notice")).toHaveText(
    "Daily media clean-up is back in line: the worker runs it again now.",
  );
  await expect(page.getByTestId("jobs-empty")).toBeVisible();
  // The worker picks it up, the clean-up succeeds, and fang removes a finished task.
  await expect.poll(() => jobState(id), { timeout: 15_000 }).toBe("gone");

  await page.goto("/audit?action=job.retried");
  await hydrated(page);
  const entry = page.getByTestId("audit-row").first();
  await expect(entry.getByTestId("audit-sentence")).toHaveText(`You retried the failed job ${id}.`);
  await expect(entry.getByTestId("audit-detail")).toContainText('"task":"SweepMedia"');
  expect(errors).toEqual([]);
});
