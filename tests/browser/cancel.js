// Cancelling an activity in real Chromium, driven by tests/it/console_cancel.rs: a leader
// finds no cancel on 报名管理; the organiser, on a tablet, presses 取消活动 without a reason
// (told to give one), with one (a confirmation says whom it tells), backs out, then
// confirms; a board open on another tablet shows it at once, and the page, the activity
// list and the board show it cancelled; a volunteer's
// /me 报名 tab on a phone says 活动已取消 with the reason. With `"phase": "finalised"` it
// only reads a finalised activity's page, which offers no cancel. Prints one JSON object;
// screenshots go to `artifacts`.
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
      if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") consoleErrors.push(r.status() + " " + r.url());
    });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    return page;
  };
  const staff = async (cookie, viewport) => {
    const context = await browser.newContext({ viewport, locale: "zh-CN" });
    await context.addCookies([{ name: "hourmark_staff", value: cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    return watch(await context.newPage());
  };
  const shot = async (page, name, fullPage) => {
    await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: Boolean(fullPage) });
    out.steps.push("screenshot " + name);
  };
  const text = (page, sel) => page.$eval(sel, e => e.textContent.trim());
  const signups = "/console/activities/" + input.activity_id + "/signups";
  // Everything on 报名管理 that acts on a sign-up.
  const decisionControls = "#approve-all, #decide-heading, #signups button, #signups input";
  try {
    if (input.phase === "finalised") {
      // A finalised activity: its hours are settled, so nothing is offered to change or
      // call off; the page says why.
      step = "finalised";
      const tablet = await staff(input.organiser_cookie, { width: 1024, height: 768 });
      await tablet.goto(input.base + signups);
      await tablet.locator("#signups tbody tr").first().waitFor();
      out.finalised_note = await text(tablet, "#finalised-note");
      out.cancel_controls = await tablet.locator("#cancel-section, #cancel-form, #cancel-activity").count();
      out.recruit_form = await tablet.locator("#recruit-form").count();
      out.share = await tablet.locator("#share-section").count();
      out.decision_controls = await tablet.locator(decisionControls).count();
      out.rows = await tablet.locator("#signups tbody tr").count();
      await shot(tablet, "08-finalised-page", true);
      out.console_errors = consoleErrors;
      console.log(JSON.stringify(out));
      await browser.close();
      process.exit(0);
    }

    step = "leader";
    const leader = await staff(input.leader_cookie, { width: 1024, height: 768 });
    await leader.goto(input.base + signups);
    await leader.locator("#signups tbody tr").nth(1).waitFor();
    out.leader_cancel_controls = await leader.locator("#cancel-section, #cancel-form, #cancel-activity").count();

    step = "tablet";
    const tablet = await staff(input.organiser_cookie, { width: 1024, height: 768 });
    await tablet.goto(input.base + signups);
    await tablet.locator("#signups tbody tr").nth(1).waitFor();
    await tablet.locator("#signups tbody button").first().waitFor();
    out.decision_controls_before = await tablet.locator(decisionControls).count();
    out.share_before = await tablet.locator("#share-section:not([hidden])").count();
    await tablet.locator("#cancel-section").scrollIntoViewIfNeeded();
    await shot(tablet, "01-cancel-section");

    step = "no reason";
    await tablet.click("#cancel-activity");
    await tablet.locator("#cancel-status.error").waitFor();
    out.empty_reason_status = await text(tablet, "#cancel-status");
    out.dialog_after_empty = await tablet.$eval("#cancel-confirm", d => d.open);
    await shot(tablet, "02-reason-wanted");

    step = "confirmation";
    await tablet.fill("#cancel-form textarea[name=reason]", input.reason);
    await tablet.click("#cancel-activity");
    await tablet.locator("#cancel-confirm[open]").waitFor();
    out.confirm_who = await text(tablet, "#confirm-who");
    out.confirm_reason = await text(tablet, "#confirm-reason");
    await shot(tablet, "03-confirm");

    step = "back out";
    await tablet.click("#confirm-keep");
    await tablet.locator("#cancel-confirm").waitFor({ state: "hidden" });
    await tablet.reload();
    await tablet.locator("#signups tbody tr").nth(1).waitFor();
    out.kept_banner = await tablet.locator("#cancelled-banner").count();

    step = "board open";
    // The gate's tablet shows the live board while the organiser calls the day off.
    const gate = await staff(input.organiser_cookie, { width: 1024, height: 768 });
    await gate.goto(input.base + "/console/activities/" + input.activity_id + "/board");
    await gate.locator("#board-status.live").waitFor();
    out.live_board_banner_before = await gate.locator("#cancelled-banner").count();

    step = "confirm";
    await tablet.fill("#cancel-form textarea[name=reason]", input.reason);
    await tablet.click("#cancel-activity");
    await tablet.locator("#cancel-confirm[open]").waitFor();
    let qrAfter = false;
    tablet.on("request", r => { if (new URL(r.url()).pathname.startsWith("/join/")) qrAfter = true; });
    await Promise.all([tablet.waitForNavigation(), tablet.click("#confirm-cancel")]);
    await tablet.locator("#cancelled-banner").waitFor();
    await tablet.locator("#signups tbody tr").nth(1).waitFor();
    out.decision_controls_after = await tablet.locator(decisionControls).count();
    out.share_after = await tablet.locator("#share-section, #share-qr, #copy-share").count();
    out.qr_requested_after = qrAfter;
    out.rows_after = await tablet.locator("#signups tbody tr").count();
    out.banner = await text(tablet, "#cancelled-banner");
    out.cancel_section_after = await tablet.locator("#cancel-section").count();
    out.recruit_form_after = await tablet.locator("#recruit-form").count();
    await shot(tablet, "04-cancelled-page", true);

    step = "board told";
    // Told through the board's stream: nobody reloads the gate's tablet.
    await gate.locator("#cancelled-banner").waitFor({ timeout: 5000 });
    out.live_board_banner = await text(gate, "#cancelled-banner");
    await shot(gate, "06-board-told");

    step = "activity list";
    await tablet.goto(input.base + "/console");
    const item = tablet.locator("li.activity[data-activity-id='" + input.activity_id + "']");
    out.list_badge = (await item.locator(".cancelled-badge").textContent()).trim();
    out.list_reason = (await item.locator(".cancel-reason").textContent()).trim();
    out.other_badge = await tablet.locator("li.activity[data-activity-id='" + input.other_id + "'] .cancelled-badge").count();
    await shot(tablet, "05-activity-list", true);

    step = "board";
    await tablet.goto(input.base + "/console/activities/" + input.activity_id + "/board");
    out.board_banner = await text(tablet, "#cancelled-banner");
    await shot(tablet, "06-board-opened");

    step = "volunteer";
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
    });
    await phone.addInitScript((token) => window.localStorage.setItem("hourmark.token", token), input.volunteer_token);
    const me = watch(await phone.newPage());
    await me.goto(input.base + "/me#signups");
    await me.waitForSelector("#signups:not([hidden]) #signup-list .signup");
    out.me_badge = await text(me, "#signup-list .signup .badge");
    out.me_reason = await text(me, "#signup-list .signup .why");
    out.me_buttons = await me.locator("#signup-list .signup button").count();
    await shot(me, "07-me-signups", true);

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
