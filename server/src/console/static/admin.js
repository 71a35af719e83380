// The administrator's pages: inviting staff (the link shown to copy and as a QR drawn
// here, from the vendored generator; the new person's row added to the list), a person's
// passkeys with removal (a lost phone's), re-inviting, adding a calendar year, and a
// province's star rule, each through its API operation.
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
        addStaffRow(created.staff, body, form);
        say("已邀请 " + created.staff.name + "，已加入下方列表。");
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

    const staff = document.getElementById("staff");
    staff.addEventListener("click", async (event) => {
      const passkeys = event.target.closest("button.passkeys");
      if (passkeys) return togglePasskeys(passkeys);
      const remove = event.target.closest("button.remove-passkey");
      if (remove) return removePasskey(remove);
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

  // A cell with text (never HTML: names are typed by people).
  const cell = (tr, text) => { const td = tr.insertCell(); td.textContent = text; return td; };
  const button = (className, text, data) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = text;
    Object.assign(b.dataset, data);
    return b;
  };

  // The invited person's row, as the page would render it after a reload.
  const roleNames = { administrator: "管理员", organiser: "组织者", leader: "活动负责人", recorder: "记录员",
    officer: "主管部门" };
  function addStaffRow(person, sent, form) {
    const tr = document.getElementById("staff").tBodies[0].insertRow();
    tr.dataset.staffId = person.id;
    tr.className = "just-recorded";
    cell(tr, person.name);
    cell(tr, person.login);
    cell(tr, roleNames[sent.role] || sent.role);
    const organisation = form.elements.organisation_id;
    cell(tr, sent.organisation_id ? organisation.options[organisation.selectedIndex].text
      : sent.region_code ? "行政区划 " + sent.region_code : "—");
    const due = sent.qualification && sent.qualification.review_due_on.match(/^\d{4}-(\d{2})-(\d{2})$/);
    cell(tr, due ? Number(due[1]) + "月" + Number(due[2]) + "日前年审" : "");
    const actions = document.createElement("div");
    actions.className = "actions";
    const data = { staffId: String(person.id), name: person.name };
    const toggle = button("passkeys", "通行密钥", data);
    toggle.setAttribute("aria-expanded", "false");
    actions.append(toggle, " ", button("reinvite", "重新邀请", data));
    tr.insertCell().append(actions);
  }

  // "2026-12-08T09:00:00+08:00" → "12月8日 09:00"; none yet → "从未使用".
  const when = (at) => at ? chineseTime(at) : "从未使用";

  // A person's passkeys in a row under theirs: each with its 删除 button.
  async function togglePasskeys(toggle) {
    const row = toggle.closest("tr");
    const open = row.nextElementSibling && row.nextElementSibling.classList.contains("passkeys-row");
    if (open) {
      row.nextElementSibling.remove();
      toggle.setAttribute("aria-expanded", "false");
      return;
    }
    toggle.disabled = true;
    try {
      const keys = await api("GET", "/api/v1/staff/" + toggle.dataset.staffId + "/passkeys");
      const tr = document.createElement("tr");
      tr.className = "passkeys-row";
      row.after(tr);
      showPasskeys(tr, toggle.dataset, keys);
      toggle.setAttribute("aria-expanded", "true");
    } catch (e) {
      say("未能读取通行密钥：" + e.message, true);
    } finally {
      toggle.disabled = false;
    }
  }

  function showPasskeys(tr, person, keys) {
    tr.replaceChildren();
    const td = tr.insertCell();
    td.colSpan = 6;
    const heading = document.createElement("h3");
    heading.textContent = person.name + " 的通行密钥";
    td.append(heading);
    if (keys.length === 0) {
      const none = document.createElement("p");
      none.className = "empty";
      none.textContent = "没有通行密钥：需重新邀请后才能登录。";
      td.append(none);
      return;
    }
    const list = document.createElement("ul");
    list.className = "passkey-list";
    for (const key of keys) {
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = key.label + "　登记于 " + chineseTime(key.created_at) + "　最近使用 " + when(key.last_used_at);
      li.append(text, " ", button("remove-passkey danger", "删除", {
        staffId: person.staffId, name: person.name, passkeyId: key.id, label: key.label,
        last: String(keys.length === 1),
      }));
      li.lastChild.setAttribute("aria-label", "删除 " + person.name + " 的通行密钥“" + key.label + "”");
      list.append(li);
    }
    td.append(list);
  }

  async function removePasskey(remove) {
    const d = remove.dataset;
    const after = d.last === "true" ? "删除后此人需重新邀请才能登录。" : "删除后此人需用其余通行密钥重新登录。";
    if (!window.confirm("删除 " + d.name + " 的通行密钥“" + d.label + "”？" + after)) return;
    remove.disabled = true;
    try {
      await api("DELETE", "/api/v1/staff/" + d.staffId + "/passkeys/" + d.passkeyId);
      const tr = remove.closest("tr");
      showPasskeys(tr, d, await api("GET", "/api/v1/staff/" + d.staffId + "/passkeys"));
      say("已删除 " + d.name + " 的通行密钥“" + d.label + "”，此人的登录已全部失效。" +
        (d.last === "true" ? "如需继续使用，请为其重新邀请。" : ""));
    } catch (e) {
      remove.disabled = false;
      say("未能删除：" + e.message, true);
    }
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

  // A province's star rule: the five thresholds and the complaint window, saved whole.
  const ruleForm = document.getElementById("star-rule-form");
  if (ruleForm) {
    ruleForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = ruleForm.elements;
      const body = {
        thresholds: [1, 2, 3, 4, 5].map(n => Number(f["star" + n].value)),
        complaint_block_days: Number(f.complaint_block_days.value),
      };
      // Each star needs more hours than the one below: said here, in words, before asking.
      const low = body.thresholds.findIndex((hours, i) => i > 0 && hours <= body.thresholds[i - 1]);
      if (low > 0) {
        say("未能保存：" + (low + 1) + " 星所需小时数须多于 " + low + " 星。", true);
        f["star" + (low + 1)].focus();
        return;
      }
      const submit = ruleForm.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        const saved = await api("PUT", "/api/v1/star-rules/" + ruleForm.dataset.region, body);
        saved.thresholds.forEach((hours, i) => {
          document.getElementById("fact-star" + (i + 1)).textContent = hours + " 小时";
        });
        document.getElementById("fact-days").textContent = saved.complaint_block_days
          ? saved.complaint_block_days + " 天" : "投诉不影响申请";
        document.getElementById("rule-source").textContent = "现行标准由本省规定。";
        say(ruleForm.dataset.name + "的星级标准已保存：" + saved.thresholds.join("、") + " 小时。");
      } catch (e) {
        say("未能保存：" + e.message, true);
      } finally {
        submit.disabled = false;
      }
    });
  }
})();
