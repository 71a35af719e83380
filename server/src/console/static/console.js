// Shared by every console page: API calls with the session cookie and the CSRF token
// (from the page's <meta>), and the sign-out button. Pages change nothing except through
// the API.
"use strict";
window.hourmark = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = meta ? meta.getAttribute("content") : null;

  // Calls the API; a problem+json answer becomes an Error whose message is its detail.
  // What asks for a fresh passkey (removing one, revealing a volunteer's numbers) answers
  // `reverification_required`: the person confirms with their passkey, and the call is
  // made once more.
  async function api(method, path, body) {
    const first = await send(method, path, body);
    if (first.error && first.error.code === "reverification_required") {
      await stepUp();
      const again = await send(method, path, body);
      if (again.error) throw again.error;
      return again.json;
    }
    if (first.error) throw first.error;
    return first.json;
  }

  // A file (a Blob) is sent as it is, under its own type (a roster upload); anything
  // else as JSON.
  async function send(method, path, body) {
    const headers = { "accept": "application/json" };
    const file = body instanceof Blob;
    if (file) headers["content-type"] = body.type || "application/octet-stream";
    else if (body !== undefined) headers["content-type"] = "application/json";
    if (csrfToken) headers["x-csrf-token"] = csrfToken;
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined || file ? body : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    // The session is gone (a passkey that failed to verify is a 401 too, and is not).
    if (response.status === 401 && json.code !== "passkey_rejected") {
      location.assign("/staff/sign-in?next=" + encodeURIComponent(location.pathname));
      throw new Error("登录已失效，请重新登录");
    }
    if (!response.ok) {
      const error = new Error(json.detail || json.title || ("请求失败（" + response.status + "）"));
      error.code = json.code;
      return { error };
    }
    return { json };
  }

  // A passkey assertion on this session: the browser asks for the PIN or fingerprint.
  async function stepUp() {
    const passkeys = window.hourmarkPasskeys;
    const start = await api("POST", "/api/v1/me/step-up/start");
    let credential;
    try {
      credential = await passkeys.assert(start);
    } catch (e) {
      throw new Error("此操作需要用通行密钥确认身份。" + passkeys.explain(e));
    }
    await api("POST", "/api/v1/me/step-up/finish", { ceremony_id: start.ceremony_id, credential });
  }

  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      try { await api("POST", "/api/v1/console/sign-out"); } catch (e) { /* signed out anyway */ }
      location.assign("/staff/sign-in");
    });
  }
  // A bearer token for curl and other API clients, shown once in a prompt to copy.
  const apiToken = document.getElementById("api-token");
  if (apiToken) {
    apiToken.addEventListener("click", async () => {
      try {
        const issued = await api("POST", "/api/v1/me/api-tokens");
        window.prompt("API 令牌（只显示一次，有效至 " + issued.expires_at.replace("T", " ").slice(0, 16) + "）：",
          issued.access_token);
      } catch (e) {
        window.alert(e.message);
      }
    });
  }
  return { api, csrfToken };
})();
