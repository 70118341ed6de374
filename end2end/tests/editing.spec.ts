import { expect, test } from "@playwright/test";
import { signIn } from "./login";
import { dailyReminder, hydrated, pairedAccount, watchConsole } from "./fixtures";
import { saveScreenshots } from "./screenshots";

// Changing things on a phone with few taps: an edit saved from the step it changed (the review
// says what changes), a delete taken back, and drafts listed to continue or discard — each
// confirmed by a toast.

test.use({ viewport: { width: 390, height: 844 } });

test("an edit of the time is saved from the When step, and the review shows what it changes", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Cafe");
  const reminder = dailyReminder(account.label);
  await page.goto(`/reminders/${reminder.reminder_id}`);
  await hydrated(page);
  await expect(page.getByTestId("summary")).toHaveText("Every day at 17:30 (UTC)");

  await page.getByTestId("edit-when").click();
  await expect(page).toHaveURL(/\/edit\/when$/);
  await hydrated(page);
  await page.getByLabel("Time", { exact: true }).fill("08:15");
  await expect(page.getByTestId("schedule-summary")).toHaveText("Every day at 08:15 (UTC)");

  // The review names what changes and what it was.
  await page.getByTestId("step-review").click();
  await expect(page).toHaveURL(/\/edit\/review$/);
  await expect(page.getByTestId("review-changes")).toHaveText("This changes: When.");
  await expect(page.getByTestId("changed-when")).toBeVisible();
  await expect(page.getByTestId("changed-groups")).toHaveCount(0);
  await expect(page.getByTestId("review-was-when")).toHaveText("Was: Every day at 17:30 (UTC)");
  await saveScreenshots(page, "edit-review-changes");

  // Back on When, Save changes saves it there: no trip through the other steps.
  await page.getByTestId("step-when").click();
  await expect(page).toHaveURL(/\/edit\/when$/);
  await page.getByTestId("wizard-save").click();
  await expect(page).toHaveURL(new RegExp(`/reminders/${reminder.reminder_id}$`));
  await expect(page.getByTestId("toast-text")).toHaveText(`Saved your changes to “${reminder.name}”.`);
  await expect(page.getByTestId("summary")).toHaveText("Every day at 08:15 (UTC)");
  await expect(page.getByTestId("unsaved-changes")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a deleted reminder comes back with Undo, as it was", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Barber");
  const reminder = dailyReminder(account.label);
  await page.goto(`/reminders/${reminder.reminder_id}`);
  await hydrated(page);
  await page.getByTestId("pause").click();
  await expect(page.getByTestId("toast-text")).toHaveText(`Paused “${reminder.name}”.`);
  await expect(page.getByTestId("reminder-status")).toHaveText("Paused");

  await page.getByTestId("delete").click();
  await page.getByTestId("delete-dialog").getByTestId("confirm-action").click();
  await expect(page).toHaveURL(/\/reminders$/);
  await expect(page.getByTestId("toast-text")).toHaveText(`Deleted “${reminder.name}”.`);
  await saveScreenshots(page, "undo-delete");
  await page.getByTestId("toast-undo").click();

  await expect(page).toHaveURL(new RegExp(`/reminders/${reminder.reminder_id}$`));
  await expect(page.getByTestId("toast-text")).toHaveText("It is back, as it was.");
  await expect(page.getByRole("heading", { level: 1, name: reminder.name })).toBeVisible();
  await expect(page.getByTestId("reminder-status")).toHaveText("Paused");
  await expect(page.getByTestId("summary")).toHaveText("Every day at 17:30 (UTC)");
  await expect(page.getByTestId("target-groups").locator("li")).toHaveCount(2);
  expect(errors).toEqual([]);
});

test("drafts are listed to continue or discard, and a discard can be undone", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Tailor");
  const name = `Half-done ${Date.now()}`;

  // A reminder started and left at its message.
  await page.goto("/reminders/new");
  await hydrated(page);
  await page.getByTestId("account-choice").filter({ hasText: account.label }).click();
  await expect(page).toHaveURL(/\/reminders\/drafts\/\d+\/message$/);
  const draftUrl = page.url();
  await hydrated(page);
  await page.getByLabel("Name").fill(name);
  await expect(page.getByTestId("save-state")).toHaveText("Draft saved");

  // New reminder offers to continue it; the reminders page lists it.
  await page.goto("/reminders/new");
  await expect(page.getByTestId("continue-last-draft")).toContainText(`You started “${name}”`);
  await page.goto("/reminders");
  await hydrated(page);
  const row = page.getByTestId("draft-row").filter({ hasText: name });
  await expect(row).toContainText("New reminder");
  await expect(row).toContainText(account.label);
  await saveScreenshots(page, "drafts");
  // Continue opens the first step that still needs something: its message has no text yet.
  await row.getByTestId("draft-continue").click();
  await expect(page).toHaveURL(draftUrl);
  await hydrated(page);
  await expect(page.getByLabel("Name")).toHaveValue(name);

  // Discarded from the wizard, then undone: back at the step, with what was typed.
  await page.getByTestId("wizard-discard").click();
  await expect(page).toHaveURL(/\/reminders$/);
  await expect(page.getByTestId("toast-text")).toHaveText("The draft is discarded.");
  await expect(page.getByTestId("draft-row").filter({ hasText: name })).toHaveCount(0);
  await page.getByTestId("toast-undo").click();
  await expect(page).toHaveURL(/\/reminders\/drafts\/\d+\/message$/);
  await hydrated(page);
  await expect(page.getByLabel("Name")).toHaveValue(name);

  // Discarded from the list, then undone: listed again.
  await page.goto("/reminders");
  await hydrated(page);
  await page.getByTestId("draft-row").filter({ hasText: name }).getByTestId("draft-discard").click();
  await expect(page.getByTestId("toast-text")).toHaveText("The draft is discarded.");
  await expect(page.getByTestId("draft-row").filter({ hasText: name })).toHaveCount(0);
  await page.getByTestId("toast-undo").click();
  await expect(page).toHaveURL(/\/reminders\/drafts\/\d+\/message$/);
  await page.goto("/reminders");
  await expect(page.getByTestId("draft-row").filter({ hasText: name })).toHaveCount(1);
  expect(errors).toEqual([]);
});
