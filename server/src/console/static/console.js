// Shared by every console page: API calls with the session cookie and the CSRF token
// (from the page's <meta>), and the sign-out button. Pages change nothing except through
// the API.
"use strict";
window.hourmark = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = meta ? meta.getAttribute("content") : null;

  // Calls the API; a problem+json answer becomes an Error whose message is its detail.
  async function api(method, path, body) {
    const headers = { "accept": "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (csrfToken) headers["x-csrf-token"] = csrfToken;
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (response.status === 401) {
      location.assign("/staff/sign-in?next=" + encodeURIComponent(location.pathname));
      throw new Error("登录已失效，请重新登录");
    }
    if (!response.ok) {
      const error = new Error(json.detail || json.title || ("请求失败（" + response.status + "）"));
      error.code = json.code;
      throw error;
    }
    return json;
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
