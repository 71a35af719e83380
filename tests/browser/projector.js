// The projector through a network drop, driven by tests/it/screen_keys.rs: the page
// opens with a staff session cookie, the network is cut, ten minutes pass on the page's
// clock (Playwright's fake clock, started at the server's test clock), and the code it
// mints by itself is screenshotted for the Rust side to decode and scan. Then the Rust
// side says "revoke": the network comes back, the key is revoked with the screens page's
// button, and the projector notices and stops.
//
//   node projector.js '{"base":…,"cookie":…,"activity_id":…,"server_time_ms":…,"artifacts":…}'
//
// Prints one JSON line per phase; waits for a line on stdin between them.
"use strict";
const path = require("path");
const fs = require("fs");
const readline = require("readline");
const { launchChromium } = require("./launch");

const input = JSON.parse(process.argv[2]);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");

(async () => {
  fs.mkdirSync(input.artifacts, { recursive: true });
  const out = { steps: [] };
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: "zh-CN" });
    await context.addCookies([{ name: "hourmark_staff", value: input.cookie, url: input.base, httpOnly: true, sameSite: "Strict" }]);
    const page = await context.newPage();
    const errors = [];
    page.on("console", m => {
      // Failed loads are the polls made while the network is cut, on purpose.
      if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
    });
    page.on("pageerror", e => errors.push(String(e)));
    await page.clock.install({ time: input.server_time_ms });

    const shown = () => page.evaluate(() => {
      const root = document.getElementById("projector");
      return {
        token: root.dataset.token || null, window: Number(root.dataset.window),
        screen_key_id: Number(root.dataset.screenKeyId),
        status: document.getElementById("projector-status").textContent,
        countdown: document.getElementById("countdown").textContent,
        src: document.getElementById("qr").getAttribute("src"),
      };
    });
    const codeDrawn = () => page.waitForFunction(() => {
      const img = document.getElementById("qr");
      return img.complete && img.naturalWidth > 0 && document.getElementById("projector").dataset.token;
    }, null, { timeout: 10000 });

    await page.goto(input.base + "/console/activities/" + input.activity_id + "/projector?gate=0&direction=toggle");
    await codeDrawn();
    out.online = await shown();
    out.online_shot = path.join(input.artifacts, "01-projector-online.png");
    await page.screenshot({ path: out.online_shot });
    // A reload goes on with the same key rather than issuing another.
    await page.reload();
    await codeDrawn();
    out.reloaded = await shown();

    // The network goes; ten minutes pass on the page's clock.
    await context.setOffline(true);
    await page.clock.fastForward("10:00");
    await page.clock.runFor(1000);
    await page.waitForFunction((w) => Number(document.getElementById("projector").dataset.window) > w, out.online.window, { timeout: 10000 });
    await codeDrawn();
    await page.waitForFunction(() => document.getElementById("projector-status").textContent.includes("网络已中断"), null, { timeout: 10000 });
    out.offline = await shown();
    out.offline_shot = path.join(input.artifacts, "02-projector-offline.png");
    await page.screenshot({ path: out.offline_shot });
    print({ phase: "offline", ...out });

    const next = await lines.next();
    if (next.done || next.value.trim() !== "revoke") throw new Error("expected revoke, got " + JSON.stringify(next.value));

    // Back online: revoke with the screens page's button.
    await context.setOffline(false);
    const screens = await context.newPage();
    screens.on("dialog", d => { out.confirm = d.message(); d.accept(); });
    await screens.goto(input.base + "/console/activities/" + input.activity_id + "/screens");
    const row = `tr[data-screen-key-id="${out.offline.screen_key_id}"]`;
    out.listed_state = await screens.textContent(row + " .state");
    await screens.click(row + " button.revoke");
    await screens.waitForFunction((r) => document.querySelector(r + " .state").textContent === "已撤销", row, { timeout: 10000 });
    out.revoked_state = await screens.textContent(row + " .state");
    out.screens_shot = path.join(input.artifacts, "03-screens.png");
    await screens.screenshot({ path: out.screens_shot, fullPage: true });

    // The sessions page shows the volunteer who scanned the offline code.
    await screens.goto(input.base + "/console/activities/" + input.activity_id + "/sessions");
    out.sessions_text = await screens.textContent("#sessions");
    out.sessions_shot = path.join(input.artifacts, "03b-sessions.png");
    await screens.screenshot({ path: out.sessions_shot, fullPage: true });

    // The projector polls its key and stops showing codes.
    await page.bringToFront();
    await page.clock.fastForward("00:20");
    await page.waitForFunction(() => document.getElementById("projector-status").textContent.includes("已被撤销"), null, { timeout: 10000 });
    out.after_revoke = await shown();
    out.revoked_shot = path.join(input.artifacts, "04-projector-revoked.png");
    await page.screenshot({ path: out.revoked_shot });
    out.console_errors = errors;
  } catch (e) {
    out.error = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  print({ phase: "done", ...out });
  process.exit(0);
})().catch(e => { print({ phase: "done", error: String(e && e.stack || e) }); process.exit(1); });
