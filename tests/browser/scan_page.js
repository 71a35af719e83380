// The volunteer's scan page in real Chromium on a phone-sized screen (390×844, zh-CN),
// driven by tests/it/scan_page.rs. The Rust side owns the server's clock and the codes:
// this script asks on stdout ({"op":"code"} or {"op":"advance","secs":N}, one JSON per
// line) and reads the answer from stdin. The last stdout line is the result.
"use strict";
const path = require("path");
const fs = require("fs");
const readline = require("readline");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [] };
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const ask = async (request) => {
  process.stdout.write(JSON.stringify(request) + "\n");
  const { value } = await lines.next();
  return JSON.parse(value);
};
const shot = async (page, name) => {
  const file = path.join(input.artifacts, name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  out.steps.push("screenshot " + name);
  return file;
};
const text = (page, sel) => page.$eval(sel, e => e.hidden ? null : e.innerText.trim());
const phone = async (browser) => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
    userAgent: "Mozilla/5.0 (Linux; Android 10; Redmi 9A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0 Mobile Safari/537.36 MicroMessenger/8.0.40",
  });
  const page = await context.newPage();
  page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) out.console_errors.push(m.text()); });
  page.on("pageerror", e => out.console_errors.push(String(e)));
  return page;
};
const outcome = async (page, title) => {
  await page.waitForFunction(t => document.getElementById("outcome-title").textContent === t, title, { timeout: 10000 });
  return {
    title: await text(page, "#outcome-title"), time: await text(page, "#outcome-time"),
    state: await text(page, "#outcome-state"), next: await text(page, "#outcome-next"),
    page_title: await page.title(), class: await page.$eval("#outcome", e => e.className),
    form_shown: await page.$eval("#register", e => !e.hidden),
  };
};
const fill = async (page, who) => {
  await page.fill("#name", who.name);
  await page.fill("#id_number", who.id_number);
  await page.fill("#phone", who.phone);
  await page.check("#c_record");
};

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  out.console_errors = [];
  const browser = await launchChromium();
  let step = "start";
  try {
    // A forged code: said before any form.
    step = "forged";
    let page = await phone(browser);
    let code = await ask({ op: "code" });
    const t = code.token.split(""); const i = t.length >> 1; t[i] = t[i] === "A" ? "B" : "A";
    await page.goto(input.base + "/S/" + t.join(""));
    out.forged = await outcome(page, "签到码无效");
    await shot(page, "01-forged-code");

    step = "expired";
    code = await ask({ op: "code" });
    await ask({ op: "advance", secs: 60 });
    await page.goto(input.base + "/S/" + code.token);
    out.expired = await outcome(page, "签到码已过期");
    await shot(page, "02-expired-code");

    // First registration, slow: five minutes between opening and submitting.
    step = "slow registration";
    code = await ask({ op: "code" });
    await page.goto(input.base + "/S/" + code.token);
    await page.waitForSelector("#register:not([hidden])");
    out.opened = {
      kind: await text(page, "#kind"), name: await text(page, "#activity-name"),
      organisation: await text(page, "#organisation"), where: await text(page, "#where"), when: await text(page, "#when"),
      hold: await text(page, "#hold-note"), privacy_links: await page.$$eval("#register a.privacy-link", as => as.map(a => a.getAttribute("href"))),
      page_title: await page.title(),
    };
    await shot(page, "03-opened-first-time");
    await fill(page, input.adult);
    await ask({ op: "advance", secs: 300 });
    await page.click("#register button[type=submit]");
    out.slow = await outcome(page, "签到成功");
    await shot(page, "04-checked-in-after-slow-form");

    // The same phone, later: a check-out, then a repeat within the guard.
    step = "check-out";
    await ask({ op: "advance", secs: 7800 });
    code = await ask({ op: "code" });
    await page.goto(input.base + "/S/" + code.token);
    out.check_out = await outcome(page, "签退成功");
    await shot(page, "05-checked-out");
    step = "repeat";
    await ask({ op: "advance", secs: 10 });
    code = await ask({ op: "code" });
    await page.goto(input.base + "/S/" + code.token);
    out.repeat = await outcome(page, "您刚刚已扫码，无需重复");
    await shot(page, "06-repeat-note");

    // Too slow: eleven minutes.
    step = "too slow";
    page = await phone(browser);
    code = await ask({ op: "code" });
    await page.goto(input.base + "/S/" + code.token);
    await page.waitForSelector("#register:not([hidden])");
    await fill(page, input.too_slow);
    await ask({ op: "advance", secs: 660 });
    await page.click("#register button[type=submit]");
    out.too_slow = await outcome(page, "扫码凭证已过期");
    await shot(page, "07-too-slow");

    // A minor, with a guardian.
    step = "minor";
    page = await phone(browser);
    code = await ask({ op: "code" });
    await page.goto(input.base + "/S/" + code.token);
    await page.waitForSelector("#register:not([hidden])");
    await fill(page, input.minor);
    await page.click("#register button[type=submit]");
    await page.waitForSelector("#guardian:not([hidden])");
    out.guardian_step = await outcome(page, "还差一步");
    out.guardian_privacy_links = await page.$$eval("#guardian a.privacy-link", as => as.map(a => a.getAttribute("href")));
    await page.fill("#g_name", "王大明");
    await page.selectOption("#g_relation", "父亲");
    await page.fill("#g_phone", "13600001111");
    await page.check("#g_agree");
    await shot(page, "08-guardian-form");
    await page.click("#guardian button[type=submit]");
    // The code goes to the guardian's phone; nothing is stored until it comes back.
    await page.waitForSelector("#confirm:not([hidden])");
    out.confirm_title = await page.$eval("#confirm-title", e => e.textContent);
    out.confirm_sent = await page.$eval("#confirm-sent", e => e.textContent);
    await page.fill("#c_code", "000000");
    await page.click("#confirm-submit");
    await page.waitForFunction(() => document.querySelector("#confirm-note").textContent.includes("还可再试"));
    out.wrong_code_note = await page.$eval("#confirm-note", e => e.textContent);
    const sms = await ask({ op: "sms_code", phone: "13600001111" });
    await page.fill("#c_code", sms.code);
    await shot(page, "09-guardian-code");
    await page.click("#confirm-submit");
    out.minor = await outcome(page, "签到成功");
    await shot(page, "10-minor-checked-in");

    step = "privacy";
    await page.goto(input.base + "/privacy");
    out.privacy_version = await page.$eval("#notice-version", e => e.dataset.version);
    await shot(page, "11-privacy-notice");
  } catch (e) {
    out.error = step + ": " + String(e);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  }
})();
