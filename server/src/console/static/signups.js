// The sign-ups page: publishes or changes recruitment, shows each slot's places and the
// sign-ups, and approves or declines them, all through the API. After every change the
// tables are read again from the API, so the page shows what Hourmark holds, not a guess.
"use strict";
(function () {
  const root = document.getElementById("signups-page");
  if (!root) return;
  const api = window.hourmark.api;
  const id = root.dataset.activityId;
  const mayDecide = root.dataset.mayDecide === "true";
  const base = "/api/v1/activities/" + id;
  const statusLine = document.getElementById("signups-status");

  const say = (el, text, bad) => {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("error", Boolean(bad));
  };
  const cell = (text, className) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };
  // `12月5日 09:00` in Beijing time, whatever the browser's zone.
  const chineseTime = (iso) => {
    const t = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
    const two = (n) => String(n).padStart(2, "0");
    return (t.getUTCMonth() + 1) + "月" + t.getUTCDate() + "日 " + two(t.getUTCHours()) + ":" + two(t.getUTCMinutes());
  };
  const statusText = (s) => ({
    pending: "待审核",
    approved: "已通过",
    waitlisted: "候补第" + (s.waitlist_position || "?") + "位",
    declined: "未通过",
    cancelled: "已取消",
  })[s.status] || s.status;

  function showSlots(recruitment) {
    const body = document.querySelector("#slots tbody");
    body.replaceChildren(...recruitment.slots.map((s) => {
      const tr = document.createElement("tr");
      tr.dataset.slotId = s.id;
      tr.append(cell(s.name), cell(String(s.capacity), "num"), cell(String(s.approved), "num approved"),
        cell(String(s.pending), "num pending"), cell(String(s.waitlisted), "num waitlisted"),
        cell(String(s.places_left), "num left"));
      return tr;
    }));
  }

  function decisionCell(signup) {
    const td = document.createElement("td");
    if (signup.status !== "pending") return td;
    const form = document.createElement("form");
    form.className = "decide";
    form.noValidate = true;
    const approve = document.createElement("button");
    approve.type = "button";
    approve.className = "approve primary";
    approve.textContent = "通过";
    const reason = document.createElement("input");
    reason.name = "reason";
    reason.required = true;
    reason.maxLength = 500;
    reason.placeholder = "不通过的理由（志愿者可见）";
    reason.setAttribute("aria-label", "不通过 " + signup.volunteer_name + " 的报名的理由");
    const decline = document.createElement("button");
    decline.type = "submit";
    decline.className = "decline";
    decline.textContent = "不通过";
    approve.addEventListener("click", () => decide(signup, { approve: true }, form));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      reason.classList.add("touched");
      const text = reason.value.trim();
      if (!text) {
        say(statusLine, "请填写不通过的理由，志愿者会看到。", true);
        reason.focus();
        return;
      }
      decide(signup, { approve: false, reason: text }, form);
    });
    form.append(approve, reason, decline);
    td.append(form);
    return td;
  }

  function showSignups(signups) {
    // The decision column only while something waits for a decision.
    const deciding = mayDecide && signups.some((s) => s.status === "pending");
    const heading = document.getElementById("decide-heading");
    if (heading) heading.hidden = !deciding;
    const body = document.querySelector("#signups tbody");
    body.replaceChildren(...signups.map((s) => {
      const tr = document.createElement("tr");
      tr.dataset.signupId = s.id;
      const state = cell(statusText(s), "state " + s.status);
      if (s.status === "declined" && s.reason) {
        const why = document.createElement("span");
        why.className = "reason";
        why.textContent = "理由：" + s.reason;
        state.append(why);
      }
      tr.append(cell(s.volunteer_name, "volunteer"), cell(s.slot_name, "slot"), state, cell(chineseTime(s.created_at), "when"));
      if (deciding) tr.append(decisionCell(s));
      return tr;
    }));
    document.getElementById("no-signups").hidden = signups.length > 0;
    document.getElementById("signups").hidden = signups.length === 0;
    const all = document.getElementById("approve-all");
    if (all) all.disabled = !signups.some((s) => s.status === "pending");
  }

  // Reads the places and the sign-ups again.
  async function refresh() {
    let recruitment;
    try {
      recruitment = await api("GET", base + "/recruitment");
    } catch (e) {
      say(statusLine, "未能读取招募信息：" + e.message, true);
      return;
    }
    document.getElementById("slots-section").hidden = false;
    document.getElementById("signups-section").hidden = false;
    showShare();
    showSlots(recruitment);
    await showTraining(recruitment);
    try {
      showSignups(await api("GET", base + "/signups"));
    } catch (e) {
      say(statusLine, "未能读取报名名单：" + e.message, true);
    }
    await showNoShows();
  }

  // Who was approved and did not come, once the activity has ended: worked out from the
  // scans until the activity is finalised, the list recorded then afterwards. The
  // organisation's own: the note says it is never published.
  async function showNoShows() {
    const section = document.getElementById("no-shows-section");
    let result;
    try {
      result = await api("GET", base + "/no-shows");
    } catch (e) {
      section.hidden = false;
      say(document.getElementById("no-shows-note"), "未能读取未到场名单：" + e.message, true);
      return;
    }
    section.hidden = !result.ended || result.cancelled;
    if (section.hidden) return;
    const privacy = "仅本组织可见，不会公示，也不会报送或导出给他人。";
    say(document.getElementById("no-shows-note"), result.recorded_at
      ? "活动定稿时（" + chineseTime(result.recorded_at) + "）记录：报名已通过、但既没有签到也没有获批补录的志愿者。" + privacy
      : "活动已结束：报名已通过、但还没有签到记录的志愿者；定稿时将记录在案（获批补录的不计）。" + privacy);
    document.getElementById("no-shows").replaceChildren(...result.no_shows.map((s) => {
      const li = document.createElement("li");
      li.textContent = s.volunteer_name + " · " + s.slot_name;
      return li;
    }));
    document.getElementById("no-no-shows").hidden = result.no_shows.length > 0;
  }

  async function decide(signup, decision, form) {
    form.querySelectorAll("button, input").forEach((el) => { el.disabled = true; });
    try {
      await api("POST", base + "/signups/" + signup.id + "/decision", decision);
      say(statusLine, (decision.approve ? "已通过 " : "未通过 ") + signup.volunteer_name + " 的报名。");
    } catch (e) {
      say(statusLine, "未能处理 " + signup.volunteer_name + " 的报名：" + e.message, true);
    }
    await refresh();
  }

  // Who completed the training the recruitment requires (the section shows only then).
  async function showTraining(recruitment) {
    const section = document.getElementById("training-section");
    section.hidden = !recruitment.required_training;
    if (!recruitment.required_training) return;
    document.getElementById("training-name").textContent = recruitment.required_training;
    let done;
    try {
      done = await api("GET", base + "/training-completions");
    } catch (e) {
      say(document.getElementById("training-status"), "未能读取培训完成记录：" + e.message, true);
      return;
    }
    document.getElementById("completions").replaceChildren(...done.map((c) => {
      const li = document.createElement("li");
      li.textContent = c.volunteer_name + " · " + chineseTime(c.recorded_at) + " 登记";
      return li;
    }));
    document.getElementById("no-completions").hidden = done.length > 0;
  }
  const trainingForm = document.getElementById("training-form");
  if (trainingForm) {
    trainingForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = trainingForm.elements.phone;
      const trainingStatus = document.getElementById("training-status");
      if (!field.value.trim()) {
        say(trainingStatus, "请填写志愿者的手机号。", true);
        return;
      }
      try {
        const done = await api("POST", base + "/training-completions", { phone: field.value.trim() });
        say(trainingStatus, "已登记 " + done.volunteer_name + " 完成培训。");
        field.value = "";
      } catch (e) {
        say(trainingStatus, "未能登记：" + e.message, true);
      }
      await refresh();
    });
  }

  // The share link and its QR, once the activity is published (the QR is a 404 before).
  // A cancelled or finalised activity's page has none: nobody is to be invited any more.
  const shareSection = document.getElementById("share-section");
  function showShare() {
    if (!shareSection) return;
    shareSection.hidden = false;
    const qr = document.getElementById("share-qr");
    if (!qr.getAttribute("src")) qr.src = qr.dataset.src;
  }
  const copyShare = document.getElementById("copy-share");
  if (copyShare) copyShare.addEventListener("click", async () => {
    const field = document.getElementById("share-url");
    const shareStatus = document.getElementById("share-status");
    try {
      await navigator.clipboard.writeText(field.value);
      say(shareStatus, "已复制链接。");
    } catch {
      // No clipboard (an insecure origin, a refused permission): select it to copy by hand.
      field.select();
      say(shareStatus, "请长按或按 Ctrl+C 复制已选中的链接。");
    }
  });

  const approveAll = document.getElementById("approve-all");
  if (approveAll) {
    approveAll.addEventListener("click", async () => {
      approveAll.disabled = true;
      try {
        const approved = await api("POST", base + "/signups/approvals", { all: true });
        say(statusLine, "已通过 " + approved.length + " 人的报名。");
      } catch (e) {
        say(statusLine, "未能全部通过：" + e.message, true);
      }
      await refresh();
    });
  }

  // The recruitment form: slot rows added and removed, then one PUT with the whole form.
  const form = document.getElementById("recruit-form");
  if (form) {
    const rows = document.getElementById("slot-rows");
    const template = document.getElementById("slot-template");
    const wire = (li) => {
      const remove = li.querySelector(".remove-slot");
      remove.addEventListener("click", () => {
        if (rows.children.length > 1) li.remove();
        syncRemove();
      });
    };
    // The last slot cannot go: recruitment needs at least one.
    const syncRemove = () => {
      const only = rows.children.length === 1;
      rows.querySelectorAll(".remove-slot").forEach((b) => {
        if (!b.title) b.disabled = only;
      });
    };
    Array.from(rows.children).forEach(wire);
    syncRemove();
    document.getElementById("add-slot").addEventListener("click", () => {
      const li = template.content.firstElementChild.cloneNode(true);
      rows.append(li);
      wire(li);
      syncRemove();
      li.querySelector("input[name=slot_name]").focus();
    });

    const formStatus = document.getElementById("recruit-status");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const slots = Array.from(rows.children).map((li) => ({
        name: li.querySelector("input[name=slot_name]").value.trim(),
        capacity: Number(li.querySelector("input[name=slot_capacity]").value),
      }));
      if (slots.some((s) => !s.name)) {
        say(formStatus, "请填写每个岗位的名称。", true);
        return;
      }
      if (slots.some((s) => !Number.isInteger(s.capacity) || s.capacity < 1)) {
        say(formStatus, "每个岗位的名额须为正整数。", true);
        return;
      }
      const deadline = form.elements.signup_deadline.value;
      const cutoff = form.elements.cancel_cutoff.value;
      if (!deadline || !cutoff) {
        say(formStatus, "请填写报名截止时间和取消报名截止时间。", true);
        return;
      }
      // Both fields and the activity's end are `YYYY-MM-DDTHH:MM` in Beijing time, so they
      // compare as text; the API refuses the same, this only saves a round trip.
      const endsAt = form.dataset.endsAt;
      if (deadline > endsAt || cutoff > endsAt) {
        say(formStatus, "报名截止与取消截止时间不能晚于活动结束时间。", true);
        return;
      }
      const age = form.elements.min_age.value.trim();
      const body = {
        slots,
        // Local Beijing time without an offset, as the field shows it.
        signup_deadline: deadline,
        cancel_cutoff: cutoff,
        approval_required: form.elements.approval_required.checked,
        waitlist: form.elements.waitlist.checked,
        walk_ins: form.elements.walk_ins.checked,
        min_age: age === "" ? null : Number(age),
        // Sent every time: a field left out would clear the skills the API holds.
        required_skills: form.elements.required_skills.value.split(/[、,，;；]/).map((t) => t.trim()).filter(Boolean),
        // Sent every time too: left empty, no training is required.
        required_training: form.elements.required_training.value.trim() || null,
      };
      const button = document.getElementById("publish");
      button.disabled = true;
      const first = root.dataset.recruiting !== "true";
      try {
        await api("PUT", base + "/recruitment", body);
        root.dataset.recruiting = "true";
        say(formStatus, first ? "招募已发布，志愿者现在可以报名。" : "招募设置已保存。");
        button.textContent = "保存招募设置";
        document.getElementById("recruit-heading").textContent = "修改招募设置";
        const note = document.getElementById("not-recruiting");
        if (note) note.remove();
      } catch (e) {
        say(formStatus, (first ? "未能发布招募：" : "未能保存：") + e.message, true);
      }
      button.disabled = false;
      await refresh();
    });
  }

  // Calling the activity off: the reason first, then a confirmation saying how many
  // volunteers will be told; once done the page is read again and shows it cancelled.
  const cancelForm = document.getElementById("cancel-form");
  if (cancelForm) {
    const dialog = document.getElementById("cancel-confirm");
    const cancelStatus = document.getElementById("cancel-status");
    const field = cancelForm.elements.reason;
    cancelForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reason = field.value.trim();
      if (!reason) {
        field.classList.add("touched");
        say(cancelStatus, "请填写取消原因，已报名的志愿者会看到。", true);
        field.focus();
        return;
      }
      say(cancelStatus, "");
      let live = 0;
      if (root.dataset.recruiting === "true") {
        try {
          live = (await api("GET", base + "/signups")).filter((s) => ["pending", "approved", "waitlisted"].includes(s.status)).length;
        } catch (e) {
          say(cancelStatus, "未能读取报名名单：" + e.message, true);
          return;
        }
      }
      document.getElementById("confirm-who").textContent = live > 0
        ? "将通知已报名和候补的 " + live + " 位志愿者：活动取消，不再接受报名和签到。"
        : "目前没有人报名。取消后不再接受报名和签到。";
      document.getElementById("confirm-reason").textContent = reason;
      dialog.showModal();
    });
    document.getElementById("confirm-keep").addEventListener("click", () => dialog.close());
    document.getElementById("confirm-cancel").addEventListener("click", async (event) => {
      event.target.disabled = true;
      try {
        await api("POST", base + "/cancellation", { reason: field.value.trim() });
        dialog.close();
        location.reload();
      } catch (e) {
        dialog.close();
        event.target.disabled = false;
        say(cancelStatus, "未能取消活动：" + e.message, true);
      }
    });
  }

  // Before recruitment is published there is nothing to read (the API would answer 404).
  if (root.dataset.recruiting === "true") refresh();
})();
