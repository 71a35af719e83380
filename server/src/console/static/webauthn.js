// Passkey ceremonies in the browser, shared by the sign-in page and the console: the
// server's options arrive with binary fields in base64url, the browser wants buffers,
// and the answer goes back in base64url again.
"use strict";
window.hourmarkPasskeys = (function () {
  function fromB64url(s) {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  }
  function toB64url(buffer) {
    let s = "";
    for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  // navigator.credentials.get() for a start answer's options; the credential as the
  // finish call takes it.
  async function assert(start) {
    const options = start.options.publicKey;
    options.challenge = fromB64url(options.challenge);
    (options.allowCredentials || []).forEach(c => { c.id = fromB64url(c.id); });
    const credential = await navigator.credentials.get({ publicKey: options });
    return {
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
    };
  }
  // navigator.credentials.create() for an enrolment start; the credential as finish takes it.
  async function create(start) {
    const options = start.options.publicKey;
    options.challenge = fromB64url(options.challenge);
    options.user.id = fromB64url(options.user.id);
    (options.excludeCredentials || []).forEach(c => { c.id = fromB64url(c.id); });
    const credential = await navigator.credentials.create({ publicKey: options });
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults(),
      response: {
        attestationObject: toB64url(credential.response.attestationObject),
        clientDataJSON: toB64url(credential.response.clientDataJSON),
        transports: credential.response.getTransports ? credential.response.getTransports() : undefined,
      },
    };
  }
  // The browser's own errors are in English and vague on purpose; say what they mean here.
  function explain(e) {
    if (e && e.name === "NotAllowedError") return "未能使用通行密钥：操作已取消或超时，或本设备没有该账号的通行密钥。";
    if (e && e.name === "InvalidStateError") return "本设备已为该账号登记过通行密钥。";
    return (e && e.message) || "出错了，请重试。";
  }
  return { assert, create, explain };
})();
