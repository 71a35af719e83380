// The projector: shows the gate's current code, fetches the next one when the countdown
// ends, and the number inside every few seconds. A failed fetch keeps the last code up
// and says so; the next tick tries again.
"use strict";
(function () {
  const root = document.getElementById("projector");
  const id = root.dataset.activityId;
  const query = "gate=" + encodeURIComponent(root.dataset.gate) + "&direction=" + encodeURIComponent(root.dataset.direction);
  const img = document.getElementById("qr");
  const countdown = document.getElementById("countdown");
  const inside = document.getElementById("inside-now");
  const status = document.getElementById("projector-status");
  let secondsLeft = 0;
  let objectUrl = null;

  async function nextCode() {
    try {
      const response = await fetch("/api/v1/activities/" + id + "/code.svg?" + query, { credentials: "same-origin" });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        throw new Error(problem.detail || ("HTTP " + response.status));
      }
      const seconds = Number(response.headers.get("x-seconds-to-rotation"));
      const blob = await response.blob();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(blob);
      img.src = objectUrl;
      secondsLeft = Number.isFinite(seconds) && seconds > 0 ? seconds : 5;
      status.textContent = "";
      root.dataset.codeShownAt = String(Date.now());
    } catch (e) {
      status.textContent = "无法获取新的二维码：" + e.message;
      secondsLeft = 3;
    }
    countdown.textContent = String(secondsLeft);
  }

  async function totals() {
    try {
      const t = await window.hourmark.api("GET", "/api/v1/activities/" + id + "/totals");
      inside.textContent = String(t.inside_now);
    } catch (e) { /* keep the last number; the code matters more */ }
  }

  setInterval(() => {
    secondsLeft -= 1;
    if (secondsLeft <= 0) { nextCode(); } else { countdown.textContent = String(secondsLeft); }
  }, 1000);
  setInterval(totals, 5000);
  nextCode();
  totals();

  document.getElementById("full-screen").addEventListener("click", () => {
    if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen();
  });
})();
