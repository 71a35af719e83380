// A volunteer asks for a service-record certificate on /me (服务时长) in real Chromium at
// 390×844, zh-CN, driven by tests/it/certificate_page.rs: the request shown as waiting,
// then (the Rust side issues one and declines another when asked: {"op":"issue"} on
// stdout, the answer on stdin) the certificate with its PDF download and the declined
// request with its reason. The last stdout line is the result.
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
const items = (page) => page.$$eval("#certificates .request", l => l.map(e => e.innerText.replace(/\s+/g, " ").trim()));

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const browser = await launchChromium();
  let step = "start";
  try {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN",
      acceptDownloads: true,
    });
    const page = await context.newPage();
    page.on("console", m => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) out.console_errors.push(m.text()); });
    page.on("pageerror", e => out.console_errors.push(String(e)));
    out.dialogs = [];
    page.on("dialog", d => { out.dialogs.push(d.message()); d.accept(); });

    step = "open my hours";
    await page.goto(input.base + "/privacy");
    await page.evaluate(t => localStorage.setItem("hourmark.token", t), input.token);
    await page.goto(input.base + "/me#hours");
    await page.waitForSelector("#certificates .empty");
    out.empty = await page.$eval("#certificates", e => e.innerText.trim());
    out.unlabelled = await page.$$eval("#certificate-ask input",
      l => l.filter(e => !document.querySelector('label[for="' + e.id + '"]')).map(e => e.id));

    step = "a range with nothing confirmed";
    await page.fill("#cert_from", "2025-01-01");
    await page.fill("#cert_to", "2025-12-31");
    await page.click("#certificate-ask button[type=submit]");
    await page.waitForFunction(() => document.getElementById("cert_note").className === "err-note");
    out.nothing_note = await page.$eval("#cert_note", e => e.textContent);

    step = "ask for all of it, twice";
    await page.fill("#cert_from", "");
    await page.fill("#cert_to", "");
    await page.click("#certificate-ask button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#certificates .request").length === 1);
    await page.click("#certificate-ask button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#certificates .request").length === 2);
    out.asked_note = await page.$eval("#cert_note", e => e.textContent);
    out.asked = await items(page);
    await shot(page, "1-asked");

    step = "issued and declined";
    await ask({ op: "issue" });
    await page.reload();
    await page.waitForSelector("#certificates .s-issued");
    out.decided = await items(page);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("#certificates .request button"),
    ]);
    out.download_name = download.suggestedFilename();
    const file = path.join(input.artifacts, "certificate.pdf");
    await download.saveAs(file);
    out.pdf_file = file;
    out.verify_href = await page.$eval("#certificates .request a", a => a.getAttribute("href"));
    await shot(page, "2-issued-and-declined");

    step = "the time bank";
    await page.waitForFunction(() => document.getElementById("bank-summary").textContent.startsWith("余额"));
    out.bank_summary = await page.$eval("#bank-summary", e => e.textContent);
    out.bank_lines = await page.$$eval("#bank-lines .consent", l => l.map(e => e.innerText.replace(/\s+/g, " ").trim()));
    out.bank_unlabelled = await page.$$eval("#donate input",
      l => l.filter(e => !document.querySelector('label[for="' + e.id + '"]')).map(e => e.id));
    await page.fill("#donate_to", "999999999999");
    await page.fill("#donate_minutes", "30");
    await page.click("#donate button[type=submit]");
    await page.waitForFunction(() => document.getElementById("donate_note").className === "err-note");
    out.donate_unknown = await page.$eval("#donate_note", e => e.textContent);
    await page.fill("#donate_to", "");
    await page.click("#donate button[type=submit]");
    await page.waitForFunction(() => document.getElementById("donate_note").className === "ok-note");
    out.donate_note = await page.$eval("#donate_note", e => e.textContent);
    await page.waitForFunction(() => document.getElementById("bank-summary").textContent.startsWith("余额 2小时30分"));
    out.bank_after = await page.$eval("#bank-summary", e => e.textContent);
    out.bank_lines_after = await page.$$eval("#bank-lines .consent", l => l.map(e => e.innerText.replace(/\s+/g, " ").trim()));
    await page.$eval("#bank", e => e.scrollIntoView());
    await shot(page, "3-time-bank");
  } catch (e) {
    out.error = step + ": " + String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
  process.exit(0);
})();
