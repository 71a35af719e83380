// The certificate and star desks in real Chromium, driven by tests/it/console_register.rs,
// which seeds through the API (two certificate requests, a star application), hands over
// browser sessions (a recorder's, a county officer's, a Youth League officer's), runs this
// script and asserts on the JSON it prints and on what the API holds afterwards.
// Screenshots go to `artifacts`.
//
//   node register.js '{"base":…,"recorder_cookie":…,"officer_cookie":…,"league_cookie":…,"artifacts":…}'
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
  const open = async (cookie, viewport) => {
    const context = await browser.newContext({ viewport, locale: "zh-CN", acceptDownloads: true });
    await context.addCookies([{ name: "hourmark_staff", value: cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("response", r => {
      // The refusals the script provokes on purpose.
      const at = new URL(r.url()).pathname;
      const expected = (r.status() === 403 && at === "/console/certificates")
        || (r.status() === 409 && (at === "/api/v1/time-bank/spends" || at.endsWith("/revoke")))
        || (r.status() === 422 && at.endsWith("/seal"));
      if (r.status() >= 400 && !expected && new URL(r.url()).pathname !== "/favicon.ico") consoleErrors.push(r.status() + " " + r.url());
    });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    page.on("dialog", d => { out.dialogs.push(d.message()); d.accept(); });
    return page;
  };
  const shot = async (page, name, fullPage) => {
    await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: Boolean(fullPage) });
    out.steps.push("screenshot " + name);
  };
  const states = (page, table) => page.$$eval(table + " tbody .state", tds => tds.map(td => td.textContent.trim()));
  try {
    // A recorder at a desk.
    const recorder = await open(input.recorder_cookie, { width: 1280, height: 800 });
    step = "certificate desk";
    await recorder.goto(input.base + "/console/certificates");
    out.recorder_bar = await recorder.textContent("header nav");
    out.request_rows = await recorder.$$eval("#certificate-requests tbody tr", trs => trs.map(tr => ({
      id: Number(tr.dataset.requestId), volunteer: tr.cells[1].textContent.trim(),
      scope: tr.cells[2].textContent.trim(), confirmed: tr.cells[3].textContent.trim(),
    })));
    await shot(recorder, "01-certificate-requests", true);

    step = "seal";
    await recorder.setInputFiles("#seal-form input[name=seal]", input.not_a_png);
    await recorder.click("#seal-form button");
    await recorder.locator("#register-status.error").waitFor();
    out.bad_seal_status = (await recorder.textContent("#register-status")).trim();
    await recorder.setInputFiles("#seal-form input[name=seal]", input.seal_png);
    await recorder.click("#seal-form button");
    await recorder.locator("#register-status:not(.error)", { hasText: "印章已上传" }).waitFor();

    step = "issue";
    const issueRow = recorder.locator("#certificate-requests tr[data-request-id='" + input.issue_id + "']");
    await issueRow.locator("input[name=handler]").fill("李四");
    await issueRow.locator("input[name=contact]").fill("0871-65123456");
    await issueRow.locator(".issue-form button").click();
    await issueRow.locator(".state a").waitFor();
    out.issued_state = (await issueRow.locator(".state").textContent()).trim();
    out.status = (await recorder.textContent("#register-status")).trim();
    const download = recorder.waitForEvent("download");
    await issueRow.locator(".state a").click();
    const pdf = path.join(input.artifacts, "issued.pdf");
    await (await download).saveAs(pdf);
    out.pdf = pdf;
    step = "decline without a reason";
    const declineRow = recorder.locator("#certificate-requests tr[data-request-id='" + input.decline_id + "']");
    out.remembered_handler = await declineRow.locator("input[name=handler]").inputValue();
    await declineRow.locator(".decline-form button").click();
    out.empty_decline_valid = await declineRow.locator(".decline-form input[name=reason]").evaluate(i => i.validity.valid);

    step = "decline";
    await declineRow.locator(".decline-form input[name=reason]").fill(input.decline_reason);
    await declineRow.locator(".decline-form button").click();
    await declineRow.locator(".state", { hasText: "未予出具" }).waitFor();

    out.request_states = await states(recorder, "#certificate-requests");
    await shot(recorder, "02-certificate-issued-and-declined", true);

    step = "revoke";
    out.number = out.issued_state.match(/HM\d{10}/)[0];
    await recorder.fill("#revoke-form input[name=number]", out.number);
    await recorder.fill("#revoke-form input[name=reason]", input.revoke_reason);
    await recorder.click("#revoke-form button");
    await recorder.locator("#register-status", { hasText: "已撤销" }).waitFor();
    out.revoke_status = (await recorder.textContent("#register-status")).trim();
    step = "revoke again";
    await recorder.fill("#revoke-form input[name=number]", out.number);
    await recorder.fill("#revoke-form input[name=reason]", input.revoke_reason);
    await recorder.click("#revoke-form button");
    await recorder.locator("#register-status.error").waitFor();
    out.revoke_again_status = (await recorder.textContent("#register-status")).trim();
    await shot(recorder, "03-certificate-revoked");

    // The county's civil-affairs officer, on a tablet.
    const officer = await open(input.officer_cookie, { width: 1024, height: 768 });
    step = "officer bar";
    await officer.goto(input.base + "/console/stars");
    const bar = officer.locator("header.bar");
    out.officer_bar = await officer.textContent("header nav");
    out.officer_bar_height = (await bar.boundingBox()).height;
    out.officer_nav_wraps = await officer.$eval("header nav", nav => {
      const tops = [...nav.children].map(c => c.getBoundingClientRect().top);
      return Math.max(...tops) - Math.min(...tops) > 4;
    });
    step = "stars";
    out.application_rows = await officer.$$eval("#star-applications tbody tr", trs => trs.map(tr => tr.cells[1].textContent.trim()));
    await shot(officer, "04-star-applications", true);
    const starRow = officer.locator("#star-applications tr[data-application-id='" + input.star_application_id + "']");
    await starRow.locator("input[name=reason]").fill(input.grant_reason);
    await starRow.locator("button[value=true]").click();
    await starRow.locator(".state", { hasText: "已认定" }).waitFor();
    out.star_states = await states(officer, "#star-applications");
    await shot(officer, "05-star-granted", true);

    step = "youth league";
    const league = await open(input.league_cookie, { width: 1280, height: 800 });
    const refused = await league.goto(input.base + "/console/certificates");
    out.league = { status: refused.status(), text: (await league.textContent("main")).trim(), bar: await league.textContent("header nav") };
    await shot(league, "06-league-certificates");

    // The organiser's time bank desk, on a tablet.
    step = "time bank setting";
    const desk = await open(input.organiser_cookie, { width: 1024, height: 768 });
    await desk.goto(input.base + "/console/time-bank");
    await shot(desk, "07-time-bank");
    await desk.selectOption("#setting-form select[name=min_stars_to_spend]", "1");
    await desk.click("#setting-form button");
    await desk.locator("#register-status", { hasText: "设置已保存" }).waitFor();
    out.stars_fact = (await desk.textContent("#fact-stars")).trim();
    step = "spend from the empty pool";
    await desk.fill("#spend-form input[name=service]", "助老陪护");
    await desk.click("#spend-form button");
    await desk.locator("#register-status.error").waitFor();
    out.pool_status = (await desk.textContent("#register-status")).trim();
    step = "spend from savings";
    await desk.fill("#spend-form input[name=volunteer_number]", input.volunteer_number);
    await desk.fill("#spend-form input[name=beneficiary]", "张三之母");
    await desk.click("#spend-form button");
    await desk.locator("#register-status:not(.error)", { hasText: "已登记" }).waitFor();
    out.spend_status = (await desk.textContent("#register-status")).trim();
    await shot(desk, "08-time-bank-spent");

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
