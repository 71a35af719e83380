// The recorder's review in real Chromium, driven by tests/it/console_review.rs: with the
// first recorder's session, from the review home to the activity's review on a desk; a
// flagged day is adjusted (over the cap first: refused), a late entry is asked for and
// the same recorder's approval refused, finalising is refused for it; the second
// recorder approves it; the first finalises and evaluates. Then the page on a tablet.
//
//   node review.js '{"base":…,"first":<token>,"second":<token>,"activity_id":…,"absent_number":…,"volunteer_id":…,"artifacts":…}'
//
// Prints one JSON line; a failed wait is reported in `error`.
"use strict";
const path = require("path");
const fs = require("fs");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [] };

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN" });
    const signIn = async (token) => {
      await context.clearCookies();
      await context.addCookies([{ name: "hourmark_staff", value: token, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    };
    const page = await context.newPage();
    const consoleErrors = [];
    page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    const shot = async (name) => {
      await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: true });
      out.steps.push("screenshot " + name);
    };
    const texts = (selector) => page.$$eval(selector, (els) => els.map((el) => el.textContent.replace(/\s+/g, " ").trim()));
    // Submits and waits for the reload that follows a success.
    const submitAndReload = async (click) => {
      await Promise.all([page.waitForEvent("load", { timeout: 10000 }), click()]);
    };
    // Submits and waits for the refusal shown in `status`.
    const refusal = async (status, click) => {
      await click();
      await page.waitForFunction((sel) => {
        const el = document.querySelector(sel);
        return el && el.classList.contains("error") && el.textContent.length > 0;
      }, status, { timeout: 10000 });
      return page.$eval(status, (el) => ({ text: el.textContent, code: el.dataset.code }));
    };
    const flagForm = "form.resolve";
    const review = input.base + "/console/activities/" + input.activity_id + "/review";

    // The home, reached from the nav.
    await signIn(input.first);
    await page.goto(input.base + "/console");
    await page.click("#review-link");
    await page.waitForURL("**/console/review");
    const row = `tr[data-activity-id="${input.activity_id}"]`;
    out.home = {
      open_flags: await page.$eval(row + ' [data-field="open_flags"]', (el) => el.textContent.trim()),
      state: await page.$eval(row + ' [data-field="state"]', (el) => el.textContent.trim()),
    };
    await shot("01-review-home");
    await page.click(row + " a");
    await page.waitForURL(review);

    // The flagged day.
    const day = `article.day[data-volunteer-id="${input.volunteer_id}"]`;
    out.day = {
      rule: await page.$eval(day + " .flag-title strong", (el) => el.textContent),
      evidence: (await texts(day + " .evidence")).join(" "),
      summary: await page.$eval(day + " .meta", (el) => el.textContent),
      scans: await texts(day + " table.scans tbody tr"),
    };
    out.blockers_before = await texts("#blockers li");
    await shot("02-review-flagged");

    // Adjust: first over the cap (refused), then within it.
    await page.check(flagForm + ' input[value="adjust"]');
    await page.fill(flagForm + ' input[name="minutes"]', "600");
    await page.fill(flagForm + ' textarea[name="reason"]', "在停车场引导，已核实");
    out.over_cap = await refusal(flagForm + " .status", () => page.click(flagForm + ' button[type="submit"]'));
    await shot("03-review-over-cap");
    await page.fill(flagForm + ' input[name="minutes"]', "180");
    await submitAndReload(() => page.click(flagForm + ' button[type="submit"]'));
    out.after_adjust = {
      flash: await page.$eval("#flash", (el) => el.textContent),
      decided: await page.$eval(day + ' [data-field="decision"]', (el) => el.textContent.trim()),
    };

    // A late entry for the volunteer who could not scan; the asker may not approve it.
    const late = "#late-entry-form";
    await page.fill(late + ' input[name="volunteer_number"]', input.absent_number);
    await page.fill(late + ' input[name="minutes"]', "120");
    await page.fill(late + ' textarea[name="evidence"]', "纸质签到表第 3 行，负责人签字");
    await page.fill(late + ' textarea[name="reason"]', "手机没电，未能扫码");
    await submitAndReload(() => page.click(late + ' button[type="submit"]'));
    out.late_volunteer = await page.$eval("#late-entries tbody tr td", (td) => td.textContent.trim());
    const decide = "form.decide-late";
    await page.fill(decide + ' input[name="reason"]', "自己批准");
    out.late_same = await refusal(decide + " .status", () => page.click(decide + ' button[value="true"]'));
    out.blockers_with_late = await texts("#blockers li");
    out.finalise_refused = await refusal("#finalise-status", () => page.click("#finalise"));
    await shot("04-review-late-entry-refused");

    // The second recorder approves it.
    await signIn(input.second);
    await page.goto(review);
    await page.fill(decide + ' input[name="reason"]', "签到表核实");
    await submitAndReload(() => page.click(decide + ' button[value="true"]'));
    out.late_by_second = await page.$eval('#late-entries [data-field="status"]', (el) => el.textContent.trim());

    // The first finalises, then evaluates the volunteer.
    await signIn(input.first);
    await page.goto(review);
    out.blockers_after = await texts("#blockers li");
    await submitAndReload(() => page.click("#finalise"));
    out.finalised = await page.$eval("#finalised-state strong", (el) => el.textContent);
    const evaluate = `form.evaluate[data-volunteer-id="${input.volunteer_id}"]`;
    await page.selectOption(evaluate + ' select[name="grade"]', "good");
    await page.fill(evaluate + ' input[name="comment"]', "引导认真");
    await submitAndReload(() => page.click(evaluate + ' button[type="submit"]'));
    out.evaluation = await page.$eval(`#evaluations tr[data-volunteer-id="${input.volunteer_id}"] [data-field="evaluation"]`, (el) => el.textContent.trim());
    await shot("05-review-finalised");

    // The same page on a tablet.
    await page.setViewportSize({ width: 1024, height: 768 });
    await shot("06-review-finalised-tablet");
    await page.goto(input.base + "/console/review");
    await shot("07-review-home-tablet");
    out.console_errors = consoleErrors;
  } catch (e) {
    out.error = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
})();
