// The screens page: revoking a projector's screen key, through the API, after asking.
"use strict";
(function () {
  const table = document.getElementById("screens");
  const status = document.getElementById("screens-status");
  if (!table) return;
  const id = table.dataset.activityId;
  table.addEventListener("click", async (event) => {
    const button = event.target.closest("button.revoke");
    if (!button) return;
    const keyId = button.dataset.screenKeyId;
    if (!window.confirm("撤销投屏密钥 " + keyId + "？该屏幕显示的二维码将立即失效。")) return;
    button.disabled = true;
    try {
      await window.hourmark.api("POST", "/api/v1/activities/" + id + "/screen-keys/" + keyId + "/revoke");
      const row = button.closest("tr");
      row.querySelector(".state").textContent = "已撤销";
      button.remove();
      status.textContent = "投屏密钥 " + keyId + " 已撤销。";
      status.classList.remove("error");
    } catch (e) {
      button.disabled = false;
      status.textContent = "撤销失败：" + e.message;
      status.classList.add("error");
    }
  });
})();
