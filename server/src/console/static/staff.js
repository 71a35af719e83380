// The staff sign-in and enrolment page's script (served, never inline: the CSP forbids it).
"use strict";
const statusLine = document.getElementById("status");
function say(text, kind) { statusLine.textContent = text; statusLine.className = kind || ""; }
// The browser's own errors are in English and vague on purpose; say what they mean here.
function explain(e) {
  if (e && e.name === "NotAllowedError") return "未能使用通行密钥：操作已取消或超时，或本设备没有该账号的通行密钥。";
  if (e && e.name === "InvalidStateError") return "本设备已为该账号登记过通行密钥。";
  return (e && e.message) || "出错了，请重试。";
}

function fromB64url(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), c => c.charCodeAt(0));
}
function toB64url(buffer) {
  let s = "";
  for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

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
  const options = start.options.publicKey;
  options.challenge = fromB64url(options.challenge);
  options.user.id = fromB64url(options.user.id);
  (options.excludeCredentials || []).forEach(c => { c.id = fromB64url(c.id); });
  const credential = await navigator.credentials.create({ publicKey: options });
  const answer = await call("/api/v1/invites/passkey/finish-browser", {
    ceremony_id: start.ceremony_id,
    label: document.getElementById("label").value || null,
    credential: {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults(),
      response: {
        attestationObject: toB64url(credential.response.attestationObject),
        clientDataJSON: toB64url(credential.response.clientDataJSON),
        transports: credential.response.getTransports ? credential.response.getTransports() : undefined,
      },
    },
  });
  history.replaceState(null, "", location.pathname);
  signedIn(answer);
}

async function signIn(login) {
  say("正在验证……");
  const start = await call("/api/v1/sign-in/passkey/start", { login });
  const options = start.options.publicKey;
  options.challenge = fromB64url(options.challenge);
  (options.allowCredentials || []).forEach(c => { c.id = fromB64url(c.id); });
  const credential = await navigator.credentials.get({ publicKey: options });
  const answer = await call("/api/v1/sign-in/passkey/finish-browser", {
    ceremony_id: start.ceremony_id,
    credential: {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults(),
      response: {
        authenticatorData: toB64url(credential.response.authenticatorData),
        clientDataJSON: toB64url(credential.response.clientDataJSON),
        signature: toB64url(credential.response.signature),
        userHandle: credential.response.userHandle ? toB64url(credential.response.userHandle) : null,
      },
    },
  });
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
