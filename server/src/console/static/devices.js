// 登录设备: ends another session through DELETE /api/v1/me/sessions/{id}, after asking.
"use strict";
(function () {
  const table = document.getElementById("devices");
  const status = document.getElementById("devices-status");
  table.addEventListener("click", async (event) => {
    const button = event.target.closest("button.end-session");
    if (!button) return;
    if (!window.confirm("让这个登录退出？在那台设备上需要重新登录。")) return;
    button.disabled = true;
    try {
      await window.hourmark.api("DELETE", "/api/v1/me/sessions/" + button.dataset.sessionId);
      button.closest("tr").remove();
      status.textContent = "已让该登录退出。";
      status.classList.remove("error");
    } catch (e) {
      button.disabled = false;
      status.textContent = "未能退出：" + e.message;
      status.classList.add("error");
    }
  });
})();
