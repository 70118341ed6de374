import { expect, test } from "@playwright/test";
import { loginLink, signIn } from "./login";

test("without a session the dashboard sends you to the login page, which explains how to get in", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Sign in to Herald" })).toBeVisible();
  await expect(page.getByText("herald-server login-link")).toBeVisible();
});

test("a CLI link signs in, Settings lists this device, signing out returns to the login page", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await signIn(page);

  await page.goto("/settings");
  await expect(page.getByTestId("operator-name")).toHaveText("Local operator");
  await expect(page.getByTestId("sessions").getByText("This device")).toBeVisible();

  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/login$/);
  expect(errors).toEqual([]);
});

test("a link works once; the second visit explains what to do", async ({ page, browser }) => {
  const link = loginLink();
  await page.goto(link);
  await expect(page).toHaveURL(/\/$/);

  const other = await browser.newPage();
  await other.goto(link);
  await expect(other).toHaveURL(/\/login\?link=invalid$/);
  await expect(other.getByRole("alert")).toHaveText(/expired or was already used\. Get a new one as below\./);
  await other.close();
});
