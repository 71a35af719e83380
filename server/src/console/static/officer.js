// The officer's pages: checking, approving and revoking organisations, confirming and
// returning report batches, and revealing a volunteer's numbers, each through its API
// operation. A reveal is audited: the page says so and asks before calling.
"use strict";
(function () {
  const api = window.hourmark.api;
  const status = document.getElementById("officer-status");
  const say = (text, failed) => {
    status.textContent = text;
    status.classList.toggle("error", Boolean(failed));
  };

  // Runs one action of a row; on success the row's state cell shows `state` and its
  // actions go, and the status line says `message`.
  async function act(control, call, state, message) {
    const row = control.closest("tr");
    const controls = row.querySelectorAll("button, input");
    controls.forEach(c => { c.disabled = true; });
    try {
      await call();
      row.querySelector(".state").textContent = state;
      row.querySelectorAll("button, form").forEach(c => c.remove());
      say(message);
    } catch (e) {
      controls.forEach(c => { c.disabled = false; });
      say("操作未完成：" + e.message, true);
    }
  }

  const organisations = document.getElementById("organisations");
  if (organisations) {
    organisations.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const id = button.dataset.organisationId;
      const name = button.closest("tr").cells[0].textContent;
      if (button.dataset.action === "check") {
        act(button, () => api("POST", "/api/v1/organisations/" + id + "/check"), "已初审，待批准",
          name + " 已初审，待上级批准。");
      } else if (button.dataset.action === "approve") {
        if (!window.confirm("批准 " + name + " 为记录机构？批准后将公示在记录机构名单中。")) return;
        act(button, () => api("POST", "/api/v1/organisations/" + id + "/approve"), "已批准", name + " 已批准为记录机构。");
      }
    });
    organisations.addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      const name = form.closest("tr").cells[0].textContent;
      const reason = form.elements.reason.value.trim();
      if (!window.confirm("撤销 " + name + " 的记录资格？其活动将立即停止签到。")) return;
      act(form, () => api("POST", "/api/v1/organisations/" + form.dataset.organisationId + "/revoke", { reason }),
        "已撤销记录资格", name + " 的记录资格已撤销。");
    });
  }

  const batches = document.getElementById("batches");
  if (batches) {
    batches.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action=confirm]");
      if (!button) return;
      const id = button.dataset.batchId;
      if (!window.confirm("确认批次 " + id + " 无误？确认后其记录计入志愿者的服务时长。")) return;
      act(button, () => api("POST", "/api/v1/report-batches/" + id + "/confirm"), "已确认", "批次 " + id + " 已确认。");
    });
    batches.addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      const id = form.dataset.batchId;
      const reason = form.elements.reason.value;
      act(form, () => api("POST", "/api/v1/report-batches/" + id + "/return", { reason }),
        "已退回（" + reason.trim() + "）", "批次 " + id + " 已退回。");
    });
  }

  const recorders = document.getElementById("recorders");
  if (recorders) {
    recorders.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const row = form.closest("tr");
      const name = row.cells[0].textContent;
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const change = await api("POST", "/api/v1/staff/" + form.dataset.staffId + "/qualification/reviews",
          { reviewed_on: form.elements.reviewed_on.value });
        const due = change.recorder.qualification.review_due_on.split("-").map(Number);
        row.querySelector(".due").textContent = due[0] + "年" + due[1] + "月" + due[2] + "日";
        row.querySelector(".state").textContent = "有效";
        row.classList.remove("attention");
        say(name + " 的年审已记录，下次年审截止 " + row.querySelector(".due").textContent + "。");
      } catch (e) {
        say("未能记录年审：" + e.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }

  const regionalDays = document.getElementById("regional-days");
  if (regionalDays) {
    const region = regionalDays.dataset.region;
    regionalDays.addEventListener("click", async (event) => {
      const button = event.target.closest("button.remove-day");
      if (!button) return;
      if (!window.confirm("删除这一天的地方安排？已开始的公示期不受影响。")) return;
      act(button, () => api("DELETE", "/api/v1/calendar/overlays/" + region + "/" + button.dataset.day), "已删除",
        "已删除。");
    });
    const overlay = document.getElementById("overlay-form");
    overlay.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = overlay.elements;
      try {
        await api("PUT", "/api/v1/calendar/overlays",
          { region_code: f.region_code.value, day: f.day.value, kind: f.kind.value, name: f.name.value.trim() });
        location.reload();
      } catch (e) {
        say("未能保存：" + e.message, true);
      }
    });
  }

  const volunteer = document.getElementById("volunteer");
  const reveal = document.getElementById("reveal");
  if (volunteer && reveal) {
    reveal.addEventListener("click", async () => {
      const name = document.querySelector("h1").textContent;
      if (!window.confirm("此操作将被记录：您查看 " + name + " 的完整身份证号和手机号，查看人和时间将写入审计记录。继续？")) return;
      reveal.disabled = true;
      try {
        const profile = await api("GET", "/api/v1/volunteers/" + volunteer.dataset.volunteerId + "/personal-data");
        document.getElementById("id-number").textContent = profile.id_number;
        document.getElementById("phone").textContent = profile.phone;
        // The audit log read back: the page shows the entry the server wrote, not a guess.
        const events = await api("GET", "/api/v1/volunteers/" + volunteer.dataset.volunteerId + "/audit");
        const read = events.filter(e => e.action === "personal_data_read").pop();
        if (read) {
          // "2026-12-05T08:00:00+08:00" → "12月5日 08:00" (the server writes Kunming time).
          const [, month, day, time] = read.at.match(/^\d{4}-(\d{2})-(\d{2})T(\d{2}:\d{2})/);
          const row = document.querySelector("#audit tbody").insertRow(0);
          row.classList.add("just-recorded");
          [Number(month) + "月" + Number(day) + "日 " + time, "您", "查看了完整身份证号和手机号"]
            .forEach(text => { row.insertCell().textContent = text; });
        }
        const empty = document.getElementById("audit-empty");
        if (empty) empty.remove();
        reveal.remove();
        say("已显示完整信息。本次查看已记入审计记录。");
      } catch (e) {
        reveal.disabled = false;
        say("未能显示：" + e.message, true);
      }
    });
  }
})();
