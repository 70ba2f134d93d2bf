// Swagger UI as a person uses it, in headless Debian Chromium driven by playwright-core:
// open /docs, check every operation of the spec is listed under its tag, Authorize with the bearer
// token, then "Try it out" -> Execute createInvitation (201) and listInvitations (200) with the
// x-org-id header filled in. Saves a screenshot to $E2E_SCREENSHOT.
//
// Env: E2E_BASE_URL, E2E_TOKEN, E2E_ORG, E2E_SPEC (path of the spec file), E2E_SCREENSHOT.
import { readFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const baseUrl = env("E2E_BASE_URL");
const token = env("E2E_TOKEN");
const org = env("E2E_ORG");
const spec = JSON.parse(readFileSync(env("E2E_SPEC"), "utf8"));
const screenshot = env("E2E_SCREENSHOT");
const ok = (what) => console.log(`  ok  ${what}`);

// Swagger UI gives each operation the DOM id `operations-<tag>-<operationId>`.
const opId = (tag, operationId) => `operations-${tag.replace(/\s/g, "_")}-${operationId}`;
const selector = (id) => `[id="${id}"]`;

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const operations = [];
for (const [path, item] of Object.entries(spec.paths)) {
  for (const method of METHODS) {
    const op = item[method];
    if (op) operations.push({ path, method, tag: op.tags?.[0] ?? "default", operationId: op.operationId });
  }
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let failed = false;
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
page.setDefaultTimeout(15000);
const consoleErrors = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(String(e)));
page.on("response", (r) => {
  if (r.status() >= 400 && !r.url().includes("/api/v1/")) consoleErrors.push(`${r.status()} ${r.url()}`);
});

try {
  const resp = await page.goto(`${baseUrl}/docs`, { waitUntil: "load" });
  if (!resp || resp.status() !== 200) throw new Error(`GET /docs -> ${resp?.status()}`);
  await page.waitForSelector(".swagger-ui .information-container .title");
  ok(`/docs rendered "${(await page.textContent(".information-container .title"))?.trim()}"`);

  // Every operation of the spec, under its tag section.
  for (const { path, method, tag, operationId } of operations) {
    const section = page.locator(`.opblock-tag-section:has(h3.opblock-tag[data-tag="${tag}"])`);
    const block = section.locator(selector(opId(tag, operationId)));
    await block.waitFor({ state: "visible" });
    const shownPath = (await block.locator(".opblock-summary-path").getAttribute("data-path")) ?? "";
    const shownMethod = ((await block.locator(".opblock-summary-method").textContent()) ?? "").toLowerCase();
    if (shownPath !== path || shownMethod !== method) {
      throw new Error(`${operationId}: shown as ${shownMethod} ${shownPath}, expected ${method} ${path}`);
    }
  }
  ok(`all ${operations.length} operations listed under their tags`);

  // Authorize with the bearer token.
  await page.click(".scheme-container button.authorize");
  const dialog = page.locator(".dialog-ux .modal-ux");
  await dialog.waitFor();
  await dialog.locator(".auth-container input").first().fill(token);
  await dialog.locator(".auth-btn-wrapper button.authorize").click();
  await dialog.locator(".auth-btn-wrapper button.btn-done, .auth-btn-wrapper button.close-modal").first().click();
  await dialog.waitFor({ state: "detached" });
  ok("authorized with the bearer token");

  const tryOut = async (tag, operationId, fill, expected) => {
    const block = page.locator(selector(opId(tag, operationId)));
    await block.locator(".opblock-summary").first().click();
    await block.locator("button.try-out__btn").click();
    await block.locator('tr[data-param-name="x-org-id"] input').fill(org);
    if (fill) await fill(block);
    await block.locator("button.execute").click();
    const status = block.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor();
    const text = ((await status.textContent()) ?? "").trim();
    const body = ((await block.locator(".live-responses-table .response-col_description pre").first().textContent()) ?? "").trim();
    if (!text.startsWith(String(expected))) {
      throw new Error(`${operationId}: Try it out showed ${text}, expected ${expected}; body ${body.slice(0, 300)}`);
    }
    ok(`${operationId}: Try it out -> Execute rendered ${expected}`);
    return { block, body };
  };

  const email = `swagger-${Date.now().toString(36)}@example.com`;
  const created = await tryOut(
    "Invitations",
    "createInvitation",
    async (block) => {
      await block.locator("textarea.body-param__text").fill(JSON.stringify({ email, role: "VIEWER" }, null, 2));
    },
    201,
  );
  if (!created.body.includes(email)) throw new Error(`createInvitation response does not show ${email}`);
  const listed = await tryOut("Invitations", "listInvitations", null, 200);
  if (!listed.body.includes(email)) throw new Error(`listInvitations response does not show ${email}`);
  ok("created invitation appears in the listed page");
  // Bring the rendered list response into view for the screenshot.
  await listed.block.locator(".live-responses-table").scrollIntoViewIfNeeded();
} catch (e) {
  failed = true;
  console.error(`swagger ui: ${e instanceof Error ? e.message : e}`);
} finally {
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
  console.log(`  screenshot: ${screenshot}`);
  if (consoleErrors.length) console.log(`  browser console errors: ${consoleErrors.slice(0, 5).join(" | ")}`);
  await browser.close();
}
if (failed) process.exit(1);
console.log("swagger ui: all checks passed");
