// The scan page's script (served, never inline: the pages' CSP forbids inline script).
// Stand-in for the mini program: registers once, then posts the scanned code with a nonce
// kept until an answer arrives, so a retry on a weak network never counts twice.
(function () {
  // The privacy notice this page shows; recorded with each consent.
  var NOTICE_VERSION = '2026-11';
  var token = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
  var store = window.localStorage;
  var statusBox = document.getElementById('status');
  var retry = document.getElementById('retry');
  var form = document.getElementById('register');
  function say(text, cls) { statusBox.textContent = text; statusBox.className = cls || ''; }
  function deviceId() {
    var id = store.getItem('hourmark.device');
    if (!id) { id = 'web-' + uuid(); store.setItem('hourmark.device', id); }
    return id;
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); crypto.getRandomValues(b); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }
  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) return resolve(null);
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ lat: p.coords.latitude, lng: p.coords.longitude, accuracy_m: Math.min(p.coords.accuracy, 100000) });
      }, function () { resolve(null); }, { timeout: 5000, maximumAge: 30000 });
    });
  }
  function scan() {
    retry.hidden = true;
    say('正在提交……');
    var nonceKey = 'hourmark.nonce.' + token;
    var nonce = store.getItem(nonceKey);
    if (!nonce) { nonce = uuid(); store.setItem(nonceKey, nonce); }
    position().then(function (loc) {
      var body = { code: token, nonce: nonce, client_time: new Date().toISOString(), device_id: deviceId() };
      if (loc) body.location = loc;
      return fetch('/mp/v1/scans', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer ' + store.getItem('hourmark.token') },
        body: JSON.stringify(body)
      });
    }).then(function (r) {
      return r.json().then(function (j) { return { status: r.status, body: j }; });
    }).then(function (a) {
      if (a.status === 503) { say(a.body.detail || '服务繁忙，请重试', 'err'); retry.hidden = false; return; }
      store.removeItem(nonceKey);
      if (a.status === 401) { store.removeItem('hourmark.token'); form.hidden = false; say('请重新登记', 'err'); return; }
      if (a.status === 200) say(a.body.message, 'ok'); else say(a.body.detail || a.body.title, 'err');
    }).catch(function () { say('网络不畅，请点击重试（不会重复计时）', 'err'); retry.hidden = false; });
  }
  var idType = document.getElementById('id_type');
  idType.addEventListener('change', function () {
    document.getElementById('self_declared').hidden = idType.value === 'resident_id';
  });
  function value(id) { return document.getElementById(id).value; }
  function checked(id) { return document.getElementById(id).checked; }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    say('正在登记……');
    var body = {
      name: value('name'), id_type: idType.value, id_number: value('id_number'), phone: value('phone'),
      device_id: deviceId(),
      consent: { notice_version: NOTICE_VERSION, record: checked('c_record'), publicity: checked('c_publicity'), location: checked('c_location') }
    };
    if (idType.value !== 'resident_id') { body.gender = Number(value('gender')); body.birth_month = value('birth_month'); }
    fetch('/mp/v1/volunteers', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); })
      .then(function (a) {
        if (a.status !== 201) { say(a.body.detail || a.body.title, 'err'); return; }
        store.setItem('hourmark.token', a.body.access_token);
        form.hidden = true;
        scan();
      }).catch(function () { say('网络不畅，请稍后再试', 'err'); });
  });
  retry.addEventListener('click', scan);
  if (store.getItem('hourmark.token')) scan(); else { form.hidden = false; say(''); }
})();
