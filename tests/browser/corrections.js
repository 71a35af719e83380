// A volunteer asks for a correction on /me (我的信息) in real Chromium at 390×844, zh-CN,
// driven by tests/it/volunteer_pages.rs: the form (every field labelled, reachable by
// keyboard), a request filed, the staff decision read back, a second request about a
// service record. The Rust side decides when asked ({"op":"decide"} on stdout; the answer
// on stdin). The last stdout line is the result.
"use strict";
const path = require("path");
const fs = require("fs");
const readline = require("readline");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [], console_errors: [], overflow: [] };
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ask = async (request) => {
  process.stdout.write(JSON.stringify(request) + "\n");
  const { value } = await lines.next();
  return JSON.parse(value);
};
const shot = async (page, name) => {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 390) out.overflow.push(name + ": " + width);
  await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: true });
  out.steps.push("screenshot " + name);
};
const requests = (page) => page.$$eval("#corrections .request",
  l => l.map(e => Array.from(e.children).map(c => c.innerText.replace(/\s+/g, " ").trim()).join(" ")));

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  let step = "start";
  try {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
      userAgent: "Mozilla/5.0 (Linux; Android 10; Redmi 9A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0 Mobile Safari/537.36 MicroMessenger/8.0.40",
    });
    const page = await context.newPage();
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) out.console_errors.push(m.text()); });
    page.on("pageerror", e => out.console_errors.push(String(e)));

    step = "open my data";
    await page.goto(input.base + "/privacy");
    await page.evaluate(t => localStorage.setItem("hourmark.token", t), input.token);
    await page.goto(input.base + "/me#data");
    await page.waitForSelector("#corrections .empty");
    out.empty = await page.$eval("#corrections", e => e.innerText.trim());
    out.unlabelled = await page.$$eval("#correction input, #correction select, #correction textarea",
      l => l.filter(e => !document.querySelector('label[for="' + e.id + '"]')).map(e => e.id));
    out.offered = await page.$$eval("#c_field option", l => l.filter(o => !o.hidden).map(o => o.textContent));

    step = "a request, by keyboard";
    await page.focus("#c_field");
    await page.keyboard.press("Tab");
    out.focus_after_field = await page.evaluate(() => document.activeElement.id);
    await page.keyboard.type("张叁");
    await page.keyboard.press("Tab");
    await page.keyboard.type("身份证上的名字是“叁”");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("#corrections .request").length === 1);
    out.filed_note = await page.$eval("#c_note", e => e.textContent);
    out.filed = await requests(page);
    await shot(page, "1-correction-filed");

    step = "the decision";
    await ask({ op: "decide" });
    await page.reload();
    await page.waitForFunction(() => document.querySelector("#corrections .s-rejected"));
    out.decided = await requests(page);

    step = "a service record";
    await page.selectOption("#c_field", "other");
    out.other_hint = await page.$eval("#c_value_hint", e => e.textContent);
    await page.fill("#c_value", "12月5日 翠湖公园清洁 签退时间应为 11:30");
    await page.fill("#c_reason", "离开时手机没电，11:30 请负责人看过");
    await page.click("#correction button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#corrections .request").length === 2);
    out.both = await requests(page);
    await page.$eval("#correction", e => e.scrollIntoView());
    await shot(page, "2-corrections-listed");
    await context.close();
  } catch (e) {
    out.error = step + ": " + String(e && e.stack || e);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  }
})();
