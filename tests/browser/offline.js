// The scan page with no network, in real Chromium on a phone-sized screen (390×844,
// zh-CN), driven by tests/it/offline_page.rs. A signed-in volunteer opens a code online
// (the service worker keeps the page), then the network goes: a code opened now is kept on
// the phone with where the phone was, and uploaded once when the network returns; one kept
// until after check-out closed is refused and said so in Chinese.
//
// The Rust side owns the server's clock and the codes: this script asks on stdout
// ({"op":"code"} or {"op":"advance","secs":N}) and reads the answer from stdin. The page's
// clock is Playwright's, moved forward with the server's so that the phone measures the
// same time passing; the last stdout line is the result.
"use strict";
const path = require("path");
const fs = require("fs");
const readline = require("readline");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [], console_errors: [] };
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ask = async (request) => {
  process.stdout.write(JSON.stringify(request) + "\n");
  const { value } = await lines.next();
  return JSON.parse(value);
};
const shot = async (page, name) => {
  await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: true });
  out.steps.push("screenshot " + name);
};
const text = (page, sel) => page.$eval(sel, e => e.hidden ? null : e.innerText.trim());
const outcome = async (page, title) => {
  await page.waitForFunction(t => document.getElementById("outcome-title").textContent === t, title, { timeout: 20000 });
  return {
    title: await text(page, "#outcome-title"), state: await text(page, "#outcome-state"),
    next: await text(page, "#outcome-next"), class: await page.$eval("#outcome", e => e.className),
    queue: await text(page, "#queue"), page_title: await page.title(),
  };
};
// The server's clock moves by `server` seconds, the phone's by `phone` seconds. The phone
// is given 15 s less, the real time that passes meanwhile: its measure of the wait then
// stays within the code's window.
const advance = async (page, server, phone) => {
  await ask({ op: "advance", secs: server });
  await page.clock.fastForward(phone * 1000);
};

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  let step = "start";
  try {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
      timezoneId: "Asia/Shanghai", permissions: ["geolocation"],
      // At the venue while online.
      geolocation: { latitude: 25.0471, longitude: 102.7041, accuracy: 12 },
      userAgent: "Mozilla/5.0 (Linux; Android 10; Redmi 9A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0 Mobile Safari/537.36 MicroMessenger/8.0.40",
    });
    await context.clock.install({ time: new Date(input.now) });
    const page = await context.newPage();
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) out.console_errors.push(m.text()); });
    page.on("pageerror", e => out.console_errors.push(String(e)));

    if (input.newcomer) {
      // A first-time volunteer reads a code, takes five minutes over the form, and the
      // scan after registering does not get through: it is kept as made at the reading.
      step = "newcomer reads a code";
      const code = await ask({ op: "code" });
      await page.goto(input.base + "/S/" + code.token);
      await page.waitForSelector("#register:not([hidden])");
      await page.fill("#name", input.newcomer.name);
      await page.fill("#id_number", input.newcomer.id_number);
      await page.fill("#phone", input.newcomer.phone);
      await page.check("#c_record");
      await advance(page, 300, 285);
      step = "newcomer registers; the scan is lost on the way";
      await page.route("**/mp/v1/scans", route => route.abort("internetdisconnected"));
      await page.click("#register button[type=submit]");
      out.newcomer_queued = await outcome(page, "已保存在手机上，联网后自动上传");
      out.newcomer_queued.time = await text(page, "#outcome-time");
      await shot(page, "4-newcomer-kept");
      step = "newcomer's network back";
      await page.unroute("**/mp/v1/scans");
      await advance(page, 60, 45);
      await context.setOffline(true);
      await context.setOffline(false);
      out.newcomer_uploaded = await outcome(page, "签到成功");
      out.newcomer_uploaded.time = await text(page, "#outcome-time");
      await shot(page, "5-newcomer-uploaded");
      await context.close();
      return;
    }

    step = "signed in on this phone";
    await page.goto(input.base + "/privacy");
    await page.evaluate(v => { localStorage.setItem("hourmark.token", v.token); localStorage.setItem("hourmark.device", v.device); }, input);

    step = "check in online";
    let code = await ask({ op: "code" });
    await page.goto(input.base + "/S/" + code.token);
    out.online = await outcome(page, "签到成功");
    out.kept_page = await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      for (let i = 0; i < 50; i++) {
        if (await caches.match("/S/shell") && await caches.match("/mp/static/scan-queue.js")) return true;
        await new Promise(r => setTimeout(r, 100));
      }
      return false;
    });

    step = "no network: the scan is kept";
    await advance(page, 120, 120);
    code = await ask({ op: "code" });
    await context.setOffline(true);
    // Offline, and 1.1 km north of the venue: the upload must say where the scan was made.
    await context.setGeolocation({ latitude: 25.057, longitude: 102.7041, accuracy: 12 });
    await page.goto(input.base + "/S/" + code.token);
    out.queued = await outcome(page, "已保存在手机上，联网后自动上传");
    await context.setGeolocation({ latitude: 25.0471, longitude: 102.7041, accuracy: 12 });
    out.queued.controlled = await page.evaluate(() => !!navigator.serviceWorker.controller);
    out.queued.waiting = await page.evaluate(() => window.HourmarkQueue.count());
    await shot(page, "1-queued-offline");

    step = "network back: uploaded once";
    await advance(page, 30, 15);
    await context.setOffline(false);
    out.uploaded = await outcome(page, "签退成功");
    out.uploaded.waiting = await page.evaluate(() => window.HourmarkQueue.count());
    out.uploaded.queue_shown = await page.$eval("#queue", e => !e.hidden);
    await shot(page, "2-uploaded");

    step = "kept past the bound: refused";
    await advance(page, 120, 120);
    code = await ask({ op: "code" });
    await context.setOffline(true);
    await page.goto(input.base + "/S/" + code.token);
    await outcome(page, "已保存在手机上，联网后自动上传");
    // Ten hours without a signal: check-out closed at 19:00.
    await advance(page, 10 * 3600 + 15, 10 * 3600);
    await context.setOffline(false);
    out.too_late = await outcome(page, "离线扫码上传过晚");
    out.too_late.waiting = await page.evaluate(() => window.HourmarkQueue.count());
    await shot(page, "3-refused-too-late");

    // A code opened at the lower-case path (typed or shared by hand) is kept offline too.
    step = "lower-case path, online";
    await advance(page, 120, 120);
    code = await ask({ op: "code" });
    await page.goto(input.base + "/s/" + code.token);
    await page.waitForFunction(() => document.getElementById("outcome-title").textContent.length > 0, null, { timeout: 20000 });
    out.lower_scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    step = "lower-case path, no network";
    await advance(page, 120, 120);
    code = await ask({ op: "code" });
    await context.setOffline(true);
    await page.goto(input.base + "/s/" + code.token);
    out.lower_queued = await outcome(page, "已保存在手机上，联网后自动上传");
    out.lower_queued.controlled = await page.evaluate(() => !!navigator.serviceWorker.controller);
    await context.close();
  } catch (e) {
    out.error = step + ": " + String(e && e.stack || e);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  }
})();
