// The live board in real Chromium, driven by tests/it/board.rs: enrol as an organiser
// from an invite (virtual authenticator), open the activity's board from the activity
// list on a tablet-sized screen, then make a volunteer's scan through the API and time
// how long the board takes to show it.
//
//   node board.js '{"base":"http://localhost:PORT","invite":"…","activity_id":1,"volunteer":"<token>","scan":{…},"artifacts":"…"}'
//
// Prints one JSON line; a failed wait is reported in `error`.
"use strict";
const path = require("path");
const fs = require("fs");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [] };
const shot = async (page, name) => {
  const file = path.join(input.artifacts, name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  out.steps.push("screenshot " + name);
  return file;
};
const text = (page, id) => page.$eval("#" + id, (el) => el.textContent);

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  try {
    // A tablet on the organiser's table.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
    const page = await context.newPage();
    const consoleErrors = [];
    // Failed loads are checked through `failed_loads` instead (Chromium's own favicon
    // request, which Hourmark does not serve, is the only one expected here).
    page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    const failedLoads = [];
    page.on("response", (r) => { if (r.status() >= 400) failedLoads.push(r.status() + " " + new URL(r.url()).pathname); });
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    await cdp.send("WebAuthn.addVirtualAuthenticator", { options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true } });

    await page.goto(input.base + "/staff/enrol#invite=" + input.invite);
    await page.fill("#label", "会场平板");
    await page.click("#enrol-button");
    await page.waitForURL((u) => new URL(u).pathname === "/console", { timeout: 15000 });
    out.steps.push("enrolled");

    // From the activity list to the board.
    await page.click(`li[data-activity-id="${input.activity_id}"] a.board-link`);
    await page.waitForURL("**/board", { timeout: 10000 });
    out.board_url = page.url();
    await page.waitForFunction(() => document.getElementById("board-status").textContent === "实时更新中"
      && document.getElementById("inside-now").textContent !== "--", null, { timeout: 10000 });
    out.before = {
      inside_now: await text(page, "inside-now"),
      still_inside: await page.$$eval("#still-inside li .name", (els) => els.map((e) => e.textContent)),
      flags: await text(page, "flag-count"),
      expected: await page.$$eval("#expected-slots li", (els) => els.map((e) => e.textContent)),
      missing: await page.$$eval("#missing li", (els) => els.map((e) => e.textContent)),
      missing_count: await text(page, "missing-count"),
      walk_ins: await text(page, "walk-ins"),
    };
    await shot(page, "01-board-before");

    // The volunteer scans (through the API, as the phone would); the board must show it.
    const started = Date.now();
    const response = await fetch(input.base + "/mp/v1/scans", {
      method: "POST",
      headers: { "content-type": "application/json", "authorization": "Bearer " + input.volunteer },
      body: JSON.stringify(input.scan),
    });
    out.scan_status = response.status;
    const receipt = await response.json();
    out.scan_id = receipt.scan_id;
    await page.waitForFunction((name) => [...document.querySelectorAll("#still-inside li .name")]
      .some((e) => e.textContent.startsWith(name)), input.volunteer_name, { timeout: 5000 });
    out.shown_after_ms = Date.now() - started;
    // The flag follows as soon as it is raised.
    await page.waitForFunction((n) => document.getElementById("flag-count").textContent === String(n),
      Number(out.before.flags) + 1, { timeout: 5000 });
    out.flag_after_ms = Date.now() - started;
    out.after = {
      inside_now: await text(page, "inside-now"),
      still_inside: await page.$$eval("#still-inside li", (els) => els.map((e) => e.textContent)),
      gates: await page.$$eval("#gates li", (els) => els.map((e) => e.textContent)),
      flags: await page.$$eval("#flags li strong", (els) => els.map((e) => e.textContent)),
      bars: await page.$$eval("#minutes .minute", (els) => els.length),
      last_scan_event_id: await page.$eval("#board", (el) => el.dataset.lastScanEventId || ""),
      status: await text(page, "board-status"),
      walk_ins: await text(page, "walk-ins"),
    };
    out.board_shot = await shot(page, "02-board-after-scan");
    // As an organiser holds it at a gate: a tablet in landscape.
    await page.setViewportSize({ width: 1024, height: 768 });
    await shot(page, "03-board-tablet");
    out.console_errors = consoleErrors;
    out.failed_loads = failedLoads;
  } catch (e) {
    out.error = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
})().catch((e) => { process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + "\n"); process.exit(1); });
