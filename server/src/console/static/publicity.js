// The public board's objection forms: each posts its contact and reason to the
// objection operation as JSON, then says plainly in Chinese whether it was received
// (and marks the entry 异议处理中, as the board will show it from now on) or why not,
// in the problem's own detail.
"use strict";
(function () {
  function say(result, text, ok) {
    result.textContent = text;
    result.className = "result " + (ok ? "ok" : "error");
  }

  async function submit(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const id = form.dataset.entryId;
    const result = form.querySelector(".result");
    const button = form.querySelector("button");
    const contact = form.elements.contact.value;
    const reason = form.elements.reason.value;
    if (!contact.trim()) return say(result, "请填写联系方式，以便核实时联系您。", false);
    if (!reason.trim()) return say(result, "请写明哪里不对。", false);
    button.disabled = true;
    say(result, "正在提交…", true);
    let answer;
    try {
      answer = await fetch("/api/v1/public/publicity/" + encodeURIComponent(id) + "/objections", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ contact: contact, reason: reason }),
      });
    } catch (e) {
      button.disabled = false;
      return say(result, "网络不通，没有提交成功，请稍后再试。", false);
    }
    if (answer.status === 201) {
      say(result, "已收到您对记录编号 " + id + " 的异议。组织方核实处理前，这条记录不会计入。", true);
      form.elements.contact.disabled = true;
      form.elements.reason.disabled = true;
      button.hidden = true;
      const status = document.querySelector("#entry-" + id + " .status");
      if (status) {
        status.textContent = "异议处理中";
        status.className = "status status-pending";
      }
      return;
    }
    button.disabled = false;
    let detail = "";
    try {
      const problem = await answer.json();
      detail = problem.detail || problem.title || "";
    } catch (e) {
      detail = "";
    }
    say(result, "没有提交成功：" + (detail || "服务器暂时无法处理（" + answer.status + "）") , false);
  }

  for (const form of document.querySelectorAll(".objection-form")) {
    form.addEventListener("submit", submit);
  }
})();
