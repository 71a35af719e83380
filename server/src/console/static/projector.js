// The projector: asks once for a screen key for its gate and mints the rotating code
// itself every window (screen-code.js, drawn by the vendored qrcode-generator), so the
// code stays valid through a network drop; the server accepts these codes like its own
// until the key expires or is revoked. Only if no key can be had (the page opened
// without a network) does it fall back to fetching each code from the server.
// The number inside, and whether the key was revoked, are polled while the network is up.
// The key is kept in this tab's sessionStorage, so reloading the page (F5 at a gate, a
// browser that restores the tab) goes on with the same key instead of issuing, and
// auditing, another one each time; a revoked or expired key is forgotten.
"use strict";
(function () {
  const root = document.getElementById("projector");
  const id = root.dataset.activityId;
  const gate = Number(root.dataset.gate);
  const direction = root.dataset.direction;
  const img = document.getElementById("qr");
  const countdown = document.getElementById("countdown");
  const inside = document.getElementById("inside-now");
  const status = document.getElementById("projector-status");
  const minting = window.hourmarkScreenCode;
  let objectUrl = null;
  let grant = null;       // the screen key's answer
  let key = null;         // its bytes
  let offsetMs = 0;       // server clock minus this machine's clock
  let shownWindow = null;
  let stopped = false;
  let networkUp = true;
  const remembered = "hourmark-screen-key:" + id + ":" + gate + ":" + direction;

  function remember() {
    try { sessionStorage.setItem(remembered, JSON.stringify({ grant, offsetMs })); } catch (e) { /* private mode */ }
  }
  function forget() {
    try { sessionStorage.removeItem(remembered); } catch (e) { /* private mode */ }
  }
  // A key kept from before a reload, if it is still within its time.
  function recall() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(remembered) || "null");
      if (!kept || !kept.grant) return null;
      const now = Date.now() + kept.offsetMs;
      if (Math.floor(now / (kept.grant.window_secs * 1000)) > kept.grant.last_window) { forget(); return null; }
      return kept;
    } catch (e) { return null; }
  }

  function showSvg(svg) {
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    img.src = objectUrl;
  }

  // The QR symbol as SVG: level M like the server's codes, alphanumeric mode (the URL is
  // upper case), the four-module quiet zone decoders need.
  function drawCode(text) {
    const qr = qrcode(0, "M");
    qr.addData(text, "Alphanumeric");
    qr.make();
    const n = qr.getModuleCount();
    const size = n + 8;
    let path = "";
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        if (qr.isDark(r, c)) path += "M" + (c + 4) + " " + (r + 4) + "h1v1h-1z";
      }
    }
    showSvg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + size + " " + size +
      '" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path d="' + path + '" fill="#000"/></svg>');
  }

  function say(text, bad) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(bad));
  }

  function stop(text) {
    stopped = true;
    forget();
    img.removeAttribute("src");
    img.hidden = true;
    const stoppedNote = document.getElementById("qr-stopped");
    stoppedNote.textContent = text;
    stoppedNote.hidden = false;
    root.dataset.token = "";
    countdown.textContent = "--";
    say(text, true);
  }

  function tick() {
    if (stopped || !grant) return;
    const now = Date.now() + offsetMs;
    const stepMs = grant.window_secs * 1000;
    const window = Math.floor(now / stepMs);
    if (window > grant.last_window) {
      stop("投屏密钥已到期，请刷新本页面以继续显示二维码");
      return;
    }
    if (window !== shownWindow) {
      const token = minting.mint(key, grant, window);
      const base = grant.code_base_url.endsWith("/") ? grant.code_base_url : grant.code_base_url + "/";
      drawCode(base + token);
      shownWindow = window;
      root.dataset.token = token;
      root.dataset.window = String(window);
    }
    countdown.textContent = String(Math.max(1, Math.ceil(((window + 1) * stepMs - now) / 1000)));
  }

  function start() {
    key = minting.fromBase64Url(grant.key);
    root.dataset.screenKeyId = String(grant.id);
    say("");
    tick();
    setInterval(tick, 250);
    setInterval(checkRevoked, 15000);
  }

  async function getScreenKey() {
    const kept = recall();
    if (kept) {
      grant = kept.grant;
      offsetMs = kept.offsetMs;
      start();
      checkRevoked();
      return;
    }
    try {
      grant = await window.hourmark.api("POST", "/api/v1/activities/" + id + "/screen-keys", { gate, direction });
      offsetMs = grant.server_time_ms - Date.now();
      remember();
      start();
    } catch (e) {
      if (e.code) { stop("无法显示二维码：" + e.message); return; }
      say("暂时无法获取投屏密钥，正在从服务器获取二维码：" + e.message, true);
      fallback();
    }
  }

  // Without a screen key: the server's code for each window, as before.
  let fallbackLeft = 0;
  async function fallbackCode() {
    try {
      const response = await fetch("/api/v1/activities/" + id + "/code.svg?gate=" + gate + "&direction=" + direction,
        { credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const seconds = Number(response.headers.get("x-seconds-to-rotation"));
      showSvg(await response.text());
      fallbackLeft = Number.isFinite(seconds) && seconds > 0 ? seconds : 5;
    } catch (e) {
      say("无法获取新的二维码：" + e.message, true);
      fallbackLeft = 3;
    }
    countdown.textContent = String(fallbackLeft);
  }
  function fallback() {
    fallbackCode();
    setInterval(() => {
      fallbackLeft -= 1;
      if (fallbackLeft <= 0) fallbackCode(); else countdown.textContent = String(fallbackLeft);
    }, 1000);
  }

  function network(up) {
    if (up === networkUp || stopped) return;
    networkUp = up;
    say(up ? "" : "网络已中断：二维码由本机生成，仍然有效", false);
  }

  async function checkRevoked() {
    if (stopped || !grant) return;
    try {
      const keys = await window.hourmark.api("GET", "/api/v1/activities/" + id + "/screen-keys");
      network(true);
      const mine = keys.find(k => k.id === grant.id);
      if (mine && mine.revoked_at) stop("此投屏密钥已被撤销，二维码已停止显示。请重新打开投屏页面");
    } catch (e) { if (!e.code) network(false); }
  }

  async function totals() {
    try {
      const t = await window.hourmark.api("GET", "/api/v1/activities/" + id + "/totals");
      inside.textContent = String(t.inside_now);
      network(true);
    } catch (e) { if (!e.code) network(false); }
  }

  setInterval(totals, 5000);
  getScreenKey();
  totals();

  document.getElementById("full-screen").addEventListener("click", () => {
    if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen();
  });
})();
