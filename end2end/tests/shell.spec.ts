import { expect, test, type Page } from "@playwright/test";
import { signIn } from "./login";

// Collects console errors and uncaught exceptions; a hydration mismatch shows up here.
function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(err.message));
  return errors;
}

async function hydrated(page: Page) {
  // The layout marks <body> once the wasm bundle has taken over the server-rendered DOM.
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

test.describe("on a phone", () => {
  test.use({ viewport: { width: 390, height: 844 } });

  test("the dashboard renders on the server and hydrates without console errors", async ({ page }) => {
    const errors = watchConsole(page);
    await signIn(page);
    const response = await page.goto("/");
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle("Dashboard · Herald");
    await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
    await hydrated(page);

    // The navigation is a drawer; its button only responds once the wasm has hydrated the page.
    await expect(page.getByRole("link", { name: "System" })).toBeHidden();
    const toggle = page.getByRole("button", { name: "Open menu" });
    await expect(toggle).toHaveAttribute("aria-expanded", "false");
    await toggle.click();
    await expect(page.getByRole("button", { name: "Close menu" })).toHaveAttribute("aria-expanded", "true");
    await expect(page.getByRole("link", { name: "System" })).toBeVisible();

    // Following a link closes the drawer again.
    await page.getByRole("link", { name: "System" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "System" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Open menu" })).toHaveAttribute("aria-expanded", "false");

    expect(errors).toEqual([]);
  });
});

test("on a desktop the navigation is always shown and the menu button is not", async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await signIn(page);
  await hydrated(page);
  await expect(page.getByRole("navigation", { name: "Primary" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Open menu" })).toBeHidden();
});

test("client-side navigation reaches the System page, whose server function answers", async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page);
  await hydrated(page);
  let fullLoads = 0;
  page.on("load", () => fullLoads++);

  await page.getByRole("link", { name: "System" }).click();
  await expect(page).toHaveURL(/\/system$/);
  await expect(page.getByRole("heading", { level: 1, name: "System" })).toBeVisible();
  await expect(page.getByTestId("database-status")).toHaveText("OK");
  await expect(page.getByTestId("version")).toHaveText(/^\d+\.\d+\.\d+/);
  // The one worker, named by WORKER_ID, runs maintenance and every account.
  await expect(page.getByTestId("worker-name")).toHaveText(["e2e-worker"]);
  await expect(page.getByTestId("workers")).toContainText("Maintenance");
  // What delivery is doing: sessions by status, the job queue, the last fire.
  await expect(page.getByTestId("sessions")).toHaveText(/^(None yet|\d+ [a-z ]+(, \d+ [a-z ]+)*)$/);
  await expect(page.getByTestId("job-queue")).toHaveText(/^\d+ waiting(, \d+ failed)?$/);
  await expect(page.getByTestId("last-fire")).toHaveText(/^(None yet|\w{3} \d+ \w{3} \d{4}, \d\d:\d\d: .+)$/);
  expect(fullLoads).toBe(0);

  await page.getByRole("button", { name: "Check again" }).click();
  await expect(page.getByTestId("check-count")).toHaveText("Checks this visit: 2");
  await expect(page.getByTestId("database-status")).toHaveText("OK");
  expect(errors).toEqual([]);
});

test("an unknown address gets a 404 page inside the layout", async ({ page }) => {
  await signIn(page);
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Back to the dashboard" })).toBeVisible();
});

test("the health endpoint reports the database", async ({ request }) => {
  const response = await request.get("/api/health");
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.status).toBe("ok");
  expect(body.database).toBe("ok");
  expect(body.database_backend).toBe("sqlite");
  expect(typeof body.uptime_secs).toBe("number");
  expect(body.commit).toMatch(/\S+/);
});
