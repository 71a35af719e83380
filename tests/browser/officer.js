// The officer's and the administrator's console pages in real Chromium, driven by the
// Rust test tests/it/console_officer.rs, which seeds through the API, hands over two
// browser sessions (an officer's, an administrator's), runs this script and asserts on
// the JSON it prints. Screenshots go to `artifacts`.
//
//   node officer.js '{"base":…,"officer_cookie":…,"admin_cookie":…,"confirm_batch":…,"artifacts":…}'
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
  const open = async (cookie) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN", acceptDownloads: true });
    await context.addCookies([{ name: "hourmark_staff", value: cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    // Failed loads are reported by address instead (the browser's own favicon guess aside).
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("response", r => {
      if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") consoleErrors.push(r.status() + " " + r.url());
    });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    // Every question a page asks is answered yes, and kept for the Rust side to read.
    page.on("dialog", d => { out.dialogs.push(d.message()); d.accept(); });
    return page;
  };
  const shot = async (page, name, fullPage) => {
    const file = path.join(input.artifacts, name + ".png");
    await page.screenshot({ path: file, fullPage: Boolean(fullPage) });
    out.steps.push("screenshot " + name);
    return file;
  };
  const stateOf = (page, selector) => page.$eval(selector + " .state", td => td.textContent.trim());
  try {
    const officer = await open(input.officer_cookie);

    step = "organisations";
    await officer.goto(input.base + "/console/organisations");
    await shot(officer, "01-organisations");
    const row = officer.locator("#organisations tr", { hasText: input.application });
    await row.locator("button[data-action=approve]").click();
    await officer.waitForFunction((name) => [...document.querySelectorAll("#organisations tr")]
      .some(tr => tr.textContent.includes(name) && tr.querySelector(".state").textContent.includes("已批准")), input.application);
    out.approved_state = (await row.locator(".state").textContent()).trim();
    await shot(officer, "02-organisation-approved");

    step = "batches";
    await officer.goto(input.base + "/console/batches");
    await shot(officer, "03-batches");
    out.batch_durations = await officer.$$eval("#batches tbody tr", trs => trs.map(tr => tr.cells[3].textContent));
    const returnRow = "#batches tr[data-batch-id='" + input.return_batch + "']";
    // An empty reason is stopped by the form: nothing is sent.
    await officer.click(returnRow + " form button[type=submit]");
    await officer.waitForTimeout(300);
    out.empty_return_kept_pending = (await stateOf(officer, returnRow)) === "待确认";
    await officer.fill(returnRow + " input[name=reason]", input.return_reason);
    await officer.click(returnRow + " form button[type=submit]");
    await officer.waitForFunction(s => document.querySelector(s + " .state").textContent.includes("已退回"), returnRow);
    const confirmRow = "#batches tr[data-batch-id='" + input.confirm_batch + "']";
    await officer.click(confirmRow + " button[data-action=confirm]");
    await officer.waitForFunction(s => document.querySelector(s + " .state").textContent.includes("已确认"), confirmRow);
    await shot(officer, "04-batches-decided");
    await officer.reload();
    out.batch_states = await officer.$$eval("#batches tbody tr .state", tds => tds.map(td => td.textContent.trim()));
    await shot(officer, "05-batches-after-reload");
    const [download] = await Promise.all([
      officer.waitForEvent("download"),
      officer.click("a[href='/api/v1/report-batches/export.xlsx']"),
    ]);
    out.xlsx = path.join(input.artifacts, "report.xlsx");
    await download.saveAs(out.xlsx);
    const [one] = await Promise.all([
      officer.waitForEvent("download"),
      officer.click(confirmRow + " a.batch-xlsx"),
    ]);
    out.batch_xlsx = path.join(input.artifacts, "batch.xlsx");
    await one.saveAs(out.batch_xlsx);

    step = "volunteers";
    await officer.goto(input.base + "/console/volunteers");
    out.volunteers_listed = await officer.$$eval("#volunteers tbody tr", trs => trs.map(tr => tr.cells[1].textContent));
    await shot(officer, "06-volunteers");
    await officer.click("a[href='/console/volunteers?id=" + input.volunteer_id + "']");
    await officer.waitForSelector("#reveal");
    const shown = () => officer.evaluate(() => ({
      id_number: document.getElementById("id-number").textContent,
      phone: document.getElementById("phone").textContent,
      status: document.getElementById("officer-status").textContent,
      audit_row: (document.querySelector("#audit tbody tr") || { textContent: "" }).textContent,
    }));
    out.masked = await shown();
    await shot(officer, "07-volunteer-masked");
    const dialogsBefore = out.dialogs.length;
    await officer.click("#reveal");
    await officer.waitForFunction(() => !document.getElementById("phone").textContent.includes("*"));
    await officer.waitForFunction(() => document.getElementById("officer-status").textContent.length > 0);
    out.reveal_notice = out.dialogs[dialogsBefore] || null;
    out.revealed = await shown();
    await shot(officer, "08-volunteer-revealed");

    step = "recorders";
    await officer.goto(input.base + "/console/recorders");
    await shot(officer, "15-recorders");
    const recorderRow = "#recorders tr[data-staff-id='" + input.recorder_id + "']";
    await officer.click(recorderRow + " form button[type=submit]");
    await officer.waitForFunction(s => !document.querySelector(s).classList.contains("attention"), recorderRow);
    out.recorder_after = await officer.$eval(recorderRow, tr => ({
      state: tr.querySelector(".state").textContent, due: tr.querySelector(".due").textContent }));
    await shot(officer, "16-recorders-reviewed");

    step = "regional days";
    await officer.goto(input.base + "/console/regional-days");
    await officer.fill("#overlay-form input[name=day]", input.regional_day);
    await officer.fill("#overlay-form input[name=name]", input.regional_name);
    await Promise.all([officer.waitForNavigation(), officer.click("#overlay-form button[type=submit]")]);
    out.regional_days = await officer.$$eval("#regional-days tbody tr", trs => trs.map(tr => [...tr.cells].map(c => c.textContent.trim()).join(" ")));
    await shot(officer, "17-regional-days", true);

    step = "staff";
    const admin = await open(input.admin_cookie);
    await admin.goto(input.base + "/console/staff");
    await shot(admin, "09-staff");
    await admin.fill("#invite-form input[name=name]", input.invite_name);
    await admin.fill("#invite-form input[name=login]", input.invite_login);
    await admin.selectOption("#invite-role", "organiser");
    await admin.click("#invite-form button[type=submit]");
    await admin.waitForSelector("#invite-result:not([hidden])");
    out.invite_url = await admin.inputValue("#invite-url");
    out.invite_qr_shot = path.join(input.artifacts, "10-invite-qr.png");
    await admin.locator("#invite-qr").screenshot({ path: out.invite_qr_shot });
    await shot(admin, "11-staff-invited");
    // The new person's row is in the list at once, before any reload.
    const invitedRow = admin.locator("#staff tr", { hasText: input.invite_login });
    out.invited_row_before_reload = await invitedRow.count();
    await invitedRow.scrollIntoViewIfNeeded();
    await shot(admin, "11b-staff-invited-row");
    await admin.reload();
    await admin.locator("#staff tr", { hasText: input.invite_login }).locator("button.reinvite").click();
    await admin.waitForSelector("#invite-result:not([hidden])");
    out.reinvite_url = await admin.inputValue("#invite-url");
    await shot(admin, "12-staff-reinvited");

    step = "staff passkeys";
    const lostRow = "#staff tr[data-staff-id='" + input.lost_phone_id + "']";
    await admin.click(lostRow + " button.passkeys");
    await admin.waitForSelector(".passkeys-row li button.remove-passkey");
    out.passkeys_listed = await admin.$$eval(".passkeys-row li", lis => lis.map(li => li.textContent.trim()));
    out.passkeys_expanded = await admin.getAttribute(lostRow + " button.passkeys", "aria-expanded");
    await shot(admin, "18-staff-passkeys");
    const dialogsBeforeRemoval = out.dialogs.length;
    await admin.click(".passkeys-row button.remove-passkey");
    await admin.waitForSelector(".passkeys-row .empty");
    out.passkey_removal_notice = out.dialogs[dialogsBeforeRemoval] || null;
    out.passkey_removed_status = await admin.textContent("#admin-status");
    out.passkeys_after = await admin.textContent(".passkeys-row");
    await shot(admin, "19-staff-passkey-removed");

    step = "calendar";
    await admin.goto(input.base + "/console/calendar");
    await shot(admin, "13-calendar", true);

    step = "nav at 1024";
    // The officer's links stay on one line on a 1024-pixel screen.
    const navHeight = () => officer.$eval("header.bar", h => h.getBoundingClientRect().height);
    await officer.goto(input.base + "/console/organisations");
    const wide = await navHeight();
    await officer.setViewportSize({ width: 1024, height: 768 });
    out.officer_nav_one_line = (await navHeight()) === wide;
    await shot(officer, "20-officer-nav-1024");

    step = "youth league";
    // A Youth League officer: the organisations page shows their approvals; civil affairs'
    // pages answer a 403 page saying who handles them (those 403s are expected here).
    const league = await open(input.league_cookie);
    await league.goto(input.base + "/console/organisations");
    out.league_organisations = await league.textContent("main");
    await shot(league, "21-league-organisations");
    const refused = await league.goto(input.base + "/console/batches");
    out.league_batches = { status: refused.status(), text: await league.textContent("main") };
    await shot(league, "22-league-batches");
    const expected = "403 " + input.base + "/console/batches";
    consoleErrors.splice(0, consoleErrors.length, ...consoleErrors.filter(e => e !== expected));

    step = "tablet";
    await officer.setViewportSize({ width: 820, height: 1180 });
    await officer.goto(input.base + "/console/batches");
    await shot(officer, "14-batches-tablet");
    out.console_errors = consoleErrors;
  } catch (e) {
    out.error = step + ": " + String(e && e.stack || e);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(out) + "\n");
  }
})();
