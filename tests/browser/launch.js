// How every browser test starts Chromium: Debian's build (or HOURMARK_CHROMIUM), in
// Chinese. `--lang` alone leaves date and time fields in the US format (12/05/2026); the
// browser reads its locale from LANGUAGE, and needs Debian's chromium-l10n for zh-CN
// (scripts/test installs it), so fields read 2026/12/05 08:30 as they do on staff's
// own machines.
"use strict";
const { chromium } = require("playwright-core");

function launchChromium() {
  return chromium.launch({
    executablePath: process.env.HOURMARK_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--lang=zh-CN"],
    env: { ...process.env, LANGUAGE: "zh_CN:zh" },
  });
}

module.exports = { launchChromium };
