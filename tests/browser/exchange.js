// The roster and export desks in real Chromium at a 1280×800 desk, driven by
// tests/it/console_exchange.rs: the organiser opens 名册导入 from the bar (its past imports
// list the refused one the test sent through the API), dry-runs a roster
// with a bad ID number in row 73 (the report names the row; 导入 stays off), asks the test
// how many volunteers are stored (`{"op":"volunteers"}`), dry-runs and imports the
// corrected roster (Excel), finds it marked first among the past imports, then on 报送导出 exports the volunteers and downloads the CSV
// and Excel files, and asks once more (nothing new). Prints one JSON object; screenshots
// and downloads go to `artifacts`.
"use strict";
const path = require("path");
const fs = require("fs");
const readline = require("readline");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [] };
let step = "start";
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ask = async (message) => {
  console.log(JSON.stringify(message));
  const { value } = await lines.next();
  return JSON.parse(value);
};

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  const consoleErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "zh-CN", acceptDownloads: true });
    await context.addCookies([{ name: "hourmark_staff", value: input.organiser_cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("response", r => {
      const where = new URL(r.url()).pathname;
      // The one refusal provoked on purpose: asking for an export with nothing new in it.
      const expected = r.status() === 409 && where.endsWith("/exchange-exports") && r.request().method() === "POST";
      if (r.status() >= 400 && !expected && where !== "/favicon.ico") consoleErrors.push(r.status() + " " + r.url());
    });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    const shot = async (name, fullPage) => {
      await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: Boolean(fullPage) });
      out.steps.push("screenshot " + name);
    };
    const text = (sel) => page.$eval(sel, e => e.textContent.trim());
    const facts = (sel) => page.$$eval(sel + " dd", ds => ds.map(d => d.textContent.trim()));
    const pastImports = () => page.$$eval("#past-imports tbody tr", trs => trs.map(tr =>
      [tr.dataset.state, tr.classList.contains("just-recorded"), ...[1, 2, 3, 4, 5, 6, 7].map(i => tr.cells[i].textContent.trim())]));

    step = "the bar leads to 名册导入";
    await page.goto(input.base + "/console");
    await page.click("header nav a[href='/console/roster']");
    await page.waitForURL("**/console/roster");
    out.past_before = await pastImports();
    await shot("01-roster-desk", true);

    step = "dry run: row 73";
    await page.setInputFiles("#roster-file", input.bad_file);
    await page.click("#dry-run");
    await page.locator("#report:not([hidden])").waitFor();
    await page.locator("#roster-status.error").waitFor();
    out.bad_facts = await facts("#report-facts");
    out.bad_refused = await page.$$eval("#refused-rows tbody tr", trs => trs.map(tr => [tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim(), tr.dataset.problem]));
    out.bad_import_disabled = await page.$eval("#import", b => b.disabled);
    out.bad_status = await text("#roster-status");
    await shot("02-row-73-refused", true);
    out.stored_after_bad = (await ask({ op: "volunteers" })).count;

    step = "dry run: corrected roster";
    await page.setInputFiles("#roster-file", input.good_file);
    out.report_hidden_on_change = await page.$eval("#report", e => e.hidden);
    await page.click("#dry-run");
    await page.locator("#import:not([disabled])").waitFor();
    out.good_status = await text("#roster-status");
    out.good_refused_hidden = await page.$eval("#refused-rows", e => e.hidden);
    await shot("03-roster-passes");

    step = "import";
    await page.click("#import");
    await page.locator("#past-imports tr.just-recorded").waitFor();
    out.past_after = await pastImports();
    out.import_status = await text("#roster-status");
    out.import_disabled_after = await page.$eval("#import", b => b.disabled);
    await shot("04-imported", true);

    step = "the bar leads to 报送导出";
    await page.click("header nav a[href='/console/exports']");
    await page.waitForURL("**/console/exports");
    out.no_exports = await text("#no-exports");
    await shot("05-export-desk-empty");

    step = "export the volunteers";
    await page.selectOption("#export-kind", "volunteers");
    await page.click("#create-export");
    await page.locator("#exports tbody tr.just-recorded").waitFor();
    out.export_status = await text("#export-status");
    out.export_rows = await page.$$eval("#exports tbody tr", trs => trs.map(tr => [1, 2, 3, 4].map(i => tr.cells[i].textContent.trim())));
    await shot("06-exported");

    step = "download";
    for (const [kind, sel] of [["csv", ".export-csv"], ["xlsx", ".export-xlsx"]]) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click("#exports tbody tr:first-child " + sel)]);
      const file = path.join(input.artifacts, "export." + kind);
      await download.saveAs(file);
      out[kind] = file;
      out[kind + "_name"] = download.suggestedFilename();
    }

    step = "nothing new";
    await page.click("#create-export");
    await page.locator("#export-status.error").waitFor();
    out.again_status = await text("#export-status");
    out.rows_after_again = await page.$$eval("#exports tbody tr", trs => trs.length);
    await shot("07-nothing-new");

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
