import { expect, test, type Page } from "@playwright/test";
import { hydrated, watchConsole } from "./fixtures";
import { signIn } from "./login";

// The stack under test runs the simulated WhatsApp provider (WA_PROVIDER=sim) with a small
// SIM_TIME_SCALE, so a pairing, a group sync and a test send each take moments.

async function openAccounts(page: Page) {
  await signIn(page);
  await page.goto("/accounts");
  await expect(page.getByRole("heading", { level: 1, name: "Accounts" })).toBeVisible();
  await hydrated(page);
}

async function addAccount(page: Page, label: string) {
  await page.getByTestId("add-account-label").fill(label);
  await page.getByTestId("add-account-submit").click();
}

function accountRow(page: Page, label: string) {
  return page.getByTestId("account-row").filter({ has: page.getByRole("link", { name: label, exact: true }) });
}

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("add a simulated account, pair it by scanning its QR code, and send a test message", async ({ page }) => {
    test.setTimeout(120_000);
    const errors = watchConsole(page);
    await openAccounts(page);

    const label = `Bakery-${Date.now()}`;
    await addAccount(page, label);
    const row = accountRow(page, label);
    await expect(row).toBeVisible({ timeout: 15000 });
    await expect(row.getByTestId("account-status")).toHaveText("Not paired");
    await expect(row.getByTestId("simulated-tag")).toHaveText("Simulated");

    await row.getByRole("link", { name: label, exact: true }).click();
    await expect(page).toHaveURL(/\/accounts\/\d+$/);
    await expect(page.getByRole("heading", { level: 1, name: label })).toBeVisible();
    await expect(page.getByTestId("simulated-tag")).toBeVisible();

    // Pair: the dialog opens with focus inside, then shows a code that really loads.
    await page.getByTestId("pair-button").click();
    const modal = page.getByRole("dialog", { name: `Pair “${label}”` });
    await expect(modal).toBeVisible();
    await expect(modal).toHaveAttribute("aria-modal", "true");
    await expect(modal).toBeFocused();
    const qr = modal.getByTestId("qr-image");
    await expect(qr).toBeVisible({ timeout: 15000 });
    await expect(qr).toHaveAttribute("alt", "WhatsApp pairing QR code");
    await expect
      .poll(() => qr.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0)), { timeout: 15000 })
      .toBeGreaterThan(0);
    await expect(modal.getByTestId("qr-countdown")).toHaveText(/Expires in \d+ s|Expired/);
    await expect(modal.getByTestId("qr-save")).toHaveAttribute("download", `herald-${label}-qr.png`);

    await modal.getByTestId("simulate-scan").click();
    await expect(modal.getByTestId("qr-phase")).toHaveText(/^Connected ✓ as \+\d+$/, { timeout: 15000 });
    await modal.getByTestId("qr-modal-close").click();
    await expect(modal).toBeHidden();
    await expect(page.getByTestId("account-status")).toHaveText("Connected", { timeout: 15000 });
    await expect(page.getByTestId("account-phone")).toHaveText(/^\+\d+$/);
    await expect(page.getByTestId("pair-button")).toHaveText("Re-pair");

    // The worker syncs the groups after connecting; the live stream refreshes the table.
    const groups = page.getByTestId("groups-table");
    await expect(groups.getByTestId("group-row").first()).toBeVisible({ timeout: 15000 });

    const picker = page.getByTestId("send-test-group");
    const firstGroup = await picker.locator("option").first().getAttribute("value");
    await picker.selectOption(firstGroup!);
    await expect(page.getByTestId("send-test-text")).toHaveValue("Test message from Herald");
    await page.getByTestId("send-test-submit").click();
    await expect(page.getByTestId("send-test-result")).toHaveText("sent ✓", { timeout: 15000 });

    expect(errors).toEqual([]);
  });

  test("pair a simulated account by phone number: a bad number is explained, a good one gets a code", async ({
    page,
  }) => {
    test.setTimeout(120_000);
    const errors = watchConsole(page);
    await openAccounts(page);
    const label = `Tailor-${Date.now()}`;
    await addAccount(page, label);
    await accountRow(page, label).getByRole("link", { name: label, exact: true }).click();
    await expect(page).toHaveURL(/\/accounts\/\d+$/);
    const id = Number(new URL(page.url()).pathname.split("/").pop());
    await hydrated(page);

    await page.getByTestId("pair-button").click();
    const modal = page.getByRole("dialog", { name: `Pair “${label}”` });
    await expect(modal.getByTestId("qr-image")).toBeVisible({ timeout: 15000 });
    await modal.getByTestId("pair-by-phone").click();
    const phone = modal.getByLabel("Phone number");
    await expect(phone).toBeFocused();
    await expect(phone).toHaveAttribute("type", "tel");

    // A number WhatsApp could not use is explained beside the field, and nothing is asked for.
    await phone.fill("12ab");
    await modal.getByTestId("pair-phone-submit").click();
    const problem = modal.getByTestId("pair-phone-problem");
    await expect(problem).toHaveText(/international form, with its country code/);
    await expect(problem).toHaveAttribute("role", "alert");
    await expect(phone).toHaveAttribute("aria-invalid", "true");
    await expect(phone).toHaveAttribute("aria-describedby", /pair-phone-problem/);

    // A fresh number per run, so a retry on the same stack is not "already linked".
    const digits = `4477009${String(Date.now()).slice(-5)}`;
    await phone.fill(`+${digits.slice(0, 2)} ${digits.slice(2, 6)} ${digits.slice(6)}`);
    await modal.getByTestId("pair-phone-submit").click();
    const code = modal.getByTestId("pair-code");
    await expect(code).toHaveText(/^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$/, { timeout: 15000 });
    const shown = await code.textContent();
    await expect(modal.getByTestId("qr-phase")).toHaveText("Enter this code on the phone");
    await expect(modal).toContainText(`Open WhatsApp on the phone with the number +${digits}.`);
    await expect(modal).toContainText("Settings → Linked devices → Link a device");
    await expect(modal).toContainText("Link with phone number instead");
    await expect(modal.getByTestId("qr-countdown")).toHaveText(/Expires in \d+ s/);
    await expect(modal.getByTestId("qr-image")).toHaveCount(0);

    // A refresh comes back to the same code, though QR codes kept rotating behind it.
    await page.reload();
    await hydrated(page);
    await expect(modal.getByTestId("pair-code")).toHaveText(shown!, { timeout: 15000 });

    // The phone enters the code: the simulator's scan, as the number asked for.
    const scan = await fetch(`${process.env.WORKER_URL}/sim/accounts/${id}/scan`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(scan.status).toBe(204);
    await expect(modal.getByTestId("qr-phase")).toHaveText(`Connected ✓ as +${digits}`, { timeout: 15000 });
    await modal.getByTestId("qr-modal-close").click();
    await expect(page.getByTestId("account-status")).toHaveText("Connected", { timeout: 15000 });
    await expect(page.getByTestId("account-phone")).toHaveText(`+${digits}`);

    expect(errors).toEqual([]);
  });

  test("the add form explains a blank and a duplicate name, and stops a long one at its limit", async ({ page }) => {
    const errors = watchConsole(page);
    await openAccounts(page);
    const error = page.getByTestId("add-account-error");

    await addAccount(page, "   ");
    await expect(error).toHaveText("Give the account a name.");
    await expect(error).toHaveAttribute("role", "alert");

    const label = `Yoga-${Date.now()}`;
    await addAccount(page, label);
    await expect(accountRow(page, label)).toBeVisible({ timeout: 15000 });
    await expect(page.getByTestId("add-account-label")).toHaveValue("");

    await addAccount(page, label);
    await expect(error).toHaveText(`You already have an account called “${label}”.`);
    await expect(accountRow(page, label)).toHaveCount(1);
    // Names are one regardless of case.
    await addAccount(page, label.toUpperCase());
    await expect(error).toHaveText(`You already have an account called “${label}”.`);
    await expect(accountRow(page, label.toUpperCase())).toHaveCount(0);

    // A refusal goes as soon as the name is being fixed.
    await page.getByTestId("add-account-label").fill(`${label} 2`);
    await expect(error).toHaveCount(0);
    // The field stops at the limit as it is typed.
    await page.getByTestId("add-account-label").fill("");
    await page.getByTestId("add-account-label").pressSequentially("x".repeat(66));
    await expect(page.getByTestId("add-account-label")).toHaveValue("x".repeat(64));

    expect(errors).toEqual([]);
  });

  test("deleting an account names what goes and what stays, then returns to the list", async ({ page }) => {
    const errors = watchConsole(page);
    await openAccounts(page);
    const label = `Florist-${Date.now()}`;
    await addAccount(page, label);
    await accountRow(page, label).getByRole("link", { name: label, exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name: label })).toBeVisible();
    await expect(page.getByTestId("unpair-button")).toBeHidden();
    await expect(page.getByTestId("sync-groups")).toBeHidden();

    await page.getByTestId("delete-button").click();
    const dialog = page.getByRole("dialog", { name: `Delete “${label}”?` });
    await expect(dialog).toBeVisible();
    await expect(dialog.getByTestId("delete-impact")).toContainText("its list of 0 groups");
    await expect(dialog.getByTestId("delete-impact")).toContainText("0 reminders");
    await expect(dialog).toContainText("run history");

    // Esc backs out without deleting.
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(page.getByTestId("delete-button")).toBeFocused();

    await page.getByTestId("delete-button").click();
    await dialog.getByTestId("delete-confirm").click();
    await expect(page).toHaveURL(/\/accounts$/);
    await expect(page.getByRole("heading", { level: 1, name: "Accounts" })).toBeVisible();
    await expect(accountRow(page, label)).toHaveCount(0);

    expect(errors).toEqual([]);
  });
});

// A phone's own screen cannot show a QR code to itself: there, pairing starts with the phone's
// number. (The tests above run at a phone's width with a mouse, like a narrow desktop window, and
// start with the QR code.)
test.describe("on a touch phone", () => {
  test.use({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

  test("pairing leads with the phone number; a QR code is one tap away", async ({ page }) => {
    test.setTimeout(120_000);
    const errors = watchConsole(page);
    await openAccounts(page);
    const label = `Cobbler-${Date.now()}`;
    await addAccount(page, label);
    await accountRow(page, label).getByRole("link", { name: label, exact: true }).click();
    await expect(page).toHaveURL(/\/accounts\/\d+$/);
    await hydrated(page);
    await expect(page.getByTestId("pair-button")).toHaveClass(/^button$/);

    await page.getByTestId("pair-button").click();
    const modal = page.getByRole("dialog", { name: `Pair “${label}”` });
    await expect(modal.getByTestId("qr-phase")).toHaveText("Link with a phone number");
    await expect(modal.getByLabel("Phone number")).toBeFocused();
    await expect(modal.getByTestId("qr-image")).toHaveCount(0);

    // The QR code when the operator has another screen at hand.
    await modal.getByTestId("pair-by-qr").click();
    await expect(modal.getByTestId("qr-image")).toBeVisible({ timeout: 15000 });
    await modal.getByTestId("simulate-scan").click();
    await expect(modal.getByTestId("qr-phase")).toHaveText(/^Connected ✓ as \+\d+$/, { timeout: 15000 });
    await modal.getByTestId("qr-modal-close").click();

    // A working account's Re-pair is a secondary action, and Delete is quieter still.
    await expect(page.getByTestId("account-status")).toHaveText("Connected", { timeout: 15000 });
    await expect(page.getByTestId("pair-button")).toHaveText("Re-pair");
    await expect(page.getByTestId("pair-button")).toHaveClass(/button-secondary/);
    await expect(page.getByTestId("delete-button")).toHaveClass(/button-quiet-danger/);
    expect(errors).toEqual([]);
  });
});

test("another operator's or a missing account id says there is no such account", async ({ page }) => {
  await signIn(page);
  await page.goto("/accounts/999999999");
  await expect(page.getByRole("alert")).toHaveText("No such account.");
  await expect(page.getByRole("link", { name: "Back to your accounts" })).toBeVisible();
});
