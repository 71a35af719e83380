// A returning volunteer on a fresh phone, in real Chromium (390×844, zh-CN), driven by
// tests/it/volunteer_pages.rs: signs in by SMS code from the scan page (the code is read
// from the SMS stand-in, as the phone would receive it), is checked in by the pending
// scan, checks out later, and reads their hours, notifications and data on /me. The Rust
// side owns the server's clock and the codes: this script asks on stdout ({"op":"code"}
// or {"op":"advance","secs":N}) and reads the answer on stdin. The last line is the result.
"use strict";
const path = require("path");
const fs = require("fs");
const readline = require("readline");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const out = { steps: [], console_errors: [], overflow: [] };
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const pages = [];
const ask = async (request) => {
  process.stdout.write(JSON.stringify(request) + "\n");
  const { value } = await lines.next();
  const answer = JSON.parse(value);
  // The phones' clocks follow the server's (whose time the test moves), as a real
  // phone's would: otherwise every scan is flagged for clock skew.
  if (answer.now) for (const p of pages) await p.clock.setFixedTime(new Date(answer.now));
  return answer;
};
const shot = async (page, name) => {
  // A page wider than the phone scrolls sideways: the one layout fault a volunteer notices first.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 390) out.overflow.push(name + ": " + width);
  await page.screenshot({ path: path.join(input.artifacts, name + ".png"), fullPage: true });
  out.steps.push("screenshot " + name);
};
const text = (page, sel) => page.$eval(sel, e => e.hidden ? null : e.innerText.trim());
const phone = async (browser) => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
    userAgent: "Mozilla/5.0 (Linux; Android 10; Redmi 9A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0 Mobile Safari/537.36 MicroMessenger/8.0.40",
  });
  const page = await context.newPage();
  pages.push(page);
  await ask({ op: "advance", secs: 0 });
  page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) out.console_errors.push(m.text()); });
  page.on("pageerror", e => out.console_errors.push(String(e)));
  return page;
};
const outcome = async (page, title) => {
  await page.waitForFunction(t => document.getElementById("outcome-title").textContent === t, title, { timeout: 10000 });
  return {
    title: await text(page, "#outcome-title"), time: await text(page, "#outcome-time"),
    state: await text(page, "#outcome-state"), next: await text(page, "#outcome-next"),
    page_title: await page.title(), me_link: await text(page, "#me-link"),
  };
};
const smsCode = async (phoneNumber) => {
  for (let i = 0; i < 50; i++) {
    const r = await fetch(input.sms + "/_sent/" + phoneNumber);
    if (r.ok) return (await r.json()).code;
    await new Promise(res => setTimeout(res, 100));
  }
  throw new Error("no SMS reached the stand-in");
};

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  let step = "start";
  try {
    step = "fresh phone opens a code";
    const page = await phone(browser);
    let code = await ask({ op: "code" });
    await page.goto(input.base + "/S/" + code.token);
    await page.waitForSelector("#register:not([hidden])");
    out.offered = await text(page, "#to-signin");
    await shot(page, "01-fresh-phone-sees-register-and-sign-in-link");

    step = "SMS sign-in";
    await page.click("#to-signin");
    await page.waitForSelector("#signin:not([hidden])");
    out.signin_hold = await text(page, "#signin-hold");
    out.signin_button = await text(page, "#signin-submit");
    await page.fill("#s_phone", input.phone);
    await page.click("#send-code");
    await page.waitForFunction(() => document.getElementById("signin-note").textContent.startsWith("如该号码已登记"), null, { timeout: 10000 });
    out.sent_note = await text(page, "#signin-note");
    out.resend_button = await text(page, "#send-code");
    const sms = await smsCode(input.phone);
    // A wrong code first, as a thumb on a small keyboard would.
    await page.fill("#s_code", sms === "000000" ? "111111" : "000000");
    await page.click("#signin-submit");
    await page.waitForFunction(() => document.getElementById("signin-note").textContent.startsWith("验证码错误"), null, { timeout: 10000 });
    out.wrong_note = await text(page, "#signin-note");
    await shot(page, "02-sign-in-wrong-code");
    await ask({ op: "advance", secs: 40 });
    await page.fill("#s_code", sms);
    await page.click("#signin-submit");
    out.checked_in = await outcome(page, "签到成功");
    await shot(page, "03-signed-in-and-checked-in");

    step = "check-out";
    await ask({ op: "advance", secs: 8100 - 40 });
    code = await ask({ op: "code" });
    await page.goto(input.base + "/S/" + code.token);
    out.checked_out = await outcome(page, "签退成功");
    await shot(page, "04-checked-out");

    step = "my hours";
    const dayCard = (page) => page.$eval("#days article", e => ({
      date: e.querySelector(".day-date").textContent, minutes: e.querySelector(".day-minutes").textContent,
      name: e.querySelector(".day-name").textContent, state: e.querySelector(".badge").textContent,
      flags: [...e.querySelectorAll(".flag")].map(f => f.textContent),
    }));
    await page.click("#me-link");
    await page.waitForSelector("#days article");
    out.me_title = await page.title();
    out.day = await dayCard(page);
    await page.waitForFunction(() => document.querySelector("#t-bank").textContent !== "—");
    out.totals = { recorded: await text(page, "#t-recorded"), confirmed: await text(page, "#t-confirmed"), pending: await text(page, "#t-pending"),
      stars: await text(page, "#t-stars"), time_bank: await text(page, "#t-bank"), star_next: await text(page, "#star-next") };
    await shot(page, "05-my-hours-awaiting-review");
    // The evening: the recorder finalises the day, and it goes into publicity.
    await ask({ op: "finalise" });
    await page.reload();
    await page.waitForSelector("#days article .s-in_publicity");
    out.day_published = await dayCard(page);
    await shot(page, "05b-my-hours-in-publicity");

    step = "notifications";
    await page.click("#tab-notices");
    await page.waitForSelector("#notices:not([hidden])");
    await page.waitForSelector("#notice-list .note");
    out.notices = await page.$$eval("#notice-list .note", ns => ns.map(n => n.innerText.replace(/\s+/g, " ").trim()));
    out.unread_badge = await text(page, "#unread");
    await shot(page, "06-notifications");

    step = "my data";
    await page.click("#tab-data");
    await page.waitForSelector("#data:not([hidden])");
    out.profile = await page.$$eval("#profile .row", rows => rows.map(r => r.innerText.replace(/\s+/g, " ").trim()));
    out.consents = await page.$$eval("#consents .consent", rows => rows.map(r => r.innerText.replace(/\s+/g, " ").trim()));
    out.sessions = await page.$$eval("#sessions .consent", rows => rows.map(r => r.innerText.replace(/\s+/g, " ").trim()));
    await shot(page, "07-my-data");
    // Withdraw the location consent, through the page.
    await page.click("#consents button[data-purpose=location]");
    await page.waitForFunction(() => [...document.querySelectorAll("#consents .consent")].some(r => r.innerText.replace(/\s+/g, " ").includes("扫码时使用位置 未同意")), null, { timeout: 10000 });
    out.consents_after = await page.$$eval("#consents .consent", rows => rows.map(r => r.innerText.replace(/\s+/g, " ").trim()));
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    const file = await download.path();
    out.download = { name: download.suggestedFilename(), has_profile: JSON.parse(fs.readFileSync(file, "utf8")).volunteer !== undefined };

    step = "me on a fresh browser";
    const fresh = await phone(browser);
    await fresh.goto(input.base + "/me");
    await fresh.waitForSelector("#signin:not([hidden])");
    out.fresh_me_hours_hidden = await fresh.$eval("#hours", e => e.hidden);
    await shot(fresh, "08-me-needs-sign-in");
  } catch (e) {
    out.error = step + ": " + String(e);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  }
})();
