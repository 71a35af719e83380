// The staff console in real Chromium, driven by the Rust test tests/it/console.rs, which
// starts the server, seeds it through the API, runs this script and asserts on the JSON
// it prints. Chromium's virtual authenticator (DevTools protocol) stands in for a phone.
//
//   node console.js '{"base":"http://localhost:PORT","invite":"…","login":"…","artifacts":"…/target/browser-artifacts"}'
//
// Every step records what it saw; a failed wait is reported in `error` with the step, so
// the Rust side can say where it stopped. Screenshots go to `artifacts`.
"use strict";
const path = require("path");
const fs = require("fs");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [] };
const shot = async (page, name) => {
  const file = path.join(input.artifacts, name + ".png");
  await page.screenshot({ path: file, fullPage: false });
  out.steps.push("screenshot " + name);
  return file;
};

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
    const page = await context.newPage();
    const consoleErrors = [];
    // Script errors and CSP violations; failed loads are the refused posts this script makes on purpose.
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", { options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true } });

    // The landing page.
    await page.goto(input.base + "/");
    out.landing_links = await page.$$eval("a.card", as => as.map(a => a.getAttribute("href")));
    out.landing_shot = await shot(page, "01-landing");

    // A console page without a session goes to sign-in.
    await page.goto(input.base + "/console");
    out.unauthenticated_url = page.url();

    // Enrol from the invite link: the page lands in the console.
    await page.goto(input.base + "/staff/enrol#invite=" + input.invite);
    await page.fill("#label", "会场平板");
    await shot(page, "02-enrol");
    await page.click("#enrol-button");
    await page.waitForURL(u => new URL(u).pathname === "/console", { timeout: 15000 });
    out.after_enrol_url = page.url();
    const cookies = await context.cookies();
    const session = cookies.find(c => c.name === "hourmark_staff");
    out.cookie = session ? { httpOnly: session.httpOnly, sameSite: session.sameSite, secure: session.secure } : null;
    out.cookie_visible_to_script = await page.evaluate(() => document.cookie.includes("hourmark_staff"));

    // Sign out, and the console is closed again.
    await page.click("#sign-out");
    await page.waitForURL(u => new URL(u).pathname === "/staff/sign-in", { timeout: 10000 });
    out.cookie_after_sign_out = (await context.cookies()).some(c => c.name === "hourmark_staff");
    await page.goto(input.base + "/console");
    out.after_sign_out_url = page.url();

    // Sign in with the passkey the virtual authenticator now holds.
    await page.fill("#login", input.login);
    await shot(page, "03-sign-in");
    await page.click("#sign-in-button");
    await page.waitForURL(u => new URL(u).pathname === "/console", { timeout: 15000 });
    out.after_sign_in_url = page.url();

    // A post that rides on the cookie but carries no CSRF token (what another page could
    // provoke), and one with a wrong token.
    const attempt = async (headers) => page.evaluate(async (headers) => {
      const r = await fetch("/api/v1/activities", { method: "POST", headers, body: JSON.stringify({ organisation_id: 1 }) });
      const j = await r.json().catch(() => ({}));
      return { status: r.status, code: j.code || null };
    }, headers);
    out.csrf_missing = await attempt({ "content-type": "application/json" });
    out.csrf_wrong = await attempt({ "content-type": "application/json", "x-csrf-token": "AAAA" });

    // 登录设备: this browser, marked as such.
    await page.click("#devices-link");
    await page.waitForURL("**/console/sessions");
    out.devices = await page.$$eval("#devices tbody tr", rows => rows.map(r => r.textContent.replace(/\s+/g, " ").trim()));
    await shot(page, "03b-devices");
    await page.goto(input.base + "/console");

    // Create an activity with the console's form.
    await page.click("#new-activity");
    await page.waitForURL("**/console/activities/new");
    await page.fill('input[name="name"]', input.activity_name);
    await page.selectOption('select[name="category"]', "environment");
    await page.fill('input[name="recipients"]', "市民");
    await page.fill('textarea[name="content"]', "捡拾垃圾、劝导文明游园");
    await page.fill('input[name="address"]', "昆明市五华区翠湖公园");
    await page.fill('input[name="lat"]', "25.047");
    await page.fill('input[name="lng"]', "102.704");
    await page.fill('input[name="starts_at"]', "2026-12-05T08:00");
    await page.fill('input[name="ends_at"]', "2026-12-05T17:00");
    await page.fill('#gates li:nth-child(1) input[name="gate"]', "北门");
    await page.click("#add-gate");
    await page.fill('#gates li:nth-child(2) input[name="gate"]', "南门");
    await shot(page, "04-activity-form");
    await page.click("#create-activity");
    await page.waitForURL(u => new URL(u).searchParams.has("created"), { timeout: 10000 });
    const created = Number(new URL(page.url()).searchParams.get("created"));
    out.created_activity_id = created;
    out.listed_today = await page.$$eval("#today-heading ~ ul .activity h3", hs => hs.map(h => h.textContent));
    await shot(page, "05-activities");

    // Edit it: coordinates pasted from 高德 (GCJ-02, longitude first), a wider radius, a
    // renamed gate and a new one.
    await page.click(`li[data-activity-id="${created}"] a.edit-link`);
    await page.waitForURL("**/edit");
    out.edit_form = await page.evaluate(() => ({
      name: document.querySelector('input[name="name"]').value,
      gates: [...document.querySelectorAll('input[name="gate"]')].map(i => i.value),
      removable: document.querySelectorAll("#gates button.remove-gate").length,
      stored: document.getElementById("stored-location").textContent,
    }));
    await page.fill("#pasted", input.pasted);
    out.pasted_into = await page.evaluate(() => ({
      lat: document.querySelector('input[name="lat"]').value,
      lng: document.querySelector('input[name="lng"]').value,
      datum: document.getElementById("datum").value,
    }));
    await page.fill("#radius", "250");
    out.radius_note = await page.textContent("#radius-note");
    await page.fill('#gates li:nth-child(1) input[name="gate"]', "北门（主）");
    await page.click("#add-gate");
    await page.fill('#gates li:nth-child(3) input[name="gate"]', "西门");
    await shot(page, "05b-activity-edit");
    await page.click("#save-activity");
    await page.waitForURL(u => new URL(u).searchParams.has("updated"), { timeout: 10000 });
    out.updated_activity_id = Number(new URL(page.url()).searchParams.get("updated"));

    // Open the projector for the first gate, at a projector's resolution.
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.click(`li[data-activity-id="${created}"] .projectors a`);
    await page.waitForURL("**/projector**");
    out.projector_url = page.url();
    await page.waitForFunction(() => {
      const img = document.getElementById("qr");
      return img.complete && img.naturalWidth > 0 && document.getElementById("inside-now").textContent !== "--";
    }, null, { timeout: 10000 });
    out.projector = await page.evaluate(() => ({
      name: document.getElementById("activity-name").textContent,
      mode: document.getElementById("mode").textContent,
      countdown: document.getElementById("countdown").textContent,
      inside_now: document.getElementById("inside-now").textContent,
      qr_box: (() => { const r = document.getElementById("qr").getBoundingClientRect(); return { width: r.width, height: r.height }; })(),
    }));
    out.projector_shot = await shot(page, "06-projector");
    out.console_errors = consoleErrors;
  } catch (e) {
    out.error = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
})().catch(e => { process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + "\n"); process.exit(1); });
