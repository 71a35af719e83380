// The certificate and star desks: issuing or declining a certificate request, revoking a
// certificate, deciding star applications and reviews, each through its API operation.
// A row that is done keeps its place and says what happened (with the PDF once issued).
"use strict";
(function () {
  const api = window.hourmark.api;
  const status = document.getElementById("register-status");
  const say = (text, failed) => {
    status.textContent = text;
    status.classList.toggle("error", Boolean(failed));
  };
  const hours = (minutes) => {
    const h = Math.floor(minutes / 60), m = minutes % 60;
    return h === 0 ? m + "分" : (m === 0 ? h + "小时" : h + "小时" + m + "分");
  };

  // Runs a row's action; on success the row's state cell shows what `done` returns and
  // the row's forms go.
  async function settle(form, call, done) {
    const row = form.closest("tr");
    const controls = row.querySelectorAll("button, input");
    controls.forEach(c => { c.disabled = true; });
    try {
      const answer = await call();
      const state = row.querySelector(".state");
      state.replaceChildren(...done(answer));
      row.querySelectorAll("form").forEach(f => f.closest("td").replaceChildren());
      row.classList.add("just-recorded");
    } catch (e) {
      controls.forEach(c => { c.disabled = false; });
      say("操作未完成：" + e.message, true);
    }
  }

  const requests = document.getElementById("certificate-requests");
  // The handler, telephone and department are the same for a desk's whole queue: kept in
  // this browser after the first issue and filled in on every row.
  const remembered = ["handler", "contact", "department"];
  if (requests) {
    for (const name of remembered) {
      const value = localStorage.getItem("hourmark.certificate." + name);
      if (value) requests.querySelectorAll(".issue-form input[name=" + name + "]").forEach(i => { if (!i.value) i.value = value; });
    }
    requests.addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      const id = form.dataset.requestId;
      const name = form.closest("tr").cells[1].firstChild.textContent.trim();
      if (form.classList.contains("issue-form")) {
        const f = form.elements;
        const body = { handler: f.handler.value.trim(), contact: f.contact.value.trim() };
        if (f.department) body.department = f.department.value.trim();
        for (const name of remembered) {
          if (!body[name]) continue;
          localStorage.setItem("hourmark.certificate." + name, body[name]);
          requests.querySelectorAll(".issue-form input[name=" + name + "]").forEach(i => { if (!i.value) i.value = body[name]; });
        }
        settle(form, () => api("POST", "/api/v1/certificate-requests/" + id + "/issue", body), (view) => {
          const number = view.content.number;
          const pdf = document.createElement("a");
          pdf.href = "/api/v1/certificates/" + number + "/pdf";
          pdf.setAttribute("download", number + ".pdf");
          pdf.textContent = "下载 PDF";
          say("已为 " + name + " 出具证明 " + number + "，共 " + hours(view.content.total_minutes) + "。");
          return [document.createTextNode("已出具 " + number + " "), pdf];
        });
      } else {
        const reason = form.elements.reason.value.trim();
        settle(form, () => api("POST", "/api/v1/certificate-requests/" + id + "/decline", { reason }), () => {
          say("已不予出具 " + name + " 的证明申请。");
          return [document.createTextNode("未予出具（" + reason + "）")];
        });
      }
    });
  }

  // The seal is a PNG sent as it is (the server checks the bytes, not the name).
  const seal = document.getElementById("seal-form");
  if (seal) {
    seal.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = seal.elements.seal.files[0];
      if (!file) return;
      const button = seal.querySelector("button");
      button.disabled = true;
      try {
        const response = await fetch("/api/v1/organisations/" + seal.dataset.organisationId + "/seal", {
          method: "PUT", credentials: "same-origin", body: file,
          headers: { "content-type": "image/png", "x-csrf-token": window.hourmark.csrfToken },
        });
        if (!response.ok) {
          const problem = await response.json().catch(() => ({}));
          throw new Error(problem.detail || problem.title || "请求失败（" + response.status + "）");
        }
        say("印章已上传，此后出具的证明将印有此章。");
        seal.reset();
      } catch (e) {
        say("未能上传印章：" + e.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }

  const revoke = document.getElementById("revoke-form");
  if (revoke) {
    revoke.addEventListener("submit", async (event) => {
      event.preventDefault();
      const f = revoke.elements;
      const number = f.number.value.trim().toUpperCase();
      if (!window.confirm("撤销证明 " + number + "？撤销后不可恢复，核验时将显示已撤销。")) return;
      const button = revoke.querySelector("button");
      button.disabled = true;
      try {
        await api("POST", "/api/v1/certificates/" + encodeURIComponent(number) + "/revoke", { reason: f.reason.value.trim() });
        say("证明 " + number + " 已撤销。");
        revoke.reset();
      } catch (e) {
        say("未能撤销：" + e.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }

  // Star decisions: the pressed button says which way.
  for (const [tableId, path, field, outcomes] of [
    ["star-applications", "/api/v1/star-applications/", "grant", { "true": "已认定", "false": "未予认定" }],
    ["star-reviews", "/api/v1/star-reviews/", "revoke", { "true": "已撤销星级", "false": "已保留星级" }],
  ]) {
    const table = document.getElementById(tableId);
    if (!table) continue;
    table.addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      const choice = event.submitter ? event.submitter.value : "false";
      const reason = form.elements.reason.value.trim();
      const id = form.dataset.applicationId || form.dataset.reviewId;
      const name = form.closest("tr").cells[1].textContent;
      settle(form, () => api("POST", path + id + "/decision", { [field]: choice === "true", reason }), () => {
        say(name + "：" + outcomes[choice] + "。");
        return [document.createTextNode(outcomes[choice] + "（" + reason + "）")];
      });
    });
  }
})();

// The time bank desk: a spend is sent once per filled form (its key is made when the
// form is filled, so pressing again after a lost answer is the same spend, never two).
(function () {
  const spend = document.getElementById("spend-form");
  if (!spend) return;
  const api = window.hourmark.api;
  const status = document.getElementById("register-status");
  const say = (text, failed) => { status.textContent = text; status.classList.toggle("error", Boolean(failed)); };
  const newKey = () => "console-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  let key = newKey();
  spend.addEventListener("input", () => { key = newKey(); });
  spend.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = spend.elements;
    const minutes = Number(f.hours.value) * 60 + Number(f.minutes.value);
    const number = f.volunteer_number.value.trim();
    const body = { key, minutes, service: f.service.value.trim() };
    if (number) body.volunteer_number = number;
    if (f.beneficiary.value.trim()) body.beneficiary = f.beneficiary.value.trim();
    const button = spend.querySelector("button");
    button.disabled = true;
    try {
      await api("POST", "/api/v1/time-bank/spends", body);
      const h = Math.floor(minutes / 60), m = minutes % 60;
      const amount = (h ? h + "小时" : "") + (m ? m + "分" : "");
      say("已登记：" + (number ? "从志愿者 " + number + " 的储蓄" : "从公共互助池") + "支出 " + amount + "（" + body.service + "）。");
      spend.reset();
      key = newKey();
    } catch (e) {
      say("未能登记：" + e.message, true);
    } finally {
      button.disabled = false;
    }
  });

  const setting = document.getElementById("setting-form");
  if (!setting) return;
  setting.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = setting.elements;
    const body = {
      enabled: f.enabled.checked,
      expiry_months: f.expiry_months.value ? Number(f.expiry_months.value) : null,
      min_stars_to_spend: f.min_stars_to_spend.value ? Number(f.min_stars_to_spend.value) : null,
    };
    try {
      const saved = await api("PUT", "/api/v1/organisations/" + setting.dataset.organisationId + "/time-bank", body);
      document.getElementById("fact-enabled").textContent = saved.enabled ? "已开启" : "未开启";
      document.getElementById("fact-expiry").textContent =
        saved.expiry_months ? saved.expiry_months + " 个月后未用部分失效" : "长期有效";
      document.getElementById("fact-stars").textContent =
        saved.min_stars_to_spend ? "须持有 " + saved.min_stars_to_spend + " 星及以上" : "不限星级";
      say("设置已保存。");
    } catch (e) {
      say("未能保存：" + e.message, true);
    }
  });
})();
