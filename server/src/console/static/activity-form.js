// The activity form, for creating (POST /api/v1/activities) and editing
// (PUT /api/v1/activities/{id}): builds the same JSON an API client sends and shows the
// server's own sentence when it refuses. Coordinates pasted from a Chinese map app are
// GCJ-02; the server converts them to WGS-84, which is what it stores.
"use strict";
(function () {
  const form = document.getElementById("activity-form");
  const status = document.getElementById("form-status");
  const editing = form.dataset.editing === "true";
  const gates = document.getElementById("gates");
  const kept = Number(gates.dataset.kept || 0);

  function renumber() {
    gates.querySelectorAll("li").forEach((li, i) => {
      const label = li.querySelector("label");
      label.firstChild.textContent = "入口 " + (i + 1) + " 名称 ";
    });
  }
  document.getElementById("add-gate").addEventListener("click", () => {
    const li = document.createElement("li");
    const label = document.createElement("label");
    label.append(document.createTextNode(""));
    const input = document.createElement("input");
    input.name = "gate"; input.required = true; input.maxLength = 40;
    label.append(input);
    const remove = document.createElement("button");
    remove.type = "button"; remove.className = "remove-gate"; remove.textContent = "删除";
    li.append(label, remove);
    gates.append(li);
    renumber();
    input.focus();
  });
  gates.addEventListener("click", (event) => {
    const button = event.target.closest("button.remove-gate");
    if (!button) return;
    const li = button.closest("li");
    if ([...gates.children].indexOf(li) < kept) return;
    li.remove();
    renumber();
  });

  // "102.704321,25.047123" (高德: longitude first) or "25.047123,102.704321" (腾讯):
  // in China latitudes are below 54 and longitudes above 73, so the order is plain.
  const pasted = document.getElementById("pasted");
  const datum = document.getElementById("datum");
  pasted.addEventListener("input", () => {
    const numbers = (pasted.value.match(/-?\d+(?:\.\d+)?/g) || []).map(Number);
    if (numbers.length !== 2) return;
    let [a, b] = numbers;
    let lat = a, lng = b;
    if (Math.abs(a) > 90 || (a > 73 && b < 54)) { lat = b; lng = a; }
    form.elements.lat.value = String(lat);
    form.elements.lng.value = String(lng);
    datum.value = "gcj02";
    status.className = "status";
    status.textContent = "已填入坐标（GCJ-02），保存时换算为 WGS-84。";
  });

  const radius = document.getElementById("radius");
  radius.addEventListener("input", () => {
    document.getElementById("radius-shown").textContent = radius.value || "?";
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = new FormData(form);
    const body = {
      organisation_id: editing ? Number(form.dataset.organisationId) : Number(f.get("organisation_id")),
      name: f.get("name"),
      category: f.get("category"),
      recipients: f.get("recipients"),
      content: f.get("content"),
      address: f.get("address"),
      location: { lat: Number(f.get("lat")), lng: Number(f.get("lng")) },
      location_datum: f.get("datum"),
      radius_m: Number(f.get("radius_m")),
      starts_at: f.get("starts_at"),
      ends_at: f.get("ends_at"),
      gates: f.getAll("gate").map(s => String(s).trim()).filter(Boolean),
      code_mode: f.get("code_mode"),
    };
    status.className = "status";
    status.textContent = editing ? "正在保存……" : "正在创建……";
    try {
      if (editing) {
        const activity = await window.hourmark.api("PUT", "/api/v1/activities/" + form.dataset.activityId, body);
        location.assign("/console?updated=" + activity.id);
      } else {
        const activity = await window.hourmark.api("POST", "/api/v1/activities", body);
        location.assign("/console?created=" + activity.id);
      }
    } catch (e) {
      status.className = "status error";
      status.textContent = (editing ? "未能保存：" : "未能创建：") + e.message;
    }
  });
})();
