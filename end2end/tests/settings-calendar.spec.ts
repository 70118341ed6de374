import { expect, request, test } from "@playwright/test";
import ICAL from "ical.js";
import { signIn } from "./login";
import { dailyReminder, hydrated, pairedAccount, watchConsole } from "./fixtures";
import { saveScreenshots } from "./screenshots";

// The calendar link on a phone: made in Settings, read by a calendar library the way a calendar
// app subscribes (no cookies), and revoked.

test.use({ viewport: { width: 390, height: 844 } });

test("a calendar link lists the sends to come for a calendar app, until revoked", async ({ page }) => {
  test.setTimeout(120_000);
  const errors = watchConsole(page);
  await signIn(page);
  const account = await pairedAccount(page, "Florist");
  const reminder = dailyReminder(account.label);

  await page.goto("/settings");
  await hydrated(page);
  const card = page.getByTestId("calendar-feed");
  await card.getByTestId("calendar-create").click();
  const link = card.getByTestId("calendar-url");
  await expect(link).toBeVisible();
  const url = await link.inputValue();
  expect(url).toMatch(/\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
  await expect(card.getByTestId("calendar-status")).toContainText("A link is active");
  await expect(card.getByTestId("calendar-status")).toContainText("no calendar has read it yet");
  await saveScreenshots(page, "settings-calendar");

  // A calendar app: its own client, no session.
  const calendarApp = await request.newContext();
  const response = await calendarApp.get(url);
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toBe("text/calendar; charset=utf-8");
  const calendar = new ICAL.Component(ICAL.parse(await response.text()));
  expect(calendar.getFirstPropertyValue("version")).toBe("2.0");
  const events = calendar
    .getAllSubcomponents("vevent")
    .map((vevent) => new ICAL.Event(vevent))
    .filter((event) => String(event.component.getFirstPropertyValue("url")).endsWith(`/reminders/${reminder.reminder_id}`));
  // Daily at 17:30 UTC from tomorrow, for the 60 days the feed covers.
  expect(events.length).toBeGreaterThanOrEqual(59);
  for (const event of events) {
    expect(event.summary).toBe(`${reminder.name} → 2 groups`);
    expect(event.description).toContain(`Sent by ${account.label} to 2 groups.`);
    const start = event.startDate.toJSDate();
    expect([start.getUTCHours(), start.getUTCMinutes()]).toEqual([17, 30]);
    expect(event.endDate.toJSDate().getTime()).toBeGreaterThan(start.getTime());
  }
  const starts = events.map((event) => event.startDate.toJSDate().getTime());
  expect(new Set(starts).size).toBe(events.length);
  expect(new Set(events.map((event) => event.uid)).size).toBe(events.length);

  // The page says a calendar has read it; revoked, the app gets nothing more.
  await page.reload();
  await hydrated(page);
  await expect(card.getByTestId("calendar-status")).toContainText("a calendar last read it");
  await card.getByTestId("calendar-revoke").click();
  await expect(card.getByTestId("calendar-revoked")).toBeVisible();
  await expect(card.getByTestId("calendar-status")).toHaveText("No calendar link.");
  expect((await calendarApp.get(url)).status()).toBe(404);
  await calendarApp.dispose();
  expect(errors).toEqual([]);
});
