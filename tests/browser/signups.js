// The sign-ups page in real Chromium, driven by tests/it/console_signups.rs in two phases:
// `publish` (an organiser reaches the page from the activity list and publishes two slots)
// and, after volunteers have signed up through the API, `decide` (a tablet's look at the
// list, a decline without and then with a reason, 全部通过, and a leader's read-only view).
// Prints one JSON object; screenshots go to `artifacts`.
//
//   node signups.js '{"phase":"publish","base":…,"organiser_cookie":…,"activity_id":…,"artifacts":…}'
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
  const open = async (cookie, viewport) => {
    const context = await browser.newContext({ viewport, locale: "zh-CN" });
    await context.addCookies([{ name: "hourmark_staff", value: cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    // The browser's own favicon request is the one 404 it reports as a console error.
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("response", r => {
      // The one refusal the script provokes on purpose: a slot name given twice.
      const expected = r.status() === 422 && r.request().method() === "PUT" && new URL(r.url()).pathname.endsWith("/recruitment");
      if (r.status() >= 400 && !expected && new URL(r.url()).pathname !== "/favicon.ico") consoleErrors.push(r.status() + " " + r.url());
    });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    return page;
  };
  const shot = async (page, name, fullPage) => {
    await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: Boolean(fullPage) });
    out.steps.push("screenshot " + name);
  };
  const page = "/console/activities/" + input.activity_id + "/signups";
  const slotRows = (p) => p.$$eval("#slots tbody tr", trs => trs.map(tr => Array.from(tr.cells, c => c.textContent.trim())));
  const signupRows = (p) => p.$$eval("#signups tbody tr", trs => trs.map(tr => Array.from(tr.cells).slice(0, 4).map(c => c.textContent.trim())));
  try {
    if (input.phase === "publish") {
      const desk = await open(input.organiser_cookie, { width: 1280, height: 800 });
      step = "activity list";
      await desk.goto(input.base + "/console");
      await desk.click("li.activity[data-activity-id='" + input.activity_id + "'] .signups-link");
      await desk.waitForURL("**" + page);
      await shot(desk, "01-not-recruiting", true);
      step = "slots";
      const [first, second] = input.slots;
      await desk.fill("#slot-rows li:nth-child(1) input[name=slot_name]", first[0]);
      await desk.fill("#slot-rows li:nth-child(1) input[name=slot_capacity]", String(first[1]));
      // A row added and removed again, then the second slot.
      await desk.click("#add-slot");
      await desk.click("#add-slot");
      await desk.click("#slot-rows li:nth-child(3) .remove-slot");
      out.slot_inputs = await desk.locator("#slot-rows li").count();
      await desk.fill("#slot-rows li:nth-child(2) input[name=slot_name]", second[0]);
      await desk.fill("#slot-rows li:nth-child(2) input[name=slot_capacity]", String(second[1]));
      await desk.fill("#recruit-form input[name=min_age]", String(input.min_age));
      // Not a full-page shot: Playwright's resizing for one can move the button under the next click.
      await shot(desk, "02-form-filled");
      step = "publish";
      await desk.click("#publish");
      await desk.locator("#recruit-status:not(.error)", { hasText: "招募已发布" }).waitFor();
      out.publish_status = (await desk.textContent("#recruit-status")).trim();
      await desk.locator("#slots tbody tr").nth(1).waitFor();
      out.slot_rows = await slotRows(desk);
      out.button = (await desk.textContent("#publish")).trim();
      await shot(desk, "03-published", true);
      step = "share link";
      await desk.waitForFunction(() => { const i = document.getElementById("share-qr"); return i.complete && i.naturalWidth > 0; }, null, { timeout: 10000 });
      out.share_url = await desk.inputValue("#share-url");
      out.share_hidden = await desk.$eval("#share-section", e => e.hidden);
      out.training_hidden = await desk.$eval("#training-section", e => e.hidden);
      await desk.locator("#share-section").screenshot({ path: path.join(input.artifacts, "03b-share-link-and-qr.png") });
    } else {
      step = "tablet";
      const tablet = await open(input.organiser_cookie, { width: 1024, height: 768 });
      await tablet.goto(input.base + page);
      await tablet.locator("#signups tbody tr").nth(3).waitFor();
      await shot(tablet, "04-tablet-pending");
      await shot(tablet, "05-tablet-pending-full", true);

      step = "desk";
      const desk = await open(input.organiser_cookie, { width: 1280, height: 800 });
      await desk.goto(input.base + page);
      await desk.locator("#signups tbody tr").nth(3).waitFor();
      out.before = await signupRows(desk);
      await shot(desk, "06-desk-pending");
      step = "decline without a reason";
      const row = desk.locator("#signups tr[data-signup-id='" + input.decline_id + "']");
      await row.locator("button.decline").click();
      await desk.locator("#signups-status.error").waitFor();
      out.empty_reason_status = (await desk.textContent("#signups-status")).trim();
      await shot(desk, "07-reason-wanted");
      step = "decline";
      await row.locator("input[name=reason]").fill(input.decline_reason);
      await row.locator("button.decline").click();
      await desk.locator("#signups tr[data-signup-id='" + input.decline_id + "'] .state.declined").waitFor();
      out.after_decline_state = (await desk.textContent("#signups tr[data-signup-id='" + input.decline_id + "'] .state")).trim();
      out.decline_status = (await desk.textContent("#signups-status")).trim();
      step = "approve all";
      await desk.click("#approve-all");
      await desk.locator("#signups-status:not(.error)", { hasText: "人的报名" }).waitFor();
      await desk.waitForFunction(() => !document.querySelector("#signups .state.pending"));
      out.approve_all_status = (await desk.textContent("#signups-status")).trim();
      out.approve_all_disabled = await desk.isDisabled("#approve-all");
      out.after = await signupRows(desk);
      out.slot_rows = await slotRows(desk);
      await shot(desk, "08-desk-decided", true);

      step = "a refused change";
      await desk.click("#add-slot");
      await desk.fill("#slot-rows li:nth-child(3) input[name=slot_name]", "医疗点");
      await desk.click("#publish");
      await desk.locator("#recruit-status.error").waitFor();
      out.refused_status = (await desk.textContent("#recruit-status")).trim();
      await desk.locator("#recruit-status").scrollIntoViewIfNeeded();
      await shot(desk, "08b-refused-change");

      step = "leader";
      const leader = await open(input.leader_cookie, { width: 1024, height: 768 });
      await leader.goto(input.base + "/console");
      out.leader_link = await leader.locator("li.activity[data-activity-id='" + input.activity_id + "'] .signups-link").count() === 1;
      await leader.goto(input.base + page);
      await leader.locator("#signups tbody tr").nth(3).waitFor();
      out.leader_rows = await leader.locator("#signups tbody tr").count();
      out.leader_controls = await leader.locator("#approve-all, #recruit-form, #signups button, #signups input").count();
      await shot(leader, "09-leader-tablet", true);
    }
    out.console_errors = consoleErrors;
    console.log(JSON.stringify(out));
    await browser.close();
  } catch (e) {
    out.error = step + ": " + (e && e.stack || e);
    for (const ctx of browser.contexts()) for (const p of ctx.pages()) {
      out.statuses = await p.$$eval("[role=status]", els => els.map(el => el.textContent.trim())).catch(() => null);
    }
    out.console_errors = consoleErrors;
    console.log(JSON.stringify(out));
    await browser.close();
    process.exit(1);
  }
})();
