// The staff sign-in and enrolment page's script (served, never inline: the CSP forbids it).
"use strict";
const statusLine = document.getElementById("status");
function say(text, kind) { statusLine.textContent = text; statusLine.className = kind || ""; }
const { assert, create, explain } = window.hourmarkPasskeys;

async function call(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.detail || json.title || ("HTTP " + response.status));
  return json;
}

// The session is an HttpOnly cookie the server set with the answer; this page never
// holds the token. Back to the console page that sent us here, or to the console.
function signedIn(answer) {
  say("已登录：" + answer.staff.name + "（" + answer.staff.login + "）。正在进入管理后台……", "ok");
  const next = new URLSearchParams(location.search).get("next");
  const safe = next && /^\/console(\/[A-Za-z0-9_\-\/]*)?$/.test(next) ? next : "/console";
  location.assign(safe);
}

async function enrol(invite) {
  say("正在准备……");
  const start = await call("/api/v1/invites/passkey/start", { invite });
  const credential = await create(start);
  const answer = await call("/api/v1/invites/passkey/finish-browser", {
    ceremony_id: start.ceremony_id,
    label: document.getElementById("label").value || null,
    credential,
  });
  history.replaceState(null, "", location.pathname);
  signedIn(answer);
}

async function signIn(login) {
  say("正在验证……");
  const start = await call("/api/v1/sign-in/passkey/start", { login });
  const credential = await assert(start);
  const answer = await call("/api/v1/sign-in/passkey/finish-browser", { ceremony_id: start.ceremony_id, credential });
  signedIn(answer);
}

const invite = new URLSearchParams(location.hash.slice(1)).get("invite");
if (!window.PublicKeyCredential) {
  say("此浏览器不支持通行密钥，请换用较新的浏览器。", "error");
} else if (invite) {
  document.getElementById("enrol").hidden = false;
  document.getElementById("enrol-button").onclick = () => enrol(invite).catch(e => say(explain(e), "error"));
} else {
  document.getElementById("sign-in").hidden = false;
  document.getElementById("sign-in-button").onclick = () =>
    signIn(document.getElementById("login").value.trim()).catch(e => say(explain(e), "error"));
}
