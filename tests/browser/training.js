// The training section of 报名管理 in real Chromium, driven by tests/it/console_training.rs:
// an organiser on a tablet publishes recruitment requiring a training; a volunteer on a
// phone is refused at sign-up on the public page, told which training is missing; the
// organiser records completions by phone number (an empty field, a number nobody
// registered, then the volunteer's), and the volunteer's second try goes through, which
// the organiser's list then shows. Prints one JSON object; screenshots go to `artifacts`.
"use strict";
const path = require("path");
const fs = require("fs");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [] };
let step = "start";

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  const consoleErrors = [];
  const watch = (page) => {
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("response", r => {
      const where = new URL(r.url()).pathname;
      // The two refusals the script provokes on purpose: the sign-up without the training
      // and a completion for a number nobody registered.
      const expected = (r.status() === 409 && where.endsWith("/signups") && r.request().method() === "POST")
        || (r.status() === 404 && where.endsWith("/training-completions") && r.request().method() === "POST");
      if (r.status() >= 400 && !expected && where !== "/favicon.ico") consoleErrors.push(r.status() + " " + r.url());
    });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    return page;
  };
  const shot = async (page, name, fullPage) => {
    await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: Boolean(fullPage) });
    out.steps.push("screenshot " + name);
  };
  const text = (page, sel) => page.$eval(sel, e => e.textContent.trim());
  const signups = "/console/activities/" + input.activity_id + "/signups";
  try {
    step = "publish with a training";
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: "zh-CN" });
    await context.addCookies([{ name: "hourmark_staff", value: input.organiser_cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    const tablet = watch(await context.newPage());
    await tablet.goto(input.base + signups);
    await tablet.fill("#slot-rows li:nth-child(1) input[name=slot_name]", "赛道补给");
    await tablet.fill("#slot-rows li:nth-child(1) input[name=slot_capacity]", "3");
    await tablet.fill("#recruit-form input[name=required_training]", input.training);
    await tablet.click("#publish");
    await tablet.locator("#recruit-status:not(.error)", { hasText: "招募已发布" }).waitFor();
    await tablet.locator("#training-section:not([hidden])").waitFor();
    out.training_name = await text(tablet, "#training-name");
    await tablet.locator("#no-completions:not([hidden])").waitFor();
    out.no_completions = await text(tablet, "#no-completions");
    await tablet.locator("#training-section").scrollIntoViewIfNeeded();
    await shot(tablet, "01-training-section-empty");

    step = "volunteer refused";
    const phoneContext = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
    });
    await phoneContext.addInitScript((token) => window.localStorage.setItem("hourmark.token", token), input.volunteer_token);
    const phone = watch(await phoneContext.newPage());
    await phone.goto(input.base + "/join/" + input.activity_id);
    out.join_requirement = (await phone.locator("li", { hasText: "须先完成组织方的培训" }).textContent()).trim();
    await phone.click("#slots .slot .sign-up");
    await phone.locator("#status.err").waitFor();
    out.refused_status = await text(phone, "#status");
    await shot(phone, "02-volunteer-refused", true);

    step = "record: empty";
    await tablet.click("#record-training");
    await tablet.locator("#training-status.error").waitFor();
    out.empty_status = await text(tablet, "#training-status");
    step = "record: nobody's number";
    await tablet.fill("#training-form input[name=phone]", "13999999999");
    await tablet.click("#record-training");
    await tablet.locator("#training-status.error", { hasText: "未能登记：" }).waitFor();
    out.unknown_status = await text(tablet, "#training-status");
    out.unknown_kept = await tablet.inputValue("#training-form input[name=phone]");
    await shot(tablet, "03-unknown-number");
    step = "record";
    await tablet.fill("#training-form input[name=phone]", input.volunteer_phone);
    await tablet.click("#record-training");
    await tablet.locator("#training-status:not(.error)", { hasText: "已登记" }).waitFor();
    await tablet.locator("#completions li").first().waitFor();
    out.recorded_status = await text(tablet, "#training-status");
    out.completions = await tablet.$$eval("#completions li", ls => ls.map(l => l.textContent.trim()));
    out.no_completions_hidden = await tablet.$eval("#no-completions", e => e.hidden);
    out.field_after = await tablet.inputValue("#training-form input[name=phone]");
    await tablet.locator("#training-section").scrollIntoViewIfNeeded();
    await shot(tablet, "04-recorded");

    step = "volunteer signs up";
    await phone.reload();
    await phone.click("#slots .slot .sign-up");
    await phone.locator("#status.ok").waitFor();
    out.signed_status = await text(phone, "#status");
    await shot(phone, "05-volunteer-signed-up", true);

    step = "organiser sees the sign-up";
    await tablet.reload();
    await tablet.locator("#signups tbody tr").first().waitFor();
    out.signup_rows = await tablet.$$eval("#signups tbody tr", trs => trs.map(tr => Array.from(tr.cells).slice(0, 3).map(c => c.textContent.trim())));
    await shot(tablet, "06-signed-up", true);

    out.console_errors = consoleErrors;
    console.log(JSON.stringify(out));
    await browser.close();
    process.exit(0);
  } catch (e) {
    out.error = step + ": " + (e && e.stack || e);
    out.console_errors = consoleErrors;
    console.log(JSON.stringify(out));
    await browser.close();
    process.exit(1);
  }
})();
