// The administrator's pages: inviting staff (the link shown to copy and as a QR drawn
// here, from the vendored generator), re-inviting, and adding a calendar year, each
// through its API operation.
"use strict";
(function () {
  const api = window.hourmark.api;
  const status = document.getElementById("admin-status");
  const say = (text, failed) => {
    status.textContent = text;
    status.classList.toggle("error", Boolean(failed));
  };
  // "2026-12-08T09:00:00+08:00" → "12月8日 09:00" (the server writes Kunming time).
  const chineseTime = (at) => {
    const [, month, day, time] = at.match(/^\d{4}-(\d{2})-(\d{2})T(\d{2}:\d{2})/);
    return Number(month) + "月" + Number(day) + "日 " + time;
  };

  // The QR of a link on the canvas: level M, byte mode, a four-module quiet zone.
  function drawQr(canvas, text) {
    const qr = qrcode(0, "M");
    qr.addData(text, "Byte");
    qr.make();
    const n = qr.getModuleCount();
    const scale = Math.floor(canvas.width / (n + 8));
    const offset = Math.floor((canvas.width - scale * n) / 2);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#000";
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        if (qr.isDark(r, c)) ctx.fillRect(offset + c * scale, offset + r * scale, scale, scale);
      }
    }
  }

  const result = document.getElementById("invite-result");
  function showInvite(name, invite) {
    document.getElementById("invite-for").textContent = name + " 的邀请链接";
    document.getElementById("invite-expires").textContent = chineseTime(invite.expires_at);
    document.getElementById("invite-url").value = invite.url;
    drawQr(document.getElementById("invite-qr"), invite.url);
    result.hidden = false;
  }

  const form = document.getElementById("invite-form");
  if (form) {
    const role = document.getElementById("invite-role");
    // Only the fields the chosen role needs are shown (and sent).
    const needs = { organiser: ["organisation"], leader: ["organisation"], recorder: ["organisation", "recorder"],
      officer: ["officer"], administrator: [] };
    const showFields = () => {
      form.querySelectorAll("[data-for]").forEach(el => {
        el.hidden = !needs[role.value].includes(el.dataset.for);
        el.querySelectorAll("input").forEach(i => { i.required = !el.hidden; });
      });
    };
    role.addEventListener("change", showFields);
    showFields();

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = form.elements;
      const body = { name: f.name.value.trim(), login: f.login.value.trim(), role: role.value };
      const wanted = needs[role.value];
      if (wanted.includes("organisation")) body.organisation_id = Number(f.organisation_id.value);
      if (wanted.includes("officer")) { body.region_code = f.region_code.value; body.agency = f.agency.value; }
      if (wanted.includes("recorder")) {
        body.qualification = { certificate_number: f.certificate_number.value, issued_on: f.issued_on.value,
          review_due_on: f.review_due_on.value };
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const created = await api("POST", "/api/v1/staff", body);
        showInvite(created.staff.name, created.invite);
        say("已邀请 " + created.staff.name + "。刷新页面后可在列表中看到。");
        form.reset();
        showFields();
      } catch (e) {
        say("未能邀请：" + e.message, true);
      } finally {
        button.disabled = false;
      }
    });

    document.getElementById("copy-invite").addEventListener("click", async () => {
      const input = document.getElementById("invite-url");
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (e) {
        input.select();
        document.execCommand("copy");
      }
      say("邀请链接已复制。");
    });

    document.getElementById("staff").addEventListener("click", async (event) => {
      const button = event.target.closest("button.reinvite");
      if (!button) return;
      if (!window.confirm("为 " + button.dataset.name + " 生成新的邀请链接？对方可用它设置新的通行密钥。")) return;
      button.disabled = true;
      try {
        showInvite(button.dataset.name, await api("POST", "/api/v1/staff/" + button.dataset.staffId + "/invites"));
        say("已为 " + button.dataset.name + " 生成新的邀请链接。");
        result.scrollIntoView({ block: "nearest" });
      } catch (e) {
        say("未能重新邀请：" + e.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }

  // One festival a line: its name, then its days.
  const namedDays = (text) => text.split("\n").map(line => line.trim()).filter(Boolean).map(line => {
    const [name, ...days] = line.split(/\s+/);
    return { name, days };
  });
  const yearForm = document.getElementById("year-form");
  if (yearForm) {
    yearForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = yearForm.elements;
      const body = {
        year: Number(f.year.value),
        source: { title: f.title.value.trim(), document: f.document.value.trim() || null,
          published: f.published.value || null, url: null },
        holidays: namedDays(f.holidays.value),
        workdays: namedDays(f.workdays.value),
      };
      try {
        await api("POST", "/api/v1/calendar/years", body);
        say(body.year + "年的放假安排已添加。");
        location.reload();
      } catch (e) {
        say("未能添加：" + e.message, true);
      }
    });
  }
})();
