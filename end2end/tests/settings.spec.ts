import { expect, test, type Page } from "@playwright/test";
import { watchConsole } from "./fixtures";
import { signIn } from "./login";

async function openSettings(page: Page): Promise<string> {
  await signIn(page);
  await page.goto("/settings");
  await expect(page.getByRole("heading", { level: 1, name: "Settings" })).toBeVisible();
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
  return (await page.getByTestId("operator-timezone").textContent()) ?? "";
}

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("a new time zone sticks after a reload, is audited, and the audit log shows times in it", async ({ page }) => {
    const errors = watchConsole(page);
    const before = await openSettings(page);
    const zone = before === "Asia/Kuala_Lumpur" ? "America/Argentina/Buenos_Aires" : "Asia/Kuala_Lumpur";
    // The field suggests every zone Herald knows.
    await expect(page.locator("#timezone-names option")).not.toHaveCount(0);
    await expect(page.locator('#timezone-names option[value="Europe/London"]')).toHaveCount(1);

    const field = page.getByLabel("Change time zone");
    await expect(field).toHaveValue(before);
    await field.fill(zone);
    await page.getByRole("button", { name: "Save time zone" }).click();
    await expect(page.getByTestId("timezone-saved")).toHaveText(`Saved: Herald now shows your times in ${zone}.`);
    await expect(page.getByTestId("operator-timezone")).toHaveText(zone);

    await page.reload();
    await expect(page.getByTestId("operator-timezone")).toHaveText(zone);
    await expect(page.getByLabel("Change time zone")).toHaveValue(zone);
    // Signing out is still here, and this device's session is shown on the new clock.
    await expect(page.getByRole("button", { name: "Sign out", exact: true })).toBeVisible();
    const minutes = [0, -60_000, -120_000].map((ago) =>
      new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(
        new Date(Date.now() + ago),
      ),
    );
    const thisDevice = page.getByTestId("sessions").locator("li").filter({ hasText: "This device" });
    await expect(thisDevice).toContainText(new RegExp(`Signed in \\d{4}-\\d\\d-\\d\\d (${minutes.join("|")}) ·`));

    await page.goto("/audit?action=operator.timezone_changed");
    const entry = page.getByTestId("audit-row").first();
    await expect(entry.getByTestId("audit-detail")).toHaveText(`{"from":"${before}","to":"${zone}"}`);
    await expect(entry.getByTestId("audit-sentence")).toHaveText(`You changed the time zone from ${before} to ${zone}.`);
    await expect(page.getByTestId("audit-summary")).toContainText(`times in ${zone}`);
    expect(errors).toEqual([]);
  });
});

test("an unknown or blank time zone is refused with a message, and the saved one stays", async ({ page }) => {
  const errors = watchConsole(page);
  const before = await openSettings(page);
  const field = page.getByLabel("Change time zone");
  const error = page.getByTestId("timezone-error");

  await field.fill("Mars/Olympus");
  await page.getByRole("button", { name: "Save time zone" }).click();
  await expect(error).toHaveText(
    "“Mars/Olympus” is not a time zone Herald knows. Pick one from the list, such as Europe/London.",
  );
  await expect(error).toHaveAttribute("role", "alert");
  // What was typed stays for correcting; the saved zone is unchanged.
  await expect(field).toHaveValue("Mars/Olympus");
  await expect(page.getByTestId("operator-timezone")).toHaveText(before);

  await field.fill("   ");
  await page.getByRole("button", { name: "Save time zone" }).click();
  await expect(error).toHaveText("Choose a time zone, such as Europe/London.");

  await page.reload();
  await expect(page.getByTestId("operator-timezone")).toHaveText(before);
  expect(errors).toEqual([]);
});
