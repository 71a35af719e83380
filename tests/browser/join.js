// The public recruitment page in real Chromium (390×844, zh-CN), driven by
// tests/it/join_page.rs: a volunteer who is not signed in opens the share link, chooses a
// slot, signs in by SMS code on the page (the code read from the SMS stand-in) and is
// signed up for that slot; finds it on /me and cancels it there; signs up again; a
// newcomer registers on the page and is wait-listed; after the cut-off a cancellation is
// refused; after the deadline the page is closed. The Rust side owns the server's clock:
// this script asks on stdout ({"op":"after_cutoff"} …) and reads the answer on stdin.
// The last line is the result.
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
  if (answer.now) for (const p of pages) await p.clock.setFixedTime(new Date(answer.now));
  return answer;
};
const shot = async (page, name) => {
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
  // Cancelling asks "are you sure?": the volunteer says yes.
  page.on("dialog", d => d.accept());
  return page;
};
const smsCode = async (phoneNumber) => {
  for (let i = 0; i < 50; i++) {
    const r = await fetch(input.sms + "/_sent/" + phoneNumber);
    if (r.ok) return (await r.json()).code;
    await new Promise(res => setTimeout(res, 100));
  }
  throw new Error("no SMS reached the stand-in");
};
const slots = (page) => page.$$eval("#slots .slot", ls => ls.map(l => [
  l.querySelector(".slot-name").textContent.trim(), l.querySelector(".left").textContent.trim(),
  ...[...l.querySelectorAll(".sign-up")].filter(b => !b.hidden).map(b => b.textContent.trim()),
]));
const visibleButtons = (page) => page.$$eval(".sign-up", bs => bs.filter(b => !b.hidden).length);
const slotButton = (name) => "#slots .slot[data-slot-name='" + name + "'] .sign-up";
const waitText = (page, sel, prefix) =>
  page.waitForFunction(([s, p]) => { const e = document.querySelector(s); return e && !e.hidden && e.textContent.trim().startsWith(p); }, [sel, prefix], { timeout: 10000 });

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  let step = "start";
  const join = input.base + "/join/" + input.activity_id;
  try {
    step = "a visitor opens the share link";
    const page = await phone(browser);
    await page.goto(join);
    out.name = await text(page, "#activity-name");
    out.organisation = await text(page, "#organisation");
    out.slots = await slots(page);
    await shot(page, "01-recruitment-page");

    step = "chooses a slot and is asked to sign in";
    await page.click(slotButton("医疗点"));
    await page.waitForSelector("#signin:not([hidden])");
    out.signin_why = await text(page, "#signin-why");
    await page.fill("#s_phone", input.phone);
    await page.click("#send-code");
    await waitText(page, "#signin-note", "如该号码已登记，验证码将发送至该号码");
    await page.fill("#s_code", await smsCode(input.phone));
    await shot(page, "02-sign-in-on-the-page");
    await page.click("#signin-submit");
    await waitText(page, "#status", "报名成功");
    out.signed_up_status = await text(page, "#status");
    out.mine = await text(page, "#mine-text");
    out.mine_note = await text(page, "#mine-note");
    await waitText(page, ".slot[data-slot-name='医疗点'] .left", "已满");
    out.medic_after = await text(page, ".slot[data-slot-name='医疗点'] .left");
    out.buttons_after = await visibleButtons(page);
    await shot(page, "03-signed-up");

    step = "my sign-ups on /me";
    await page.click("#mine .me-link");
    await page.waitForSelector("#signups:not([hidden]) .signup");
    out.me_signup = await page.$eval("#signup-list .signup", s => [s.querySelector(".what").textContent, s.querySelector(".when").textContent, s.querySelector(".badge").textContent]);
    await shot(page, "04-me-signups");
    await page.click("#signup-list .signup button");
    await page.waitForSelector("#signup-list .signup .s-cancelled");
    out.me_after_cancel = await text(page, "#signup-list .signup .badge");
    await shot(page, "05-me-cancelled");

    step = "back on the page, and signed up again";
    await page.goto(join);
    await waitText(page, "#mine-text", "医疗点");
    out.page_after_cancel = await text(page, "#mine-text");
    await page.click(slotButton("医疗点"));
    await waitText(page, "#status", "报名成功");

    step = "a newcomer registers on the page";
    const newcomer = await phone(browser);
    await newcomer.goto(join);
    await newcomer.click(slotButton("北门引导"));
    await newcomer.waitForSelector("#signin:not([hidden])");
    await newcomer.click("#to-register");
    await newcomer.waitForSelector("#register:not([hidden])");
    await newcomer.fill("#name", input.newcomer.name);
    await newcomer.fill("#id_number", input.newcomer.id_number);
    await newcomer.fill("#phone", input.newcomer.phone);
    await newcomer.check("#c_record");
    await shot(newcomer, "06-newcomer-registers");
    await newcomer.click("#register button[type=submit]");
    await waitText(newcomer, "#status", "该岗位名额已满");
    out.newcomer_status = await text(newcomer, "#status");
    out.newcomer_mine = await text(newcomer, "#mine-text");
    await shot(newcomer, "07-newcomer-waitlisted");

    step = "after the cut-off";
    await ask({ op: "after_cutoff" });
    await page.goto(input.base + "/me#signups");
    await page.waitForSelector("#signups:not([hidden]) .signup button");
    await page.click("#signup-list .signup button");
    await waitText(page, "#signup-list .signup .err-note", "取消报名已于");
    out.late_cancel_note = await text(page, "#signup-list .signup .err-note");
    await shot(page, "08-me-cancel-after-cutoff");

    // The page itself no longer offers to cancel the place, and says why.
    await page.goto(join);
    await waitText(page, "#mine-text", "医疗点");
    out.late_mine_note = await text(page, "#mine-note");
    out.late_cancel_hidden = await page.$eval("#cancel", b => b.hidden);

    step = "after the deadline";
    await ask({ op: "after_deadline" });
    await page.goto(join);
    out.closed = await text(page, "#closed");
    out.buttons_closed = await visibleButtons(page);
    await shot(page, "09-closed");
  } catch (e) {
    out.error = step + ": " + String(e);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  }
})();
