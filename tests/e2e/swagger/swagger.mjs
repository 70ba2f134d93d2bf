// Swagger UI as a person uses it, in headless Debian Chromium driven by playwright-core:
// open /docs, check every operation of the spec is listed under its tag, Authorize with the bearer
// token (pasted once), then "Try it out" -> Execute createInvitation exactly as prefilled from the
// spec's examples (nothing typed into the x-org-id field or the body: 201), and listInvitations
// (200, showing the invitation just created). Saves a screenshot to $E2E_SCREENSHOT.
//
// Through Prism: the page and the spec come from the server itself (E2E_BASE_URL), because /docs
// and /openapi.json are not operations of the spec and Prism's proxy refuses routes the spec does
// not have. Swagger UI sends "Try it out" requests to the spec's server url `/`, i.e. back to the
// page's origin; every such request for /api/... is intercepted by Playwright (page.route), sent
// on to the Prism validating proxy at E2E_API_URL (which forwards it to the server and checks both
// directions), and Prism's answer is handed back to the page as the response: the page cannot tell,
// so there is no CORS or redirect in between.
// Without E2E_API_URL the calls go to the server directly.
//
// Env: E2E_BASE_URL, E2E_TOKEN, E2E_ORG (the organization the token's user administers, which must
// be the spec's x-org-id example), E2E_SPEC (path of the spec file), E2E_SCREENSHOT, E2E_API_URL.
import { readFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { isDeepStrictEqual } from "node:util";
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
const apiUrl = process.env.E2E_API_URL || "";
const ok = (what) => console.log(`  ok  ${what}`);

// Swagger UI gives each operation the DOM id `operations-<tag>-<operationId>`.
const opId = (tag, operationId) => `operations-${tag.replace(/\s/g, "_")}-${operationId}`;
const selector = (id) => `[id="${id}"]`;

// Up to `max` JSON pointers to where a and b differ, for the report.
const differences = (a, b, path = "", out = [], max = 8) => {
  if (out.length >= max || isDeepStrictEqual(a, b)) return out;
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      differences(a[k], b[k], `${path}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`, out, max);
    }
  } else {
    out.push(`#${path}`);
  }
  return out;
};

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
const problems = []; // failures that do not stop the remaining checks
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
// The API calls of "Try it out", rerouted to Prism (see the top of this file).
const routed = [];
if (apiUrl) {
  const origin = new URL(baseUrl).origin;
  await page.route(
    (url) => url.origin === origin && url.pathname.startsWith("/api/"),
    async (route) => {
      const url = new URL(route.request().url());
      const target = `${apiUrl.replace(/\/$/, "")}${url.pathname}${url.search}`;
      routed.push(`${route.request().method()} ${url.pathname}${url.search}`);
      // Sent from Playwright with the browser's method, headers and body, answered to the page as
      // if from its own origin. (route.continue with the new url would make Chromium treat it as a
      // cross-origin request, which its local-network access checks block.)
      const response = await route.fetch({ url: target, maxRedirects: 0 });
      await route.fulfill({ response });
    },
  );
}

try {
  const resp = await page.goto(`${baseUrl}/docs`, { waitUntil: "load" });
  if (!resp || resp.status() !== 200) throw new Error(`GET /docs -> ${resp?.status()}`);
  await page.waitForSelector(".swagger-ui .information-container .title");
  ok(`/docs rendered "${(await page.textContent(".information-container .title"))?.trim()}"`);

  // The spec Swagger UI renders must be the served one. poem-openapi's page embeds its spec in the
  // page as the global `spec` (instead of loading /openapi.json), so compare that copy.
  const shown = await page.evaluate(() => (typeof spec === "object" ? spec : null)); // the page's `spec`
  if (shown === null) {
    ok("/docs does not embed a spec of its own");
  } else if (isDeepStrictEqual(shown, spec)) {
    ok("the spec embedded in /docs is the spec under test");
  } else {
    problems.push(
      `the spec embedded in /docs (what Swagger UI renders) differs from the spec under test at ${differences(shown, spec).join(", ")}`,
    );
  }

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

  // Try it out -> Execute, with whatever the form holds after `prepare` (if any) has run.
  const tryOut = async (tag, operationId, prepare, expected) => {
    const block = page.locator(selector(opId(tag, operationId)));
    await block.locator(".opblock-summary").first().click();
    await block.locator("button.try-out__btn").click();
    if (prepare) await prepare(block);
    const before = routed.length;
    await block.locator("button.execute").click();
    const status = block.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor();
    const text = ((await status.textContent()) ?? "").trim();
    const body = ((await block.locator(".live-responses-table .response-col_description pre").first().textContent()) ?? "").trim();
    if (apiUrl && routed.length === before) throw new Error(`${operationId}: the request did not go through Prism`);
    if (!text.startsWith(String(expected))) {
      throw new Error(`${operationId}: Try it out showed ${text}, expected ${expected}; body ${body.slice(0, 600)}`);
    }
    ok(`${operationId}: Try it out -> Execute rendered ${expected}${apiUrl ? " (through Prism)" : ""}`);
    return { block, body };
  };

  // createInvitation exactly as Swagger UI prefills it from the spec's examples: the x-org-id
  // example must be the organization the token's user administers (run.sh bootstraps it from that
  // example), and the body example must be an invitation that can be created.
  const createOp = operations.find((o) => o.operationId === "createInvitation");
  const orgParam = (spec.paths[createOp?.path ?? ""]?.post?.parameters ?? []).find(
    (p) => p.in === "header" && p.name.toLowerCase() === "x-org-id",
  );
  // Where Swagger UI takes the prefilled value from (as in run.sh): `example`, else the first of
  // `examples`, else the schema's `example`.
  const orgExample =
    orgParam?.example ?? Object.values(orgParam?.examples ?? {})[0]?.value ?? orgParam?.schema?.example;
  if (orgExample === undefined) {
    throw new Error("the spec has no example for the x-org-id parameter of createInvitation, so Try it out has nothing to prefill");
  }
  if (String(orgExample).toLowerCase() !== org.toLowerCase()) {
    throw new Error(`the x-org-id example ${orgExample} is not the bootstrapped organization ${org}`);
  }
  let example = {};
  const created = await tryOut(
    "Invitations",
    "createInvitation",
    async (block) => {
      // Only read what is prefilled; nothing is typed.
      const orgShown = await block.locator('tr[data-param-name="x-org-id"] input').inputValue();
      if (orgShown.trim().toLowerCase() !== org.toLowerCase()) {
        throw new Error(`x-org-id is prefilled with "${orgShown}", expected the spec's example ${org}`);
      }
      const bodyShown = await block.locator("textarea.body-param__text").inputValue();
      try {
        example = JSON.parse(bodyShown);
      } catch {
        throw new Error(`the request body is prefilled with something that is not JSON: ${bodyShown.slice(0, 300)}`);
      }
      if (typeof example?.email !== "string" || !example.email) {
        throw new Error(`the prefilled request body has no email: ${bodyShown.slice(0, 300)}`);
      }
      ok(`createInvitation prefilled: x-org-id ${orgShown}, body ${JSON.stringify(example)}`);
    },
    201,
  );
  const email = example.email.trim().toLowerCase();
  if (!created.body.includes(`"${email}"`)) throw new Error(`createInvitation response does not show ${email}`);

  // listInvitations: the optional query parameters (filters, page, limit) are cleared so that the
  // list holds everything with the server's defaults, whatever their prefilled examples are.
  const listed = await tryOut(
    "Invitations",
    "listInvitations",
    async (block) => {
      await block.locator('tr[data-param-name="x-org-id"] input').fill(org);
      const rows = block.locator('tr[data-param-name][data-param-in="query"]');
      for (let i = 0; i < (await rows.count()); i++) {
        const row = rows.nth(i);
        if ((await row.locator(".parameter__name.required").count()) > 0) continue;
        if ((await row.locator("select").count()) > 0) await row.locator("select").first().selectOption("");
        else if ((await row.locator("input").count()) > 0) await row.locator("input").first().fill("");
      }
    },
    200,
  );
  if (!listed.body.includes(`"${email}"`)) throw new Error(`listInvitations response does not show ${email}`);
  ok("created invitation appears in the listed page");
  // Bring the rendered list response into view for the screenshot.
  await listed.block.locator(".live-responses-table").scrollIntoViewIfNeeded();
} catch (e) {
  failed = true;
  console.error(`swagger ui: ${e instanceof Error ? e.message : e}`);
} finally {
  for (const p of problems) console.error(`swagger ui: ${p}`);
  if (problems.length) failed = true;
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
  console.log(`  screenshot: ${screenshot}`);
  if (consoleErrors.length) console.log(`  browser console errors: ${consoleErrors.slice(0, 5).join(" | ")}`);
  if (apiUrl) console.log(`  through Prism: ${routed.length ? routed.join(", ") : "nothing"}`);
  await browser.close();
}
if (failed) process.exit(1);
console.log("swagger ui: all checks passed");
