// A console session that has gone stale steps up with its passkey, in real Chromium,
// driven by tests/it/console_step_up.rs: an administrator enrols on a virtual
// authenticator, removes a lost phone's passkey at once (the enrolment vouches), asks the
// test to move the clock on, removes another (the page asks the authenticator again and
// retries), and then, with an authenticator that cannot verify its user, is refused.
//
//   node step_up.js '{"base":…,"invite":…,"person":…,"artifacts":…}'
"use strict";
const path = require("path");
const fs = require("fs");
const readline = require("readline");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ask = async (request) => {
  process.stdout.write(JSON.stringify(request) + "\n");
  const { value } = await lines.next();
  return JSON.parse(value);
};
const out = { steps: [], dialogs: [], step_ups: 0, refusals: [] };
let step = "start";

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  const consoleErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
    const page = await context.newPage();
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    page.on("dialog", d => { out.dialogs.push(d.message()); d.accept(); });
    page.on("response", r => {
      const where = new URL(r.url()).pathname;
      if (where === "/api/v1/me/step-up/finish" && r.status() === 200) out.step_ups += 1;
      if (r.status() >= 400) out.refusals.push(r.status() + " " + where);
    });
    const shot = async (name) => {
      await page.screenshot({ path: path.join(input.artifacts, name + ".png") });
      out.steps.push("screenshot " + name);
    };
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", { options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true } });

    step = "enrol";
    await page.goto(input.base + "/staff/enrol#invite=" + input.invite);
    await page.click("#enrol-button");
    await page.waitForURL(u => new URL(u).pathname === "/console", { timeout: 15000 });

    // Opens the person's passkeys on the staff page and removes the first one listed.
    const removeOne = async () => {
      await page.goto(input.base + "/console/staff");
      const row = page.locator("#staff tbody tr", { hasText: input.person });
      await row.locator("button.passkeys").click();
      await page.waitForSelector(".passkeys-row button.remove-passkey");
      await page.locator(".passkeys-row button.remove-passkey").first().click();
      await page.waitForFunction(() => {
        const s = document.getElementById("admin-status");
        return s && (s.textContent.startsWith("已删除") || s.textContent.startsWith("未能删除"));
      }, null, { timeout: 15000 });
      return page.$eval("#admin-status", s => s.textContent);
    };

    step = "remove while fresh";
    out.fresh = await removeOne();
    out.step_ups_when_fresh = out.step_ups;

    step = "remove when stale";
    await ask({ op: "advance", secs: 6 * 60 });
    out.stale = await removeOne();
    out.step_ups_when_stale = out.step_ups;
    await shot("01-removed-after-step-up");

    step = "an authenticator that cannot verify its user";
    await ask({ op: "advance", secs: 6 * 60 });
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    out.unverified = await removeOne();
    out.url_after_unverified = new URL(page.url()).pathname;
    await shot("02-step-up-refused");
  } catch (e) {
    out.error = step + ": " + String(e && e.stack || e);
  } finally {
    out.console_errors = consoleErrors;
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
  // stdin stays open for the test's answers: leave without waiting for it.
  process.exit(0);
})();
