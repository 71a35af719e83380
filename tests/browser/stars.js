// The star review, star rules and time-bank statement desks in real Chromium, driven by
// tests/it/console_stars.rs, which raises two star reviews through the API, hands over
// browser sessions (a county officer's, an administrator's), runs this script and
// asserts on the JSON it prints and on what the API holds afterwards. Screenshots go to
// `artifacts`.
//
//   node stars.js '{"base":…,"officer_cookie":…,"admin_cookie":…,"artifacts":…}'
"use strict";
const path = require("path");
const fs = require("fs");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [], dialogs: [] };
let step = "start";

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  const consoleErrors = [];
  let puts = 0; // rule changes sent
  const open = async (cookie, viewport) => {
    const context = await browser.newContext({ viewport, locale: "zh-CN", acceptDownloads: true });
    await context.addCookies([{ name: "hourmark_staff", value: cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("response", r => {
      const at = new URL(r.url()).pathname;
      if (r.request().method() === "PUT" && at.startsWith("/api/v1/star-rules/")) puts += 1;
      if (r.status() >= 400 && at !== "/favicon.ico") consoleErrors.push(r.status() + " " + r.url());
    });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    page.on("dialog", d => { out.dialogs.push(d.message()); d.accept(); });
    return page;
  };
  const shot = async (page, name, fullPage) => {
    await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: Boolean(fullPage) });
    out.steps.push("screenshot " + name);
  };
  const text = async (page, selector) => (await page.textContent(selector)).trim();
  try {
    // The county's officer at a desk: two stars under review.
    const officer = await open(input.officer_cookie, { width: 1280, height: 800 });
    step = "star reviews";
    await officer.goto(input.base + "/console/stars");
    out.review_rows = await officer.$$eval("#star-reviews tbody tr", trs => trs.map(tr => ({
      id: Number(tr.dataset.reviewId), volunteer: tr.cells[1].textContent.trim(),
      stars: tr.cells[2].textContent.trim(), hours: tr.cells[3].textContent.trim(),
    })));
    await shot(officer, "01-star-reviews", true);
    step = "keep a star";
    const keep = officer.locator("#star-reviews tr[data-review-id='" + input.keep_review + "']");
    await keep.locator("input[name=reason]").fill(input.keep_reason);
    await keep.locator("button[value=false]").click();
    await keep.locator(".state", { hasText: "已保留星级" }).waitFor();
    step = "revoke a star";
    const revoke = officer.locator("#star-reviews tr[data-review-id='" + input.revoke_review + "']");
    await revoke.locator("input[name=reason]").fill(input.revoke_reason);
    await revoke.locator("button[value=true]").click();
    await revoke.locator(".state", { hasText: "已撤销星级" }).waitFor();
    out.review_states = [await text(officer, "#star-reviews tr[data-review-id='" + input.keep_review + "'] .state"),
      await text(officer, "#star-reviews tr[data-review-id='" + input.revoke_review + "'] .state")];
    out.review_status = await text(officer, "#register-status");
    await shot(officer, "02-star-reviews-decided", true);
    await officer.reload();
    out.reviews_after_reload = await officer.locator("h2:has-text('星级复核') + p.empty").textContent();

    // An administrator at a desk: the star rules.
    const admin = await open(input.admin_cookie, { width: 1280, height: 800 });
    step = "administrator bar";
    await admin.goto(input.base + "/console");
    out.admin_bar = await admin.textContent("header nav");
    out.admin_nav_wraps = await admin.$eval("header nav", nav => {
      const tops = [...nav.children].map(c => c.getBoundingClientRect().top);
      return Math.max(...tops) - Math.min(...tops) > 4;
    });
    step = "star rules";
    await admin.click("header nav a[href='/console/star-rules']");
    await admin.waitForURL("**/console/star-rules");
    await shot(admin, "03-star-rules-pick");
    await admin.fill("input[name=region]", "530102");
    await Promise.all([admin.waitForURL("**/console/star-rules?region=530102"), admin.click("form.search button")]);
    out.rule_title = await text(admin, "#star-rule-form h2");
    out.rule_source = await text(admin, "#rule-source");
    out.rule_before = await admin.$$eval("#rule-facts dd[id^=fact-star]", dds => dds.map(d => d.textContent.trim()));
    step = "a decreasing rule";
    await admin.fill("#star-rule-form input[name=star2]", "1");
    await admin.click("#star-rule-form button[type=submit]");
    await admin.locator("#admin-status.error").waitFor();
    out.bad_rule_status = await text(admin, "#admin-status");
    out.bad_rule_puts = puts;
    await shot(admin, "04-star-rules-refused");
    step = "save a rule";
    for (const [n, hours] of [[1, 20], [2, 40], [3, 60], [4, 80], [5, 100]]) {
      await admin.fill("#star-rule-form input[name=star" + n + "]", String(hours));
    }
    await admin.fill("#star-rule-form input[name=complaint_block_days]", "30");
    await admin.click("#star-rule-form button[type=submit]");
    await admin.locator("#admin-status:not(.error)", { hasText: "已保存" }).waitFor();
    out.rule_status = await text(admin, "#admin-status");
    out.rule_after = await admin.$$eval("#rule-facts dd[id^=fact-star]", dds => dds.map(d => d.textContent.trim()));
    out.days_after = await text(admin, "#fact-days");
    await shot(admin, "05-star-rules-saved");
    step = "another province";
    await admin.fill("input[name=region]", "110000");
    await Promise.all([admin.waitForURL("**region=110000"), admin.click("form.search button")]);
    out.beijing_title = await text(admin, "#star-rule-form h2");
    out.beijing_source = await text(admin, "#rule-source");
    await admin.goto(input.base + "/console/star-rules?region=53");
    out.bad_region_notice = await text(admin, "p[role=alert]");

    // The same administrator reads a volunteer's time bank.
    step = "time bank lookup";
    await admin.click("header nav a[href='/console/time-bank']");
    await admin.waitForURL("**/console/time-bank");
    await admin.fill("input[name=number]", "100000000000");
    await Promise.all([admin.waitForURL("**number=100000000000**"), admin.click("form.search button")]);
    out.unknown_notice = await text(admin, "#statement-notice");
    step = "statement";
    await admin.fill("input[name=number]", input.volunteer_number);
    await Promise.all([admin.waitForURL("**number=" + input.volunteer_number + "**"), admin.click("form.search button")]);
    out.statement_title = await text(admin, "#statement-title");
    out.balance = await text(admin, "#fact-balance");
    out.opening = await text(admin, "#fact-opening");
    out.closing = await text(admin, "#fact-closing");
    out.statement_lines = await admin.$$eval("#statement-lines tbody tr", trs => trs.map(tr => ({
      at: tr.cells[0].textContent.trim(), kind: tr.cells[1].textContent.trim(), change: tr.cells[2].textContent.trim(),
      what: tr.cells[3].textContent.trim(), organisation: tr.cells[4].textContent.trim(),
    })));
    await shot(admin, "06-time-bank-statement", true);
    step = "download";
    const download = admin.waitForEvent("download");
    await admin.click("#download-csv");
    const saved = await download;
    out.csv_name = saved.suggestedFilename();
    out.csv = path.join(input.artifacts, "statement.csv");
    await saved.saveAs(out.csv);
    step = "another month";
    await admin.fill("input[name=month]", "2026-11");
    await Promise.all([admin.waitForURL("**month=2026-11**"), admin.click("form.search button")]);
    out.november_empty = await text(admin, "#statement p.empty");
    out.november_opening = await text(admin, "#fact-opening");
    await shot(admin, "07-time-bank-november", true);

    out.console_errors = consoleErrors;
    console.log(JSON.stringify(out));
    await browser.close();
  } catch (e) {
    out.error = step + ": " + (e && e.stack || e);
    out.console_errors = consoleErrors;
    console.log(JSON.stringify(out));
    await browser.close();
    process.exit(1);
  }
})();
