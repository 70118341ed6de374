import { expect, test, type Page } from "@playwright/test";
import { signIn } from "./login";
import { hydrated, pairedAccount, watchConsole } from "./fixtures";
import { saveScreenshots } from "./screenshots";

// The recurrence presets on a phone: every weekday, several times a day, the Nth weekday of the
// month and the last day of the month. Each is saved, read back into the wizard as it was
// chosen, and previewed with the same dates the server then stores.

test.use({ viewport: { width: 390, height: 844 } });

const DAY = 86_400_000;

/** "Tue 8 Dec 2026", as the pages write a date (read in UTC: London is on GMT then or not, the date is the same). */
function label(at: Date): string {
  return at
    .toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
    .replace(/,/g, "");
}

/** The first day of the month after next (so every date below is in the future), its 2nd Tuesday, and its last day. */
function monthAhead(): { first: Date; secondTuesday: Date; lastDay: Date } {
  const now = new Date();
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
  const firstTuesday = new Date(first.getTime() + ((2 - first.getUTCDay() + 7) % 7) * DAY);
  const secondTuesday = new Date(firstTuesday.getTime() + 7 * DAY);
  const lastDay = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0));
  return { first, secondTuesday, lastDay };
}

async function next(page: Page, step: string) {
  await page.getByTestId("wizard-next").click();
  await expect(page).toHaveURL(new RegExp(`/${step}$`));
}

test("recurrence presets: every weekday twice a day, the 2nd Tuesday, the last day of the month", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Tutor");
  await page.goto("/reminders/new");
  await hydrated(page);
  await page.getByTestId("account-choice").filter({ hasText: account.label }).click();
  await expect(page).toHaveURL(/\/message$/);
  await hydrated(page);
  await page.getByLabel("Name").fill("Homework club");
  await page.locator("#part-0-body").fill("Homework club starts soon");
  await next(page, "when");

  const { first, secondTuesday, lastDay } = monthAhead();
  const summary = page.getByTestId("schedule-summary");
  await page.getByTestId("repeat").check();
  await page.getByLabel("Time zone").fill("Europe/London");
  await page.getByLabel("Time zone").blur();
  await page.getByLabel("Starting on").fill(first.toISOString().slice(0, 10));
  await page.getByLabel("Time", { exact: true }).fill("09:00");

  // Every weekday: a weekly rule on Monday to Friday, shown in the weekday picker.
  await page.getByTestId("frequency").selectOption("weekdays");
  for (const day of ["Mon", "Tue", "Wed", "Thu", "Fri"]) await expect(page.getByTestId(`weekday-${day}`)).toBeChecked();
  await expect(page.getByTestId("weekday-Sat")).not.toBeChecked();
  await expect(summary).toHaveText("Every weekday (Mon to Fri) at 09:00 (Europe/London)");

  // Several times a day: a time RRULE cannot pair with 09:00 is refused with the reason.
  await page.getByTestId("extra-time").fill("17:30");
  await page.getByTestId("add-time").click();
  await expect(page.locator("#times-problem")).toContainText("The times of day must share their minutes");
  await page.getByTestId("extra-time").fill("17:00");
  await page.getByTestId("add-time").click();
  await expect(page.locator("#times-problem")).toHaveCount(0);
  await expect(page.getByTestId("extra-times").locator("li")).toHaveText(["17:00×"]);
  await expect(summary).toHaveText("Every weekday (Mon to Fri) at 09:00 and 17:00 (Europe/London)");
  const upcoming = page.getByTestId("upcoming").locator("li");
  await expect(upcoming.nth(0)).toHaveText(/, 09:00\b/);
  await expect(upcoming.nth(1)).toHaveText(/, 17:00\b/);

  // The 2nd Tuesday of each month, still twice that day.
  await page.getByTestId("frequency").selectOption("monthly");
  await page.getByTestId("month-on-weekday").check();
  await page.getByTestId("month-nth").selectOption("2");
  await page.getByTestId("month-weekday").selectOption("Tue");
  await expect(summary).toHaveText("Every month on the 2nd Tue at 09:00 and 17:00 (Europe/London)");
  await expect(upcoming.nth(0)).toHaveText(new RegExp(`^${label(secondTuesday)}, 09:00`));
  await expect(upcoming.nth(1)).toHaveText(new RegExp(`^${label(secondTuesday)}, 17:00`));
  await saveScreenshots(page, "wizard-presets");

  await next(page, "groups");
  await page.getByTestId("group-choice").first().click();
  await next(page, "review");
  await expect(page.getByTestId("review-summary")).toHaveText("Every month on the 2nd Tue at 09:00 and 17:00 (Europe/London)");
  await page.getByTestId("wizard-submit").click();
  await expect(page).toHaveURL(/\/reminders\/\d+$/);
  const detailUrl = page.url();
  await expect(page.getByTestId("summary")).toHaveText("Every month on the 2nd Tue at 09:00 and 17:00 (Europe/London)");
  // London's 09:00, with the operator's own time beside it when their clock reads otherwise.
  await expect(page.getByTestId("next-fire")).toHaveText(new RegExp(`^${label(secondTuesday)}, 09:00\\b`));

  // Reopened, the When step shows the rule as it was chosen; then it becomes the last day of
  // the month at 09:00 only.
  await hydrated(page);
  await page.getByTestId("edit-when").click();
  await expect(page).toHaveURL(/\/edit\/when$/);
  await hydrated(page);
  await expect(page.getByTestId("month-on-weekday")).toBeChecked();
  await expect(page.getByTestId("month-nth")).toHaveValue("2");
  await expect(page.getByTestId("month-weekday")).toHaveValue("Tue");
  await expect(page.getByTestId("extra-times").locator("li")).toHaveText(["17:00×"]);
  await page.getByTestId("month-on-last-day").check();
  await page.getByRole("button", { name: "Do not send at 17:00" }).click();
  await expect(page.getByTestId("extra-times").locator("li")).toHaveCount(0);
  await expect(summary).toHaveText("Every month on the last day at 09:00 (Europe/London)");
  await expect(upcoming.nth(0)).toHaveText(new RegExp(`^${label(lastDay)}, 09:00`));
  await page.getByTestId("step-review").click();
  await page.getByTestId("wizard-submit").click();
  await expect(page).toHaveURL(detailUrl);
  await expect(page.getByTestId("summary")).toHaveText("Every month on the last day at 09:00 (Europe/London)");
  await expect(page.getByTestId("next-fire")).toHaveText(new RegExp(`^${label(lastDay)}, 09:00\\b`));

  // In Tokyo's zone the same 09:00 is another time on the operator's clock, named beside it on
  // the reminder's page and in the wizard's list.
  await page.goto("/settings");
  const own = (await page.getByTestId("operator-timezone").textContent())!.trim();
  const tokyoNine = new Date(Date.UTC(lastDay.getUTCFullYear(), lastDay.getUTCMonth(), lastDay.getUTCDate(), 0, 0));
  const ownClock = new Intl.DateTimeFormat("en-GB", { timeZone: own, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(tokyoNine);
  await page.goto(detailUrl);
  await hydrated(page);
  await page.getByTestId("edit-when").click();
  await hydrated(page);
  await page.getByLabel("Time zone").fill("Asia/Tokyo");
  await page.getByLabel("Time zone").blur();
  if (own !== "Asia/Tokyo") {
    await expect(upcoming.nth(0).getByTestId("your-time")).toContainText("your time)");
  }
  await page.getByTestId("step-review").click();
  await page.getByTestId("wizard-submit").click();
  await expect(page).toHaveURL(detailUrl);
  await expect(page.getByTestId("next-fire")).toContainText(`${label(lastDay)}, 09:00`);
  if (own === "Asia/Tokyo") {
    await expect(page.getByTestId("next-fire-yours")).toHaveCount(0);
  } else {
    await expect(page.getByTestId("next-fire-yours")).toContainText(`${ownClock} your time)`);
  }
  expect(errors).toEqual([]);
});
