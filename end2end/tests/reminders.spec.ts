import { expect, test, type Page } from "@playwright/test";
import { signIn } from "./login";
import { PNG, hydrated, pairedAccount, pausedRun, simMessages, watchConsole } from "./fixtures";
import { saveScreenshots } from "./screenshots";

// Reminders against the real server and worker on the simulator: the wizard (each step its own
// URL, the draft kept on the server), the reminder's page, and runs.

/** YYYY-MM-DD and HH:MM of a UTC instant. */
function utcParts(at: Date): { date: string; time: string } {
  const iso = at.toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 16) };
}

/** The next Monday after today, as YYYY-MM-DD. */
function nextMonday(): string {
  const day = new Date();
  day.setUTCDate(day.getUTCDate() + ((8 - day.getUTCDay()) % 7 || 7));
  return day.toISOString().slice(0, 10);
}

async function startWizard(page: Page, accountLabel: string) {
  await page.goto("/reminders");
  await hydrated(page);
  await page.getByTestId("new-reminder").click();
  await expect(page).toHaveURL(/\/reminders\/new$/);
  await hydrated(page);
  await page.getByTestId("account-choice").filter({ hasText: accountLabel }).click();
  await expect(page).toHaveURL(/\/reminders\/drafts\/\d+\/message$/);
}

async function next(page: Page, step: string) {
  await page.getByTestId("wizard-next").click();
  await expect(page).toHaveURL(new RegExp(`/${step}$`));
}

async function chooseGroups(page: Page, count: number) {
  const choices = page.getByTestId("group-choice");
  await expect(choices.first()).toBeVisible();
  for (let i = 0; i < count; i++) await choices.nth(i).click();
  await expect(page.getByTestId("groups-chosen")).toHaveText(`${count} groups chosen`);
}

test("the wizard makes a one-off with an image, it is sent, and deleting it keeps its history", async ({ page }) => {
  test.setTimeout(240_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Florist");
  await startWizard(page, account.label);

  // Step 2: a text, then an image with a caption, moved first.
  await hydrated(page);
  await page.getByTestId("wizard-next").click();
  await expect(page.locator("#name-problem")).toHaveText("Give the reminder a name.");
  await expect(page).toHaveURL(/\/message$/);
  await page.getByLabel("Name").fill("Tulip offer");
  // A problem goes as soon as its field is fixed.
  await expect(page.locator("#name-problem")).toHaveCount(0);
  await page.locator("#part-0-body").fill("Fresh tulips today!");
  // Each part counts its characters against WhatsApp's limit as it is typed.
  await expect(page.getByTestId("part").nth(0).getByTestId("part-counter")).toHaveText("19 / 65,536 characters");
  await page.getByTestId("add-image").click();
  await page.locator("#part-1-file").setInputFiles({ name: "poster.png", mimeType: "image/png", buffer: PNG });
  await expect(page.getByTestId("part").nth(1).getByTestId("file-chosen")).toContainText("poster.png");
  // An image part shows its picture, loaded from the upload.
  const thumbnail = page.getByTestId("part").nth(1).getByTestId("file-thumbnail");
  await expect(thumbnail).toBeVisible();
  await expect.poll(() => thumbnail.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
  await page.locator("#part-1-body").fill("This week's poster");
  await page.getByRole("button", { name: "Move part 2 up" }).click();
  await expect(page.getByTestId("part").nth(0)).toHaveAttribute("data-kind", "image");
  await expect(page.locator("#part-0-body")).toHaveValue("This week's poster");
  await next(page, "when");

  // Step 3: once, at the next whole minute: always ahead, however slow the machine.
  const { date, time } = utcParts(new Date(Date.now() + 60_000));
  await page.getByTestId("once").check();
  await page.getByLabel("Time zone").fill("UTC");
  await page.getByLabel("Time zone").blur();
  await page.getByLabel("Date", { exact: true }).fill(date);
  await page.getByLabel("Time", { exact: true }).fill(time);
  await expect(page.getByTestId("schedule-summary")).toContainText(`at ${time}`);
  await next(page, "groups");

  // Step 4: two groups; step 5: review and create.
  await chooseGroups(page, 2);
  await next(page, "review");
  await expect(page.getByTestId("review-name")).toHaveText("Tulip offer");
  await expect(page.getByTestId("review-groups").locator("li")).toHaveCount(2);
  await expect(page.getByTestId("review-problems")).toHaveCount(0);
  await page.getByTestId("wizard-submit").click();
  await expect(page).toHaveURL(/\/reminders\/\d+$/);
  await expect(page.getByRole("heading", { level: 1, name: "Tulip offer" })).toBeVisible();
  await expect(page.getByTestId("message-preview").locator("img")).toHaveAttribute("alt", "poster.png");

  // The worker fires it: each group gets the image (with its caption), then the text.
  await expect
    .poll(async () => (await simMessages(account.id)).length, { timeout: 150_000, intervals: [1000] })
    .toBe(4);
  const sent = await simMessages(account.id);
  expect(sent.map((m) => m.kind).sort()).toEqual(["image", "image", "text", "text"]);
  expect(sent.filter((m) => m.kind === "image").every((m) => m.body === "This week's poster")).toBe(true);

  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId("run").first().getAttribute("data-status");
    }, { timeout: 30_000, intervals: [1000] })
    .toBe("success");
  await expect(page.getByTestId("run").first().getByTestId("run-counts")).toHaveText("2 of 2 sent");
  const runId = await page.getByTestId("run").first().getAttribute("data-run-id");

  // Delete: the reminder goes, its run stays.
  await hydrated(page);
  await page.getByTestId("delete").click();
  const dialog = page.getByTestId("delete-dialog");
  await expect(dialog).toContainText("Its run history is kept");
  await dialog.getByTestId("confirm-action").click();
  await expect(page).toHaveURL(/\/reminders$/);
  await page.goto(`/reminders/runs/${runId}`);
  await expect(page.getByText("Tulip offer (deleted reminder)")).toBeVisible();
  await expect(page.getByTestId("run-counts")).toHaveText("2 of 2 sent");
  await expect(page.getByTestId("run-target")).toHaveCount(2);
  expect(errors).toEqual([]);
});

test("a weekly recurrence: live summary, Back and refresh keep the draft, then edit, pause and resume", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Gym");
  await startWizard(page, account.label);
  await hydrated(page);
  await page.getByLabel("Name").fill("Class reminder");
  await page.locator("#part-0-body").fill("Spin class at 9, see you there!");
  await next(page, "when");

  await page.getByTestId("repeat").check();
  await page.getByLabel("Time zone").fill("Europe/London");
  await page.getByLabel("Time zone").blur();
  await page.getByLabel("Starting on").fill(nextMonday());
  await page.getByLabel("Time", { exact: true }).fill("09:00");
  await expect(page.getByTestId("weekday-Mon")).toBeChecked();
  await page.getByTestId("weekday-Wed").check();
  await page.getByTestId("weekday-Fri").check();
  await page.getByTestId("end-after").check();
  await page.getByTestId("end-count").fill("12");
  await expect(page.getByTestId("schedule-summary")).toHaveText("Every Mon, Wed, Fri at 09:00 (Europe/London), 12 times");
  const upcoming = page.getByTestId("upcoming").locator("li");
  await expect(upcoming).toHaveCount(5);
  await expect(upcoming.first()).toHaveText(/^Mon .*, 09:00\b/);
  await expect(upcoming.nth(1)).toHaveText(/^Wed .*, 09:00\b/);

  // The draft is on the server: a refresh shows the same schedule.
  await expect(page.getByTestId("save-state")).toHaveText("Draft saved");
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("schedule-summary")).toHaveText("Every Mon, Wed, Fri at 09:00 (Europe/London), 12 times");
  await saveScreenshots(page, "wizard-when");

  // Back to the message and forward again, with the browser's own buttons too.
  await page.getByTestId("wizard-back").click();
  await expect(page).toHaveURL(/\/message$/);
  await expect(page.getByLabel("Name")).toHaveValue("Class reminder");
  await page.goBack();
  await expect(page).toHaveURL(/\/when$/);
  await expect(page.getByTestId("schedule-summary")).toHaveText("Every Mon, Wed, Fri at 09:00 (Europe/London), 12 times");
  await next(page, "groups");
  await page.getByTestId("group-search").fill("zzz-no-such-group");
  await expect(page.getByText("No group matches that search.")).toBeVisible();
  await page.getByTestId("group-search").fill("");
  await chooseGroups(page, 3);
  await next(page, "review");
  await expect(page.getByTestId("review-summary")).toHaveText("Every Mon, Wed, Fri at 09:00 (Europe/London), 12 times");
  await page.getByTestId("wizard-submit").click();
  await expect(page).toHaveURL(/\/reminders\/\d+$/);
  const detailUrl = page.url();
  await expect(page.getByTestId("summary")).toHaveText("Every Mon, Wed, Fri at 09:00 (Europe/London), 12 times");
  await expect(page.getByTestId("reminder-status")).toHaveText("Active");
  await expect(page.getByTestId("target-groups").locator("li")).toHaveCount(3);
  await saveScreenshots(page, "reminder-detail");

  // Edit: the section's link opens its step with the reminder as it is; saving re-arms it.
  await hydrated(page);
  await page.getByTestId("edit-when").click();
  await expect(page).toHaveURL(/\/reminders\/\d+\/edit\/when$/);
  await hydrated(page);
  await expect(page.getByLabel("Time", { exact: true })).toHaveValue("09:00");
  await page.getByLabel("Time", { exact: true }).fill("10:30");
  await expect(page.getByTestId("schedule-summary")).toHaveText("Every Mon, Wed, Fri at 10:30 (Europe/London), 12 times");
  await page.getByTestId("step-review").click();
  await expect(page).toHaveURL(/\/edit\/review$/);
  await page.getByTestId("wizard-submit").click();
  await expect(page).toHaveURL(detailUrl);
  await expect(page.getByTestId("summary")).toHaveText("Every Mon, Wed, Fri at 10:30 (Europe/London), 12 times");
  await expect(page.getByTestId("next-fire")).toContainText("10:30");

  // Pause and resume.
  await hydrated(page);
  await page.getByTestId("pause").click();
  await expect(page.getByTestId("reminder-status")).toHaveText("Paused");
  // A paused reminder fires at no time: it says what resuming would do instead.
  await expect(page.getByTestId("next-fire")).toContainText(/^Paused\. Resumed now, it sends next on Mon .*, 10:30;/);
  await page.goto("/reminders?status=paused");
  await expect(page.getByTestId("reminder-row").filter({ hasText: "Class reminder" })).toBeVisible();
  await page.goto(detailUrl);
  await hydrated(page);
  await page.getByTestId("resume").click();
  await expect(page.getByTestId("reminder-status")).toHaveText("Active");
  expect(errors).toEqual([]);
});

test("a run paused at its send window is resumed from its page, and another is cancelled", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Deli");

  const resumed = pausedRun(account.label);
  await page.goto(`/reminders/runs/${resumed.run_id}`);
  await hydrated(page);
  await expect(page.getByTestId("run-status")).toHaveText("Paused");
  await expect(page.getByTestId("run-counts")).toHaveText("1 of 3 sent");
  await page.getByTestId("resume-run").click();
  await expect(page.getByRole("status")).toContainText("Resuming");
  await expect
    .poll(async () => {
      await page.reload();
      return page.getByTestId("run").getAttribute("data-status");
    }, { timeout: 60_000, intervals: [1000] })
    .toBe("success");
  await expect(page.getByTestId("run-counts")).toHaveText("3 of 3 sent");
  // Only the two waiting groups were sent now; the first had it already.
  expect((await simMessages(account.id)).length).toBe(2);
  await page.goto(`/reminders/${resumed.reminder_id}`);
  await expect(page.getByTestId("reminder-status")).toHaveText("Active");

  const cancelled = pausedRun(account.label);
  await page.goto(`/reminders/${cancelled.reminder_id}`);
  await hydrated(page);
  await expect(page.getByTestId("reminder-status")).toHaveText("Paused");
  const run = page.locator(`[data-run-id="${cancelled.run_id}"]`);
  await run.getByTestId("cancel-run").click();
  await expect
    .poll(async () => {
      await page.reload();
      return run.getAttribute("data-status");
    }, { timeout: 60_000, intervals: [1000] })
    .toBe("cancelled");
  await expect(run.getByTestId("run-counts")).toHaveText("1 of 3 sent");
  expect((await simMessages(account.id)).length).toBe(2);
  expect(errors).toEqual([]);
});

test("the reminders list filters by status and says why it is empty", async ({ page }) => {
  await signIn(page);
  // A reminder or run that does not exist (or is another operator's) says so, with a way back.
  for (const missing of ["/reminders/999999", "/reminders/runs/999999", "/reminders/999999/edit/when"]) {
    await page.goto(missing);
    await expect(page.getByRole("alert")).toHaveText(/^No such (reminder|run)\.$/);
    await expect(page.getByRole("link", { name: "Back to your reminders" })).toBeVisible();
  }
  await page.goto("/reminders?status=failed");
  await expect(page.getByTestId("filter-failed")).toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("reminders-empty")).toContainText("Nothing failed");
  await page.getByTestId("filter-all").click();
  await expect(page).toHaveURL(/\/reminders$/);
});

/** A UTC day `days` from today: YYYY-MM-DD, and as Herald writes it ("Tue 8 Dec 2026"). */
function utcDay(days: number): { iso: string; label: string } {
  const day = new Date();
  day.setUTCDate(day.getUTCDate() + days);
  const label = day
    .toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
    .replace(/,/g, "");
  return { iso: day.toISOString().slice(0, 10), label };
}

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("skip dates and Skip next survive an edit, and Send now reaches each group once", async ({ page }) => {
    test.setTimeout(120_000);
    const errors = watchConsole(page);
    await signIn(page);
    const account = await pairedAccount(page, "Baker");
    await startWizard(page, account.label);
    await hydrated(page);
    await page.getByLabel("Name").fill("Bread is ready");
    await page.locator("#part-0-body").fill("Fresh loaves at the counter");
    await next(page, "when");

    const [first, second, third] = [utcDay(1), utcDay(2), utcDay(3)];
    await page.getByTestId("repeat").check();
    await page.getByLabel("Time zone").fill("UTC");
    await page.getByLabel("Time zone").blur();
    await page.getByLabel("Starting on").fill(first.iso);
    await page.getByLabel("Time", { exact: true }).fill("09:00");
    await page.getByTestId("frequency").selectOption("daily");
    // A date the rule never sends on cannot be skipped; one it does is listed and left out.
    await page.getByTestId("skip-date").fill(utcDay(0).iso);
    await page.getByTestId("add-skip").click();
    await expect(page.locator("#skip-problem")).toContainText("does not send on");
    await page.getByTestId("skip-date").fill(second.iso);
    await page.getByTestId("add-skip").click();
    await expect(page.locator("#skip-problem")).toHaveCount(0);
    await expect(page.getByTestId("skip-dates").locator("li")).toHaveText([`${second.label}×`]);
    await expect(page.getByTestId("schedule-summary")).toContainText("Every day at 09:00 (UTC), except");
    const upcoming = page.getByTestId("upcoming").locator("li");
    await expect(upcoming.nth(0)).toHaveText(`${first.label}, 09:00`);
    await expect(upcoming.nth(1)).toHaveText(`${third.label}, 09:00`);
    await next(page, "groups");
    await chooseGroups(page, 2);
    await next(page, "review");
    await page.getByTestId("wizard-submit").click();
    await expect(page).toHaveURL(/\/reminders\/\d+$/);
    const detailUrl = page.url();
    await expect(page.getByTestId("skipped-dates")).toHaveText(second.label);
    await expect(page.getByTestId("next-fire")).toContainText(`${first.label}, 09:00`);

    // Skip next: a confirmation that names the send, then the one after it is next.
    await hydrated(page);
    await page.getByTestId("skip-next").click();
    await expect(page.getByTestId("skip-dialog")).toContainText(`Skip ${first.label}, 09:00?`);
    await expect(page.getByTestId("skip-dialog")).toContainText(`The next send is ${third.label}, 09:00.`);
    await saveScreenshots(page, "skip-next");
    await page.getByTestId("confirm-action").click();
    await expect(page.getByTestId("action-done")).toContainText(`${first.label} is skipped`);
    await expect(page.getByTestId("next-fire")).toContainText(`${third.label}, 09:00`);
    await expect(page.getByTestId("skipped-dates")).toHaveText(`${first.label}, ${second.label}`);

    // An edit of the time keeps both skips.
    await page.getByTestId("edit-when").click();
    await expect(page).toHaveURL(/\/edit\/when$/);
    await hydrated(page);
    await expect(page.getByTestId("skip-dates").locator("li")).toHaveCount(2);
    await page.getByLabel("Time", { exact: true }).fill("10:00");
    await page.getByTestId("step-review").click();
    await page.getByTestId("wizard-submit").click();
    await expect(page).toHaveURL(detailUrl);
    await expect(page.getByTestId("next-fire")).toContainText(`${third.label}, 10:00`);
    await expect(page.getByTestId("skipped-dates")).toHaveText(`${first.label}, ${second.label}`);

    // Send now: once, to each group, and the schedule stays as it was.
    await hydrated(page);
    await page.getByTestId("send-now").click();
    await expect(page.getByTestId("send-now-dialog")).toContainText("2 groups once, now");
    await page.getByTestId("confirm-action").click();
    await expect(page.getByTestId("action-done")).toContainText("Sending now");
    await expect
      .poll(async () => {
        await page.reload();
        return page.getByTestId("run").first().getAttribute("data-status");
      }, { timeout: 60_000, intervals: [1000] })
      .toBe("success");
    await expect(page.getByTestId("next-fire")).toContainText(`${third.label}, 10:00`);
    const perGroup = new Map<string, number>();
    for (const message of await simMessages(account.id)) {
      perGroup.set(message.group_jid, (perGroup.get(message.group_jid) ?? 0) + 1);
    }
    expect([...perGroup.values()]).toEqual([1, 1]);
    expect(errors).toEqual([]);
  });
});
