// Signing in inside WeChat's own browser, in real Chromium dressed as WeChat's Android
// in-app browser (390×844, zh-CN, its user agent), driven by tests/it/wechat_oa.rs. The
// Official Account's authorisation page is the WeChat stand-in, which sends the browser
// straight back as WeChat does. The Rust side owns the server's clock, the codes and the
// stand-in's user: this script asks on stdout ({"op":"code"} or {"op":"oa_user",…}, one
// JSON per line) and reads the answer from stdin. The last stdout line is the result.
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
const shown = (page, sel) => page.$eval(sel, e => !e.hidden);
// WeChat 8.0 on Android (XWeb, Chromium-based): the form its in-app browser sends.
const WECHAT_ANDROID = "Mozilla/5.0 (Linux; Android 13; V2148A Build/TP1A.220624.014; wv) AppleWebKit/537.36 " +
  "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160083 MMWEBSDK/20231202 " +
  "MMWEBID/4194 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64";
// A fresh browser each time: no token, no device id, no cookies.
const phone = async (browser) => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
    userAgent: WECHAT_ANDROID,
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
    class: await page.$eval("#outcome", e => e.className), url: page.url(),
    register_shown: await shown(page, "#register"), signin_shown: await shown(page, "#signin"),
    wechat_shown: await shown(page, "#wechat"),
  };
};
const open = async (browser) => {
  const page = await phone(browser);
  const code = await ask({ op: "code" });
  await page.goto(input.base + "/S/" + code.token);
  await page.waitForSelector("#wechat:not([hidden])");
  return page;
};

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  let step = "start";
  try {
    // The user cancels WeChat's authorisation: told so, SMS sign-in offered, WeChat again too.
    step = "refused";
    await ask({ op: "oa_user", openid: "oa-openid-zhang", unionid: "union-zhang", refuses: true });
    let page = await open(browser);
    out.offered = {
      heading: await text(page, "#wechat h2"), button: await text(page, "#wechat-signin"),
      register_shown: await shown(page, "#register"),
    };
    await shot(page, "01-wechat-offered");
    await page.click("#wechat-signin");
    out.refused = await outcome(page, "请登录");
    await shot(page, "02-refused-sms-offered");

    // Registered through the mini program, on a fresh browser: signs in by WeChat and scans.
    step = "registered";
    await ask({ op: "oa_user", openid: "oa-openid-zhang", unionid: "union-zhang", refuses: false });
    page = await open(browser);
    // A slow trip through WeChat: the code has rotated away when the page comes back.
    await ask({ op: "advance", secs: 60 });
    await page.click("#wechat-signin");
    out.registered = await outcome(page, "签到成功");
    await shot(page, "03-signed-in-by-wechat-and-checked-in");

    // Not registered: WeChat first, then the form; registering binds this WeChat.
    step = "unregistered";
    await ask({ op: "oa_user", openid: "oa-openid-wang", unionid: "union-wang", refuses: false });
    page = await open(browser);
    await page.click("#wechat-signin");
    // The page said 请先登记 before WeChat too: wait for the one back from WeChat.
    await page.waitForFunction(() => document.getElementById("outcome-state").textContent.startsWith("微信已验证"), null, { timeout: 10000 });
    out.to_register = await outcome(page, "请先登记");
    await shot(page, "04-register-after-wechat");
    await page.fill("#name", input.newcomer.name);
    await page.fill("#id_number", input.newcomer.id_number);
    await page.fill("#phone", input.newcomer.phone);
    await page.check("#c_record");
    await page.click("#register button[type=submit]");
    out.newcomer = await outcome(page, "签到成功");
    await shot(page, "05-registered-bound-and-checked-in");
  } catch (e) {
    out.error = step + ": " + String(e);
  } finally {
    await browser.close();
    process.stdout.write(JSON.stringify(out) + "\n");
    process.exit(0);
  }
})();
