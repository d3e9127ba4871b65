// The web console of `wif up` (issue 31) in a real browser: Debian's Chromium driven by
// playwright-core, run by scripts/interop_console.py with NODE_PATH at the npm install and the
// loopback guard loaded. What it needs comes in WIF_CONSOLE_* variables (the Python side sets
// them; see there). It prints one line per check, `ok: NAME` or `FAILED: NAME -- DETAIL`, then
// `interop_console.cjs: finished`; it exits non-zero on any failure.
//
// TLS: Chromium is not told to ignore certificate errors. It trusts exactly the emulator's
// certificate: --ignore-certificate-errors-spki-list names the SPKI hash of the leaf the Python
// side fetched and verified against STATE/ca.pem (Chromium trusts a private CA only through an
// NSS database, which needs certutil; the flag, honoured with a --user-data-dir, needs nothing).
//
// Loopback only: every request of every page to anything but the console's own origin is
// aborted and counted (a check wants none), and Chromium runs without its background services.
//
// The workload: WIF_CONSOLE_WORKLOAD is JSON {argv, env}; this script runs it (`wif token get`
// with the env `wif up --print-env --service-account production/api` printed plus
// AZURE_CLIENT_ID) whenever the flow needs a token exchange.
"use strict";
const { chromium } = require("playwright-core");
const { execFile } = require("child_process");
const fs = require("fs");
const path = require("path");

const E = process.env;
const BASE = E.WIF_CONSOLE_BASE; // https://127.0.0.1:PORT
const ORIGIN = new URL(BASE).origin;
const LOGIN = E.WIF_CONSOLE_LOGIN;
const TENANT = E.WIF_CONSOLE_TENANT;
const APP = E.WIF_CONSOLE_APP; // the app registration's client id
const APP_NAME = E.WIF_CONSOLE_APP_NAME;
const APP_OID = E.WIF_CONSOLE_APP_OID; // its service principal's object id
const ISSUER = E.WIF_CONSOLE_ISSUER; // wif up's local issuer
const NAMESPACE = E.WIF_CONSOLE_NAMESPACE; // the workload's real namespace
const TYPO = E.WIF_CONSOLE_TYPO; // the namespace typed by mistake
const SA = E.WIF_CONSOLE_SERVICE_ACCOUNT;
const SCOPE = E.WIF_CONSOLE_SCOPE; // where the role is assigned
const ROLE = E.WIF_CONSOLE_ROLE;
const VAULT = E.WIF_CONSOLE_VAULT;
const SECRET = E.WIF_CONSOLE_SECRET; // a secret's name in VAULT
const SECRET_VALUE = E.WIF_CONSOLE_SECRET_VALUE;
const ACCOUNT = E.WIF_CONSOLE_STORAGE_ACCOUNT;
const CONTAINER = E.WIF_CONSOLE_CONTAINER;
const BLOB = E.WIF_CONSOLE_BLOB;
const SHOTS = E.WIF_CONSOLE_SCREENSHOTS;
const WORKLOAD = JSON.parse(E.WIF_CONSOLE_WORKLOAD || "{}");
const TIMEOUT = 15000; // every wait is on an event, bounded by this
const AUDIENCE = "api://AzureADTokenExchange";
const TYPO_NAME = "orders-typo";
const FIX_NAME = "orders-fixed";
const XSS_NAME = '<img src=x onerror="window.__xss=1">';
const XSS_DESCRIPTION = "typed in a hurry <script>window.__xss=2</script>";
const NAV = ["Overview", "Identities", "Role assignments", "Resources", "Token exchanges"];

let failures = 0;
const blocked = [];
const scriptErrors = [];

function oneLine(value) {
  return String(value ?? "").replace(/\s+/g, " ").slice(0, 800);
}

function check(name, ok, detail) {
  console.log(ok ? `ok: ${name}` : `FAILED: ${name} -- ${oneLine(detail)}`);
  if (!ok) failures += 1;
  return ok;
}

// A step that throws (a timeout, a missing element) is one failure; the next steps still run.
async function step(name, body) {
  try {
    return await body();
  } catch (error) {
    check(name, false, error && error.message);
    return undefined;
  }
}

function workload() {
  return new Promise((resolve) => {
    const [file, ...args] = WORKLOAD.argv;
    execFile(file, args, { env: WORKLOAD.env, timeout: 60000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

async function newContext(browser, width, height) {
  const context = await browser.newContext({ viewport: { width, height }, ignoreHTTPSErrors: false });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(TIMEOUT);
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === ORIGIN) return route.continue();
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  context.on("page", (page) => page.on("pageerror", (error) => scriptErrors.push(`${page.url()}: ${error.message}`)));
  return context;
}

const console_ = (p) => `${BASE}/_console${p}`;
const pathOf = (url) => new URL(url).pathname;
const h1 = (page) => page.locator("h1").first().innerText();

// A wait started before the action it waits for: its rejection, should the action fail first,
// is reported where it is awaited, or nowhere, never as an unhandled rejection.
function quiet(promise) {
  promise.catch(() => {});
  return promise;
}

// Goes to `p` and answers the response's status and the h1.
async function open(page, p) {
  const response = await page.goto(console_(p));
  return { status: response.status(), h1: (await h1(page)).trim() };
}

// Clicks `button` of a form that POSTs to `action` and answers that POST's status (a 303 is seen
// as the redirect of the page loaded after it).
async function submit(page, button, action) {
  const posted = quiet(page.waitForRequest((r) => r.method() === "POST" && pathOf(r.url()) === `/_console${action}`));
  const landed = quiet(page.waitForEvent("load"));
  await button.click();
  const request = await posted;
  await landed;
  const response = await request.response();
  return { status: response ? response.status() : 0, location: response ? (await response.headerValue("location")) || "" : "" };
}

// The fields of the add-credential form, by their labels.
function form(page) {
  const field = (label) => page.getByLabel(label, { exact: true });
  return {
    scenario: field("Federated credential scenario"),
    issuer: field("Cluster issuer URL"),
    namespace: field("Namespace"),
    serviceAccount: field("Service account"),
    subject: field("Subject identifier"),
    name: field("Name"),
    description: field("Description"),
    audience: field("Audience"),
    add: page.getByRole("button", { name: "Add", exact: true }),
  };
}

async function fillKubernetes(page, { namespace, name, description }) {
  const f = form(page);
  await f.scenario.selectOption("kubernetes");
  await f.issuer.fill(ISSUER);
  await f.namespace.fill(namespace);
  await f.serviceAccount.fill(SA);
  await f.name.fill(name);
  await f.description.fill(description || "");
  return f;
}

const xss = (page) => page.evaluate(() => typeof window.__xss === "undefined" ? "undefined" : String(window.__xss));

// The highest data-seq of the exchanges table (0 when empty).
const lastSeq = (page) =>
  page.evaluate(() => Math.max(0, ...[...document.querySelectorAll("#exchanges tr[data-seq]")].map((r) => Number(r.dataset.seq))));

// A row newer than `after` with `outcome`, added to the open page; its text and its links.
async function liveRow(page, after, outcome) {
  const handle = await page.waitForFunction(
    ([after, outcome]) =>
      [...document.querySelectorAll(`#exchanges tr[data-outcome="${outcome}"]`)].find((r) => Number(r.dataset.seq) > after),
    [after, outcome],
    { timeout: TIMEOUT },
  );
  return handle.asElement();
}

// Opens the exchanges page and waits until its event stream answered, so no exchange made
// after this returns can be missed.
async function openExchanges(page) {
  const stream = quiet(page.waitForResponse((r) => pathOf(r.url()) === "/_console/exchanges/events"));
  const got = await open(page, "/exchanges");
  const events = await stream;
  return { ...got, events: events.status(), type: (await events.headerValue("content-type")) || "" };
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--ignore-certificate-errors-spki-list=${E.WIF_CONSOLE_SPKI}`,
    ],
  });
  const context = await newContext(browser, 1280, 800);
  const page = await context.newPage();

  // --- Login: the banner's link once -------------------------------------------------------
  const loggedIn = await step("the login link opens the console", async () => {
    const response = await page.goto(LOGIN);
    const redirect = response.request().redirectedFrom();
    const first = redirect ? await redirect.response() : null;
    check("the login link: 303 to /_console/, h1 Overview",
      first && first.status() === 303 && page.url() === console_("/") && response.status() === 200 && (await h1(page)).trim() === "Overview",
      `${first && first.status()} ${page.url()} ${response.status()}`);
    return page.url() === console_("/");
  });
  if (!loggedIn) {
    await browser.close();
    console.log("interop_console.cjs: finished");
    process.exit(1);
  }
  await step("the session cookie", async () => {
    const cookie = (await context.cookies()).find((c) => c.name === "wif_console");
    check("the session cookie wif_console: HttpOnly, Secure, SameSite=Strict, Path=/_console",
      cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === "Strict" && cookie.path === "/_console", JSON.stringify(cookie));
    const visible = await page.evaluate(() => document.cookie);
    check("the page's script cannot read the session cookie", !visible.includes("wif_console"), visible);
  });
  await step("the nav links", async () => {
    const names = await page.locator("nav a").allInnerTexts();
    check("the nav links: Overview, Identities, Role assignments, Resources, Token exchanges",
      NAV.every((n) => names.map((x) => x.trim()).includes(n)), names);
  });
  await step("the overview", async () => {
    const text = await page.locator("main, body").first().innerText();
    check("the overview names the tenant", text.includes(TENANT), text.slice(0, 400));
  });
  await step("the login link used twice", async () => {
    const other = await newContext(browser, 1280, 800);
    const again = await other.newPage();
    const response = await again.goto(LOGIN);
    const body = await again.content();
    check("the login link used again (another browser context): 401, no directory data",
      response.status() === 401 && !body.includes(TENANT) && !body.includes(APP), `${response.status()} ${body.slice(0, 300)}`);
    const cookie = (await other.cookies()).find((c) => c.name === "wif_console");
    check("and no session cookie", !cookie, JSON.stringify(cookie));
    await other.close();
  });

  // --- Identities ------------------------------------------------------------------------------
  await step("the identities page", async () => {
    const got = await open(page, "/identities");
    check("identities: 200, h1 Identities", got.status === 200 && got.h1 === "Identities", got);
    const section = page.locator(`section[id="parent-${APP}"]`);
    const heading = (await section.locator("h2").first().innerText()).trim();
    const text = await section.innerText();
    check(`identities: the app's section, h2 ${APP_NAME}, with its client id and its service principal's object id`,
      heading === APP_NAME && text.includes("Client ID") && text.includes(APP) && text.includes(APP_OID), `${heading}: ${text.slice(0, 400)}`);
    const link = section.getByRole("link", { name: `Add credential to ${APP_NAME}`, exact: true });
    const href = await link.getAttribute("href");
    check("identities: its link Add credential (named for the app) to the form", href === `/_console/credentials/new?parent=${APP}`
      || href === console_(`/credentials/new?parent=${APP}`), href);
    await link.click();
    await page.waitForURL((u) => u.pathname === "/_console/credentials/new");
  });

  // --- The add-credential form: its fields, the XSS probe, the credential with the typo ----------
  await step("the add-credential form", async () => {
    check("the add-credential form: h1 Add credential", (await h1(page)).trim() === "Add credential", await h1(page));
    const f = form(page);
    check("the form: scenario Kubernetes by default, audience api://AzureADTokenExchange, a csrf field",
      (await f.scenario.inputValue()) === "kubernetes" && (await f.audience.inputValue()) === AUDIENCE
      && (await page.locator('form input[type=hidden][name="csrf"]').count()) > 0,
      [await f.scenario.inputValue(), await f.audience.inputValue()]);
    const labels = await f.scenario.locator("option").allInnerTexts();
    check("the scenarios: Kubernetes accessing Azure resources, Other issuer",
      labels.map((l) => l.trim()).join("|") === "Kubernetes accessing Azure resources|Other issuer", labels);
    await fillKubernetes(page, { namespace: TYPO, name: "probe", description: "" });
    const subject = await f.subject.inputValue();
    check("Kubernetes: the subject is built from namespace and service account, read-only",
      subject === `system:serviceaccount:${TYPO}:${SA}` && !(await f.subject.isEditable()), subject);
  });
  await step("the XSS probe in the name", async () => {
    await fillKubernetes(page, { namespace: TYPO, name: XSS_NAME, description: "" });
    const got = await submit(page, form(page).add, "/credentials");
    const alert = page.locator('p[role="alert"].error');
    check("a name with markup is refused inline: 400, Entra's message in role=alert",
      got.status === 400 && (await alert.isVisible()) && (await alert.innerText()).trim() !== "", got);
    check("the form keeps the name as typed", (await form(page).name.inputValue()) === XSS_NAME, await form(page).name.inputValue());
    check("and renders no markup from it: no img[src=x], window.__xss undefined",
      (await page.locator("img[src=x]").count()) === 0 && (await xss(page)) === "undefined", await xss(page));
  });
  await step("the credential with the typo", async () => {
    await page.goto(console_(`/credentials/new?parent=${APP}`));
    await fillKubernetes(page, { namespace: TYPO, name: TYPO_NAME, description: XSS_DESCRIPTION });
    const got = await submit(page, form(page).add, "/credentials");
    check(`Add (namespace ${TYPO} for ${NAMESPACE}): 303 to the identities page at the new row`,
      got.status === 303 && pathOf(page.url()) === "/_console/identities" && new URL(page.url()).hash === `#fic-${APP}-${TYPO_NAME}`,
      `${got.status} ${got.location} ${page.url()}`);
    const row = page.locator(`tr[id="fic-${APP}-${TYPO_NAME}"]`);
    await row.waitFor({ state: "visible" });
    const text = await row.innerText();
    check("the row: name, issuer, subject, audience, the description with markup shown as text",
      [TYPO_NAME, ISSUER, `system:serviceaccount:${TYPO}:${SA}`, AUDIENCE, XSS_DESCRIPTION].every((s) => text.includes(s)), text);
    check("and no script from it ran: no script element in the row, window.__xss undefined",
      (await row.locator("script").count()) === 0 && (await xss(page)) === "undefined", await xss(page));
    check("the row has a Delete button", (await row.getByRole("button", { name: "Delete" }).count()) === 1);
  });
  await step("a duplicate issuer and subject", async () => {
    await page.goto(console_(`/credentials/new?parent=${APP}`));
    await fillKubernetes(page, { namespace: TYPO, name: "orders-twice", description: "" });
    const got = await submit(page, form(page).add, "/credentials");
    const alert = page.locator('p[role="alert"].error');
    check("the same issuer and subject again under another name: 400, refused inline",
      got.status === 400 && (await alert.isVisible()), `${got.status} ${await page.content().then((c) => c.slice(0, 300))}`);
  });

  // --- The exchange fails, live; the fix from its row; the exchange succeeds, live ------------
  const watcher = await context.newPage();
  let refusedRow;
  await step("the refused exchange, live", async () => {
    const got = await openExchanges(watcher);
    check("exchanges: h1 Token exchanges, the event stream text/event-stream",
      got.status === 200 && got.h1 === "Token exchanges" && got.events === 200 && got.type.startsWith("text/event-stream"), got);
    await watcher.evaluate(() => { window.__notReloaded = true; });
    const before = await lastSeq(watcher);
    const run = await workload();
    check(`the workload's exchange (${NAMESPACE}/${SA} as ${APP_NAME}) fails: AADSTS700213`,
      run.code !== 0 && run.stderr.includes("AADSTS700213"), `${run.code} ${run.stderr}`);
    refusedRow = await liveRow(watcher, before, "refused");
    const text = await refusedRow.innerText();
    check("the refused exchange appears on the open page without a reload",
      (await watcher.evaluate(() => window.__notReloaded === true)), "the page was reloaded");
    check("its row: tenant, client, issuer, subject, audience, AADSTS700213",
      [TENANT, APP, ISSUER, `system:serviceaccount:${NAMESPACE}:${SA}`, AUDIENCE, "AADSTS700213"].every((s) => text.includes(s)), text);
    const cells = await refusedRow.$$("td");
    const diagnosis = cells.length ? (await cells[cells.length - 1].innerText()).trim() : "";
    check(`its diagnosis names the closest credential and the namespace (${TYPO} for ${NAMESPACE})`,
      diagnosis.includes(TYPO_NAME) && diagnosis.includes(NAMESPACE) && /namespace/i.test(diagnosis), diagnosis);
    const fix = await refusedRow.$('a:text-is("Fix the credential")');
    const fixHref = fix ? await fix.getAttribute("href") : null;
    check("a link Fix the credential to the closest credential's row",
      fixHref && fixHref.endsWith(`/_console/identities#fic-${APP}-${TYPO_NAME}`), fixHref);
  });
  await step("the fix from the refused row", async () => {
    const add = await refusedRow.$('a:text-is("Add the credential this token needs")');
    const href = await add.getAttribute("href");
    const query = new URL(href, BASE).searchParams;
    check("a link Add the credential this token needs: parent, issuer and subject",
      query.get("parent") === APP && query.get("issuer") === ISSUER && query.get("subject") === `system:serviceaccount:${NAMESPACE}:${SA}`, href);
    await add.click();
    await watcher.waitForURL((u) => u.pathname === "/_console/credentials/new");
    const f = form(watcher);
    const got = [await f.scenario.inputValue(), await f.issuer.inputValue(), await f.namespace.inputValue(), await f.serviceAccount.inputValue()];
    check("the form is prefilled: Kubernetes, the issuer, the namespace and service account of the token",
      got.join("|") === ["kubernetes", ISSUER, NAMESPACE, SA].join("|"), got);
    await f.name.fill(FIX_NAME);
    const posted = await submit(watcher, f.add, "/credentials");
    check("Add: 303 to the new row", posted.status === 303 && new URL(watcher.url()).hash === `#fic-${APP}-${FIX_NAME}`,
      `${posted.status} ${watcher.url()}`);
    await watcher.locator(`tr[id="fic-${APP}-${FIX_NAME}"]`).waitFor({ state: "visible" });
  });
  await step("the issued exchange, live", async () => {
    await openExchanges(watcher);
    await watcher.evaluate(() => { window.__notReloaded = true; });
    const before = await lastSeq(watcher);
    const refusedStill = await watcher.locator('#exchanges tr[data-outcome="refused"]').count();
    check("the reopened page still lists the refused exchange", refusedStill >= 1, refusedStill);
    const run = await workload();
    let token = "";
    try { token = JSON.parse(run.stdout).access_token || ""; } catch (error) { token = ""; }
    check("the workload's exchange now succeeds", run.code === 0 && token.split(".").length === 3, `${run.code} ${run.stderr}`);
    const row = await liveRow(watcher, before, "issued");
    const text = await row.innerText();
    check("and appears live as issued", text.includes("issued") && text.includes(APP) && (await watcher.evaluate(() => window.__notReloaded === true)), text);
  });
  await watcher.close();

  // --- Role assignments ----------------------------------------------------------------------
  // Picks the option of `select` whose value or text is `want` (or contains it, when `part`).
  async function choose(select, want, part) {
    const options = await select.locator("option").evaluateAll((os) => os.map((o) => ({ value: o.value, text: o.textContent.trim() })));
    const hit = options.find((o) => o.value === want || o.text === want || (part && (o.value.includes(want) || o.text.includes(want))));
    if (!hit) throw new Error(`no option ${want} in ${JSON.stringify(options).slice(0, 600)}`);
    await select.selectOption(hit.value);
  }
  const scopeSection = () => page.locator("section", { has: page.getByRole("heading", { level: 2, name: SCOPE, exact: true }) });
  await step("a role assignment", async () => {
    const got = await open(page, "/roles");
    check("roles: h1 Role assignments", got.status === 200 && got.h1 === "Role assignments", got);
    await choose(page.getByLabel("Scope", { exact: true }), SCOPE);
    await choose(page.getByLabel("Role", { exact: true }), ROLE);
    await choose(page.getByLabel("Principal", { exact: true }), APP_OID, true);
    const posted = await submit(page, page.getByRole("button", { name: "Add role assignment", exact: true }), "/roles");
    check(`Add role assignment (${ROLE} at the vault to ${APP_NAME}): 303 to the roles page`,
      posted.status === 303 && pathOf(page.url()) === "/_console/roles", `${posted.status} ${page.url()}`);
    const text = await scopeSection().innerText();
    check("it is listed under its scope: role, principal name, object id",
      text.includes(ROLE) && text.includes(APP_NAME) && text.includes(APP_OID), text);
  });
  await step("the same role assignment again", async () => {
    await choose(page.getByLabel("Scope", { exact: true }), SCOPE);
    await choose(page.getByLabel("Role", { exact: true }), ROLE);
    await choose(page.getByLabel("Principal", { exact: true }), APP_OID, true);
    const posted = await submit(page, page.getByRole("button", { name: "Add role assignment", exact: true }), "/roles");
    const alert = page.locator('p[role="alert"].error');
    check("the same assignment again: 400, ARM's refusal inline",
      posted.status === 400 && (await alert.isVisible()) && /exists/i.test(await alert.innerText()), posted);
  });

  // --- Resources: names, no value until asked ------------------------------------------------
  await step("the resources page", async () => {
    const got = await open(page, "/resources");
    const text = await page.locator("body").innerText();
    check("resources: h1 Resources, the vault and its secret's name, the account, container and blob",
      got.status === 200 && got.h1 === "Resources" && [VAULT, SECRET, ACCOUNT, CONTAINER, BLOB].every((s) => text.includes(s)), text);
    check("and no secret value", !(await page.content()).includes(SECRET_VALUE));
    const show = page.getByRole("link", { name: "Show value" }).first();
    const href = await show.getAttribute("href");
    const query = new URL(href, BASE).searchParams;
    check("a Show value link for the secret", query.get("vault") === VAULT && query.get("name") === SECRET, href);
    await page.goto(new URL(href, console_("/resources")).href);
    check("Show value shows it", (await page.locator("body").innerText()).includes(SECRET_VALUE));
  });

  // --- Every page at 1280 and 390 pixels: screenshots, no sideways scroll, labels -----------
  const pages = [
    ["overview", "/"],
    ["identities", "/identities"],
    ["add-credential", `/credentials/new?parent=${APP}`],
    ["roles", "/roles"],
    ["resources", "/resources"],
    ["exchanges", "/exchanges"],
  ];
  for (const [width, height] of [[1280, 800], [390, 844]]) {
    await page.setViewportSize({ width, height });
    for (const [name, p] of pages) {
      await step(`${name} at ${width} px`, async () => {
        const response = await page.goto(console_(p));
        await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
        check(`${name} at ${width} px: 200, screenshot saved`, response.status() === 200, response.status());
        if (width === 390) {
          const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
          check(`${name} at 390 px: no horizontal scroll`, scroll <= 390, `scrollWidth ${scroll}`);
        } else {
          const unlabelled = await page.evaluate(() =>
            [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
              .filter((e) => !e.labels || e.labels.length === 0).map((e) => e.outerHTML.slice(0, 120)));
          check(`${name}: every form control has a label`, unlabelled.length === 0, unlabelled);
          const unnamed = await page.evaluate(() =>
            [...document.querySelectorAll("a, button")]
              .filter((e) => !(e.getAttribute("aria-label") || e.textContent).trim()).map((e) => e.outerHTML.slice(0, 120)));
          check(`${name}: every link and button has a name`, unnamed.length === 0, unnamed);
          const navs = await page.locator("nav a").allInnerTexts();
          check(`${name}: the nav`, NAV.every((n) => navs.map((x) => x.trim()).includes(n)), navs);
        }
      });
    }
  }
  await step("the keyboard", async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(console_(`/credentials/new?parent=${APP}`));
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const e = document.activeElement;
      const s = e ? getComputedStyle(e) : null;
      return e && { tag: e.tagName, ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none" };
    });
    check("Tab moves the focus to a control, which shows it (outline or shadow)", focused && focused.tag !== "BODY" && focused.ring,
      JSON.stringify(focused));
  });

  check("no script error on any console page", scriptErrors.length === 0, scriptErrors);
  check("no request left the console's origin (all blocked requests counted)", blocked.length === 0, blocked);
  await browser.close();
}

process.on("unhandledRejection", (error) => check("no stray error", false, error && error.stack));

main()
  .catch((error) => check("the browser run", false, error && error.stack))
  .finally(() => {
    console.log("interop_console.cjs: finished");
    process.exit(failures ? 1 : 0);
  });
