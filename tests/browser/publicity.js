// The public board in real Chromium on a phone-sized screen (390×844, zh-CN), driven by
// tests/it/publicity_page.rs, which sets up two entries in publicity and checks what is
// stored afterwards. The last stdout line is the result (JSON).
"use strict";
const path = require("path");
const fs = require("fs");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [], console_errors: [] };
const shot = async (page, name) => {
  await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: true });
  out.steps.push("screenshot " + name);
};
const cards = (page) => page.$$eval("li.entry", (items) => items.map((li) => ({
  name: li.querySelector(".name").innerText.trim(),
  duration: li.querySelector(".duration").innerText.trim(),
  status: li.querySelector(".status").innerText.trim(),
})));
const result = async (form) => {
  await form.page().waitForFunction((f) => {
    const r = f.querySelector(".result");
    return r.textContent && r.textContent !== "正在提交…";
  }, await form.elementHandle(), { timeout: 10000 });
  return (await form.locator(".result").innerText()).trim();
};

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  let step = "start";
  try {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
      userAgent: "Mozilla/5.0 (Linux; Android 10; Redmi 9A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0 Mobile Safari/537.36",
    });
    const page = await context.newPage();
    page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) out.console_errors.push(m.text()); });
    page.on("pageerror", (e) => out.console_errors.push(String(e)));

    step = "board";
    await page.goto(input.base + "/publicity");
    out.cards = await cards(page);
    const boxes = await page.$$eval("li.entry", (items) => items.map((li) => li.getBoundingClientRect()).map((r) => [r.x, r.width]));
    out.one_column = boxes.length === 2 && boxes.every(([x, w]) => x === boxes[0][0] && w > 330);
    out.no_sideways_scroll = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    await shot(page, "1-board");

    step = "filter by activity";
    await page.locator("li.entry").nth(1).locator(".what a").first().tap();
    await page.waitForURL(/activity_id=/);
    out.filtered_url = page.url();
    out.filtered_names = (await cards(page)).map((c) => c.name);
    await shot(page, "2-filtered");

    step = "filter by day";
    await page.fill("#day", "2026-12-06");
    await page.click(".filters button[type=submit]");
    await page.waitForURL(/day=2026-12-06/);
    out.day_filtered_count = (await cards(page)).length;
    out.day_filtered_text = (await page.locator(".empty").innerText()).trim();
    await page.goto(out.filtered_url);

    step = "objection refused";
    const card = page.locator("li.entry").first();
    await card.locator("summary").tap();
    const form = card.locator("form.objection-form");
    out.entry_number_shown = (await form.locator(".about").innerText()).trim();
    await form.locator("[name=contact]").fill("王先生 13912345678");
    await form.locator("[name=reason]").fill("   ");
    await form.locator("button").tap();
    out.empty_reason = await result(form);
    const id = await form.getAttribute("data-entry-id");
    await form.evaluate((f) => { f.dataset.entryId = "999999"; });
    await form.locator("[name=reason]").fill("我当天也在敬老院，李四只待了二十分钟左右");
    await form.locator("button").tap();
    await page.waitForFunction((f) => f.querySelector(".result").textContent.startsWith("没有提交成功"), await form.elementHandle(), { timeout: 10000 });
    out.gone_entry = (await form.locator(".result").innerText()).trim();
    await shot(page, "3-objection-refused");

    step = "objection filed";
    await form.evaluate((f, id) => { f.dataset.entryId = id; }, id);
    await form.locator("button").tap();
    await page.waitForFunction((f) => f.querySelector(".result").textContent.startsWith("已收到"), await form.elementHandle(), { timeout: 10000 });
    out.filed = (await form.locator(".result").innerText()).trim();
    out.status_after_filing = (await card.locator(".status").innerText()).trim();
    await shot(page, "4-objection-filed");

    step = "reload";
    await page.goto(input.base + "/publicity");
    out.status_after_reload = (await cards(page)).map((c) => c.status);
    await shot(page, "5-after-reload");
  } catch (e) {
    out.error = step + ": " + String(e);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(out) + "\n");
  }
})();
