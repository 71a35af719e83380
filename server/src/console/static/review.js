// The review page's actions. Each form calls one API operation with the session cookie
// and the CSRF token (console.js); a refusal is shown beside the form in the API's own
// Chinese words, a success reloads the page so it shows what the server now holds.
"use strict";
(function () {
  const api = window.hourmark.api;
  const FLASH = "hourmark-review-flash";

  const flash = document.getElementById("flash");
  const remembered = sessionStorage.getItem(FLASH);
  if (flash && remembered) {
    flash.textContent = remembered;
    sessionStorage.removeItem(FLASH);
  }

  function statusOf(form) { return form.querySelector(".status"); }

  // Runs `call`; on success remembers `message` and reloads, on refusal shows why.
  async function act(form, status, call, message) {
    const buttons = form ? form.querySelectorAll("button") : [];
    buttons.forEach((b) => { b.disabled = true; });
    status.classList.remove("error");
    status.textContent = "正在提交…";
    try {
      await call();
      sessionStorage.setItem(FLASH, message);
      location.reload();
    } catch (e) {
      status.classList.add("error");
      status.textContent = e.message;
      status.dataset.code = e.code || "";
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  const text = (form, name) => (form.elements[name] ? form.elements[name].value.trim() : "");
  const number = (form, name) => {
    const raw = text(form, name);
    return raw === "" ? null : Number(raw);
  };

  // Flags: accept, adjust (minutes, at most the day's scheduled minutes) or reject.
  document.querySelectorAll("form.resolve").forEach((form) => {
    const minutes = form.elements.minutes;
    form.addEventListener("change", () => {
      minutes.disabled = form.elements.decision.value !== "adjust";
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const decision = form.elements.decision.value;
      const body = { decision, reason: text(form, "reason") };
      if (decision === "adjust") body.minutes = number(form, "minutes");
      const path = "/api/v1/activities/" + form.dataset.activityId + "/flags/" + form.dataset.flagId + "/resolution";
      act(form, statusOf(form), () => api("POST", path, body), "已保存审核决定。");
    });
  });

  // Late entries: asked for by one recorder, decided by another.
  const lateForm = document.getElementById("late-entry-form");
  if (lateForm) {
    lateForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = {
        volunteer_number: text(lateForm, "volunteer_number"), day: text(lateForm, "day"),
        minutes: number(lateForm, "minutes"), evidence: text(lateForm, "evidence"), reason: text(lateForm, "reason"),
      };
      const path = "/api/v1/activities/" + lateForm.dataset.activityId + "/late-entries";
      act(lateForm, statusOf(lateForm), () => api("POST", path, body), "已提交补录申请，待另一名记录员审批。");
    });
  }
  document.querySelectorAll("form.decide-late").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const approve = event.submitter ? event.submitter.value === "true" : true;
      const path = "/api/v1/activities/" + form.dataset.activityId + "/late-entries/" + form.dataset.entryId + "/decision";
      act(form, statusOf(form), () => api("POST", path, { approve, reason: text(form, "reason") }),
        approve ? "已批准补录。" : "已不批准补录。");
    });
  });

  // Finalising: the server says what still blocks it.
  const finalise = document.getElementById("finalise");
  if (finalise) {
    finalise.addEventListener("click", () => {
      const status = document.getElementById("finalise-status");
      const path = "/api/v1/activities/" + finalise.dataset.activityId + "/finalise";
      act(finalise.parentElement, status, () => api("POST", path), "已定稿，时长进入公示。");
    });
  }

  // Corrections of finalised days: proposed by one recorder, decided by another.
  const correctionForm = document.getElementById("correction-form");
  if (correctionForm) {
    correctionForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const [volunteer, day] = correctionForm.elements.session.value.split("|");
      const body = { volunteer_id: Number(volunteer), day, minutes: number(correctionForm, "minutes"), reason: text(correctionForm, "reason") };
      const path = "/api/v1/activities/" + correctionForm.dataset.activityId + "/session-corrections";
      act(correctionForm, statusOf(correctionForm), () => api("POST", path, body), "已提出更正，待另一名记录员决定。");
    });
  }
  document.querySelectorAll("form.decide-correction").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const approve = event.submitter ? event.submitter.value === "true" : true;
      const path = "/api/v1/activities/" + form.dataset.activityId + "/session-corrections/" + form.dataset.correctionId + "/decision";
      act(form, statusOf(form), () => api("POST", path, { approve, reason: text(form, "reason") }),
        approve ? "已批准更正。" : "已不批准更正。");
    });
  });

  // Objections to a day in publicity: uphold with corrected minutes, or dismiss.
  document.querySelectorAll("form.decide-objection").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const uphold = event.submitter ? event.submitter.value === "true" : false;
      const body = { uphold, reason: text(form, "reason") };
      if (uphold) body.minutes = number(form, "minutes");
      const path = "/api/v1/objections/" + form.dataset.objectionId + "/decision";
      act(form, statusOf(form), () => api("POST", path, body), uphold ? "已采纳异议并更正。" : "已不采纳异议。");
    });
  });

  // Evaluations: a grade and a comment; saving again replaces the earlier one.
  document.querySelectorAll("form.evaluate").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { grade: form.elements.grade.value, comment: text(form, "comment") };
      const path = "/api/v1/activities/" + form.dataset.activityId + "/evaluations/" + form.dataset.volunteerId;
      act(form, statusOf(form), () => api("PUT", path, body), "已保存评价。");
    });
  });
})();
