import { expect, test, type Page } from "@playwright/test";
import { hydrated, watchConsole } from "./fixtures";
import { signIn } from "./login";

/** Adds an account through the Accounts page and returns its id. */
async function addAccount(page: Page, label: string): Promise<string> {
  await page.goto("/accounts");
  await hydrated(page);
  await page.getByTestId("add-account-label").fill(label);
  await page.getByTestId("add-account-submit").click();
  await expect(page.getByTestId("add-account-added")).toContainText(label);
  const href = await page.getByRole("link", { name: label, exact: true }).getAttribute("href");
  const id = href?.match(/^\/accounts\/(\d+)$/)?.[1];
  expect(id, `account link ${href}`).toBeTruthy();
  return id!;
}

/** The action codes of the rows shown, top to bottom. */
async function actionsShown(page: Page): Promise<string[]> {
  return page.getByTestId("audit-action").allTextContents();
}

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("the log reads as sentences with names: the sign-in and an added account, newest first, where from and what", async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page);
    const label = `Audit-${Date.now()}`;
    const id = await addAccount(page, label);

    // Through the navigation drawer, as on a phone.
    await page.getByRole("button", { name: "Open menu" }).click();
    await page.getByRole("navigation", { name: "Primary" }).getByRole("link", { name: "Audit log" }).click();
    await expect(page).toHaveURL(/\/audit$/);
    await expect(page.getByRole("heading", { level: 1, name: "Audit log" })).toBeVisible();

    const rows = page.getByTestId("audit-row");
    const added = rows.first();
    await expect(added.getByTestId("audit-action")).toHaveText("account.added");
    await expect(added.getByTestId("audit-sentence")).toHaveText(`You added the account “${label}”.`);
    // The recorded detail is there, folded away.
    await expect(added.getByTestId("audit-detail")).toBeHidden();
    await added.getByText("Recorded detail").click();
    await expect(added.getByTestId("audit-detail")).toContainText(`"label":"${label}"`);
    const target = added.getByRole("link", { name: `“${label}”` });
    await expect(target).toHaveAttribute("href", `/accounts/${id}`);

    // The sign-in came just before, from this browser's address.
    const login = rows.nth(1);
    await expect(login.getByTestId("audit-action")).toHaveText("login");
    await expect(login.getByTestId("audit-sentence")).toHaveText("You signed in.");
    await expect(login.getByTestId("audit-ip")).toHaveText("127.0.0.1");
    await expect(page.getByTestId("audit-summary")).toContainText("newest first");

    // Stacked rows: nothing runs off the side of a phone screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);

    await target.click();
    await expect(page).toHaveURL(new RegExp(`/accounts/${id}$`));
    await expect(page.getByRole("heading", { level: 1, name: label })).toBeVisible();
    expect(errors).toEqual([]);
  });
});

test("the action filter narrows the list and survives a reload; a target link shows one account's history", async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page);
  const label = `Filter-${Date.now()}`;
  const id = await addAccount(page, label);

  await page.goto("/audit");
  await hydrated(page);
  expect(await actionsShown(page)).toEqual(expect.arrayContaining(["account.added", "login"]));

  const filter = page.getByLabel("Action", { exact: true });
  await filter.selectOption("login");
  await page.getByTestId("audit-apply").click();
  await expect(page).toHaveURL(/\/audit\?action=login$/);
  await expect.poll(() => actionsShown(page)).not.toContain("account.added");
  const logins = await actionsShown(page);
  expect(logins.length).toBeGreaterThan(0);
  expect(new Set(logins)).toEqual(new Set(["login"]));

  await page.reload();
  await hydrated(page);
  await expect(page).toHaveURL(/\/audit\?action=login$/);
  await expect(page.getByLabel("Action", { exact: true })).toHaveValue("login");
  expect(new Set(await actionsShown(page))).toEqual(new Set(["login"]));

  await page.getByTestId("audit-clear").click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect.poll(() => actionsShown(page)).toContain("account.added");

  // What another page links to: one target's entries, with the form showing the filter.
  await page.goto(`/audit?target=account:${id}`);
  await hydrated(page);
  await expect(page.getByLabel("About", { exact: true })).toHaveValue("account");
  await expect(page.getByLabel("Id", { exact: true })).toHaveValue(id);
  const targets = await page.getByTestId("audit-target").allTextContents();
  expect(targets).toEqual([`“${label}”`]);
  expect(await actionsShown(page)).toEqual(["account.added"]);

  // A filter nothing matches says so.
  await page.getByLabel("Action", { exact: true }).selectOption("login");
  await page.getByTestId("audit-apply").click();
  await expect(page).toHaveURL(new RegExp(`/audit\\?action=login&target=account:${id}$`));
  await expect(page.getByTestId("audit-empty")).toContainText("No entries match these filters");
  expect(errors).toEqual([]);
});
