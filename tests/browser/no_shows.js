// The no-shows on 报名管理 and on the live board in real Chromium, driven by
// tests/it/no_shows.rs: after the activity is finalised, an organiser on a tablet reads who
// was approved and did not come, with the note that the list is the organisation's own. Prints one JSON object;
// screenshots go to `artifacts`.
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
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, locale: "zh-CN" });
    await context.addCookies([{ name: "hourmark_staff", value: input.organiser_cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text()); });
    page.on("response", r => { if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") consoleErrors.push(r.status() + " " + r.url()); });
    page.on("pageerror", e => consoleErrors.push(String(e)));
    await page.goto(input.base + "/console/activities/" + input.activity_id + "/signups");
    await page.locator("#no-shows-section:not([hidden]) #no-shows li").first().waitFor();
    out.no_shows = await page.$$eval("#no-shows li", ls => ls.map(l => l.textContent.trim()));
    out.note = (await page.textContent("#no-shows-note")).trim();
    out.none_hidden = await page.$eval("#no-no-shows", e => e.hidden);
    await page.locator("#no-shows-section").scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(input.artifacts, "01-no-shows.png") });
    out.steps.push("screenshot 01-no-shows");

    // The live board of the same activity: the recorded list in its own panel, and the
    // count of who has not come follows it.
    await page.goto(input.base + "/console/activities/" + input.activity_id + "/board");
    await page.locator("#no-shows-panel:not([hidden]) #no-shows li").first().waitFor();
    out.board_no_shows = await page.$$eval("#no-shows li", ls => ls.map(l => Array.from(l.children, c => c.textContent.trim())));
    out.board_count = (await page.textContent("#no-show-count")).trim();
    out.board_note = (await page.textContent("#no-shows-note")).trim();
    out.board_missing_count = (await page.textContent("#missing-count")).trim();
    out.board_live_missing_hidden = await page.$eval("#missing-live", e => e.hidden);
    await page.screenshot({ path: path.join(input.artifacts, "02-board-no-shows.png"), fullPage: true });
    out.steps.push("screenshot 02-board-no-shows");
    out.console_errors = consoleErrors;
    console.log(JSON.stringify(out));
    await browser.close();
    process.exit(0);
  } catch (e) {
    out.error = String(e && e.stack || e);
    out.console_errors = consoleErrors;
    console.log(JSON.stringify(out));
    await browser.close();
    process.exit(1);
  }
})();
