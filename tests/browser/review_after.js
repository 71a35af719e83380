// The recorder's review after finalising, in real Chromium, driven by
// tests/it/console_review.rs once a member of the public has objected to a day in
// publicity: the first recorder, who finalised, may not judge the objection, proposes a
// correction of another day and may not approve it; the second recorder upholds the
// objection with corrected minutes and approves the correction.
//
//   node review_after.js '{"base":…,"first":<token>,"second":<token>,"activity_id":…,"correct_session":"<id>|<day>","artifacts":…}'
"use strict";
const path = require("path");
const fs = require("fs");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [] };

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  const consoleErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
    const signIn = async (token) => {
      await context.clearCookies();
      await context.addCookies([{ name: "hourmark_staff", value: token, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    };
    const page = await context.newPage();
    page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    const shot = async (name) => {
      await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: true });
      out.steps.push("screenshot " + name);
    };
    const submitAndReload = (click) => Promise.all([page.waitForEvent("load", { timeout: 10000 }), click()]);
    const review = input.base + "/console/activities/" + input.activity_id + "/review";

    const refusal = async (form, click) => {
      await click();
      await page.waitForFunction((sel) => {
        const el = document.querySelector(sel + " .status");
        return el && el.classList.contains("error") && el.textContent.length > 0;
      }, form, { timeout: 10000 });
      return page.$eval(form + " .status", (el) => el.dataset.code);
    };

    // The objection names whose day it disputes; the recorder who finalised may not judge it.
    await signIn(input.first);
    await page.goto(review);
    const objection = "#objections tbody tr";
    out.objection_subject = await page.$eval(objection + " td", (td) => td.textContent.trim());
    await shot("08-review-objection");
    await page.fill(objection + ' input[name="minutes"]', "150");
    await page.fill(objection + ' input[name="reason"]', "核实签到表，下午迟到半小时");
    out.objection_own = await refusal(objection + " form", () => page.click(objection + ' button[value="true"]'));

    // A correction of the late entry's day, proposed by the first recorder, who may not
    // approve it.
    await page.selectOption('#correction-form select[name="session"]', input.correct_session);
    await page.fill('#correction-form input[name="minutes"]', "90");
    await page.fill('#correction-form textarea[name="reason"]', "签到表显示实际服务 1.5 小时");
    await submitAndReload(() => page.click('#correction-form button[type="submit"]'));
    const decide = "#corrections tr:has(form.decide-correction) form.decide-correction";
    await page.fill(decide + ' input[name="reason"]', "自己批准");
    out.correction_same = await refusal(decide, () => page.click(decide + ' button[value="true"]'));

    // The second recorder upholds the objection and approves the correction.
    await signIn(input.second);
    await page.goto(review);
    await page.fill(objection + ' input[name="minutes"]', "150");
    await page.fill(objection + ' input[name="reason"]', "核实签到表，下午迟到半小时");
    await submitAndReload(() => page.click(objection + ' button[value="true"]'));
    out.objection_status = await page.$eval(objection + ' [data-field="status"]', (el) => el.textContent.trim());
    await page.fill(decide + ' input[name="reason"]', "与签到表一致");
    await submitAndReload(() => page.click(decide + ' button[value="true"]'));
    out.correction_rows = await page.$$eval("#corrections tbody tr", (trs) => trs.map((tr) => tr.textContent.replace(/\s+/g, " ").trim()));
    await shot("09-review-corrected");

    // On a tablet, finding one volunteer among the activity's by part of a name: the
    // finalised days, the correction form and the evaluations narrow to them.
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.fill('#volunteers-section input[name="who"]', "李");
    await submitAndReload(() => page.click('#volunteers-section button[type="submit"]'));
    out.search = {
      pager: await page.$eval("#people-pager", (el) => el.textContent.replace(/\s+/g, " ").trim()),
      finalised: await page.$$eval("#finalised-sessions tbody tr[data-volunteer-id]", (trs) => trs.map((tr) => Number(tr.dataset.volunteerId))),
      options: await page.$$eval('#correction-form select[name="session"] option', (os) => os.map((o) => o.value)),
      evaluations: await page.$$eval("#evaluations tbody tr[data-volunteer-id]", (trs) => trs.map((tr) => Number(tr.dataset.volunteerId))),
      typed: await page.$eval('#volunteers-section input[name="who"]', (el) => el.value),
    };
    await shot("10-review-search-tablet");
    out.console_errors = consoleErrors;
  } catch (e) {
    out.error = String(e && e.stack || e);
    out.console_errors = consoleErrors;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
})();
