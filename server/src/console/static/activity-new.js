// The activity form: builds the same JSON an API client sends to POST /api/v1/activities,
// and shows the server's own sentence when it refuses.
"use strict";
(function () {
  const form = document.getElementById("activity-form");
  const status = document.getElementById("form-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = new FormData(form);
    const gates = String(f.get("gates") || "").split(/[,，、]/).map(s => s.trim()).filter(Boolean);
    const body = {
      organisation_id: Number(f.get("organisation_id")),
      name: f.get("name"),
      category: f.get("category"),
      recipients: f.get("recipients"),
      content: f.get("content"),
      address: f.get("address"),
      location: { lat: Number(f.get("lat")), lng: Number(f.get("lng")) },
      radius_m: Number(f.get("radius_m")),
      starts_at: f.get("starts_at"),
      ends_at: f.get("ends_at"),
      code_mode: f.get("code_mode"),
    };
    if (gates.length) body.gates = gates;
    status.className = "status";
    status.textContent = "正在创建……";
    try {
      const activity = await window.hourmark.api("POST", "/api/v1/activities", body);
      location.assign("/console?created=" + activity.id);
    } catch (e) {
      status.className = "status error";
      status.textContent = "未能创建：" + e.message;
    }
  });
})();
