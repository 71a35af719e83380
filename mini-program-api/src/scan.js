// The scan page's script (served, never inline: the pages' CSP forbids inline script).
// Stand-in for the mini program. In order: read the code (GET /mp/v1/codes/{token}) and
// show what it names, or why it is no good, before asking anything; register once if
// needed, or sign a returning volunteer in by SMS code (a new phone, a cleared browser);
// a minor's guardian confirms by a code sent to the guardian's phone; then post the scan with the pending-scan
// ticket from the reading (so a slow form does not lose it) and a nonce kept until an
// answer arrives (so a retry on a weak network never counts twice). With no network, a
// signed-in volunteer's scan is kept on the phone and uploaded later (scan-queue.js); the
// service worker (scan-sw.js) lets the page itself open with no network.
(function () {
  // The privacy notice (/privacy) this page links to; recorded with each consent.
  var NOTICE_VERSION = '2026-12';
  var token = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() || '');
  var store = window.localStorage;
  var session = window.sessionStorage;
  var $ = function (id) { return document.getElementById(id); };
  var reading = null;
  var queue = window.HourmarkQueue;
  // The nonce of the scan this page kept offline, to show its answer here when it is uploaded.
  var keptHere = null;
  // Sign-in inside WeChat's own browser (Official Account web authorisation): offered only
  // there (its user agent says MicroMessenger) and only when the server has an Official
  // Account (it marks the page). Coming back from WeChat, the fragment holds the one-time
  // handle, or why it failed; it is dropped from the address at once so a reload does not
  // reuse it.
  var wechatOa = /MicroMessenger/i.test(navigator.userAgent) &&
    document.querySelector('main').getAttribute('data-wechat-oa') === 'on';
  var oaBack = (function () {
    var m = /^#wechat_oa(_error)?=([A-Za-z0-9_]{1,64})$/.exec(location.hash);
    if (!m) return null;
    history.replaceState(null, '', location.pathname + location.search);
    return m[1] ? { error: m[2] } : { handle: m[2] };
  })();
  // A WeChat account not yet bound: registering with this ticket binds it.
  var wechatTicket = null;
  if (navigator.serviceWorker) {
    // For the path this page was opened at: a registration covers one scope.
    var scope = window.location.pathname.indexOf('/s/') === 0 ? '/s/' : '/S/';
    navigator.serviceWorker.register('/mp/static/scan-sw.js', { scope: scope }).catch(function () {});
  }

  function show(kind, title, opts) {
    opts = opts || {};
    $('outcome').className = 'card ' + kind;
    $('outcome-title').textContent = title;
    $('outcome-time').hidden = !opts.time;
    $('outcome-time').textContent = opts.time || '';
    $('outcome-state').textContent = opts.state || '';
    $('outcome-next').textContent = opts.next || '';
    $('retry').hidden = !opts.retry;
    $('me-link').hidden = !opts.me;
  }
  // Times arrive as +08:00 RFC 3339 text: read them as written.
  function hhmm(t) { return t ? t.slice(11, 16) : ''; }
  function day(t) { return Number(t.slice(5, 7)) + '月' + Number(t.slice(8, 10)) + '日'; }
  function duration(min) {
    var h = Math.floor(min / 60), m = min % 60;
    if (!h) return m + '分钟';
    return h + '小时' + (m ? m + '分' : '');
  }
  function directionWord(d) { return d === 'arrival' ? '签到' : d === 'departure' ? '签退' : '签到/签退'; }

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
  function call(method, url, body, auth) {
    var headers = { 'content-type': 'application/json' };
    if (auth) headers.authorization = 'Bearer ' + store.getItem('hourmark.token');
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }

  // 1. Read the code: what it names, or why it cannot be used.
  function readCode() {
    call('GET', '/mp/v1/codes/' + encodeURIComponent(token)).then(function (a) {
      // Back from WeChat the code may have rotated away: the reading kept for this tab
      // (with its pending-scan ticket) still stands.
      var keptOnReturn = a.status !== 200 && oaBack && session.getItem('hourmark.reading.' + token);
      if (keptOnReturn) a = { status: 200, body: JSON.parse(keptOnReturn) };
      if (a.status !== 200) {
        document.title = a.body.title || '签到码无效';
        show('err', a.body.title || '签到码无效', { state: a.body.detail, next: '请扫描活动现场屏幕上正在显示的二维码' });
        return;
      }
      reading = a.body;
      // When the phone read it, by its own clocks: a scan kept offline after a slow first
      // registration is then uploaded as made at the reading, as its ticket says online.
      reading.phone_read = { wall_ms: Date.now(), mono_ms: performance.now(), page_origin: performance.timeOrigin };
      // Kept for this tab, so a visit to the privacy notice and back keeps the scan.
      var kept = session.getItem('hourmark.reading.' + token);
      if (kept) reading = JSON.parse(kept); else session.setItem('hourmark.reading.' + token, JSON.stringify(reading));
      var word = directionWord(reading.direction);
      document.title = word + ' · ' + reading.activity_name;
      $('kind').textContent = word;
      $('kind').className = 'kind' + (reading.direction === 'departure' ? ' out' : '');
      $('activity-name').textContent = reading.activity_name;
      $('organisation').textContent = reading.organisation_name;
      $('where').textContent = reading.gate + (reading.address ? ' · ' + reading.address : '');
      $('when').textContent = day(reading.starts_at) + ' ' + hhmm(reading.starts_at) + '–' + hhmm(reading.ends_at);
      $('code-card').hidden = false;
      if (store.getItem('hourmark.token')) { scan(); return; }
      $('hold-note').textContent = '扫码时间已记为 ' + hhmm(reading.read_at) + '，请在 ' + hhmm(reading.ticket_expires_at) + ' 前完成登记。';
      $('signin-hold').textContent = '扫码时间已记为 ' + hhmm(reading.read_at) + '，请在 ' + hhmm(reading.ticket_expires_at) + ' 前完成登录。';
      $('signin-submit').textContent = '登录并' + word;
      show('', '请先登记', { state: '登记后自动完成' + word + '。' });
      $('register').hidden = false;
      $('wechat').hidden = !wechatOa;
      if (oaBack) backFromWeChat();
    }).catch(function () {
      // No network. A signed-in volunteer's scan is kept and uploaded later; registering
      // or signing in needs the network.
      if (store.getItem('hourmark.token')) { position().then(keepOffline); return; }
      show('err', '网络不畅', { state: '无法读取签到码。首次使用须联网登记，请检查网络后重试', retry: true });
      $('retry').onclick = readCode;
    });
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function phoneTime(ms) { var d = new Date(ms); return pad(d.getHours()) + ':' + pad(d.getMinutes()); }
  function nonceFor() {
    var nonceKey = 'hourmark.nonce.' + token;
    var nonce = store.getItem(nonceKey);
    if (!nonce) { nonce = uuid(); store.setItem(nonceKey, nonce); }
    return nonce;
  }
  // Keeps this page's scan on the phone, with the nonce already used for it if any, and
  // where the phone was then (a fix needs no network; `null` without one): the geofence
  // is checked on upload against where the scan was made, not where it is sent from.
  function keepOffline(loc) {
    var nonce = nonceFor();
    keptHere = nonce;
    var madeAt = reading && reading.pending_ticket ? reading.phone_read : null;
    queue.add(token, nonce, deviceId(), loc, madeAt).then(function (waiting) {
      store.removeItem('hourmark.nonce.' + token);
      document.title = '已保存，待上传';
      show('note', '已保存在手机上，联网后自动上传', {
        time: phoneTime(madeAt ? madeAt.wall_ms : Date.now()),
        state: '现在没有网络，扫码时间已记下（手机时间）。手机上共有 ' + waiting + ' 次扫码待上传。',
        next: '无需重复扫码，联网后自动上传，只计一次。请勿清除浏览器数据。'
      });
    }, function () {
      keptHere = null;
      show('err', '网络不畅', { state: '无法在手机上保存这次扫码，请联网后重新扫码', retry: true });
      $('retry').onclick = readCode;
    });
  }
  // What became of kept scans: the count still waiting, and each upload's answer.
  // This page's own kept scan is told in the outcome card; the queue card tells of the others.
  queue.onChange(function (e) {
    var mine = e.record && e.record.nonce === keptHere;
    var answered = e.kind === 'uploaded' || e.kind === 'refused';
    var others = e.waiting - (keptHere && !(mine && answered) ? 1 : 0);
    $('queue-count').textContent = others > 0 ? '手机上还有 ' + others + ' 次之前的扫码待上传，联网后自动上传。' : '';
    if (e.kind === 'signin') $('queue-count').textContent = '手机上有 ' + e.waiting + ' 次扫码待上传，请先登录，登录后自动上传。';
    if (answered && !mine) {
      var r = e.answer, ok = e.kind === 'uploaded';
      var li = document.createElement('li');
      li.className = ok ? 'up-ok' : 'up-err';
      li.textContent = phoneTime(e.record.wall_ms) + ' 的离线扫码' +
        (ok ? '已上传：' + (r.outcome === 'checked_in' ? '签到成功' : '签退成功') + ' · ' + r.activity_name
            : '未被接受：' + (r.title || '扫码未成功') + '。' + (r.detail || ''));
      $('queue-results').appendChild(li);
    }
    if (mine && e.kind === 'uploaded') { keptHere = null; done(e.answer, '离线扫码已上传，只计一次。'); }
    if (mine && e.kind === 'refused') {
      keptHere = null;
      document.title = e.answer.title || '扫码未成功';
      show('err', e.answer.title || '扫码未成功', {
        state: e.answer.detail, next: '这次扫码（手机时间 ' + phoneTime(e.record.wall_ms) + '）已从手机中移除。'
      });
    }
    $('queue').hidden = !$('queue-count').textContent && !$('queue-results').children.length;
  });

  // 2. The scan, with the reading's ticket.
  function scan() {
    show('', '正在提交……');
    var nonceKey = 'hourmark.nonce.' + token;
    var nonce = nonceFor();
    var fix = null;
    position().then(function (loc) {
      fix = loc;
      var body = { code: token, nonce: nonce, client_time: new Date().toISOString(), device_id: deviceId() };
      if (reading && reading.pending_ticket) body.pending_ticket = reading.pending_ticket;
      if (loc) body.location = loc;
      return call('POST', '/mp/v1/scans', body, true);
    }).then(function (a) {
      if (a.status === 503) { show('err', '服务繁忙', { state: a.body.detail, retry: true }); $('retry').onclick = scan; return; }
      store.removeItem(nonceKey);
      if (a.status === 401) { store.removeItem('hourmark.token'); openSignIn('', '登录已失效，请用短信验证码重新登录'); return; }
      if (a.status === 200) return done(a.body);
      var code = a.body.code;
      if (code === 'guardian_consent_required') { guardianFor = 'consent'; $('guardian').hidden = false; show('', '还差一步', { state: a.body.detail }); return; }
      if (code === 'repeat_scan') return repeat(a.body);
      document.title = a.body.title || '扫码未成功';
      // The detail already says to scan again; after a registration, add that it is kept.
      var next = code === 'scan_ticket_expired' ? '您的登记已保存，重新扫码即可' + directionWord(reading && reading.direction) : '';
      show('err', a.body.title || '扫码未成功', { state: a.body.detail, next: next });
    }).catch(function () {
      // The network dropped: keep it with the same nonce, so if the scan did arrive, the
      // upload gets its recorded answer instead of counting twice.
      keepOffline(fix);
    });
  }

  function stateText(r) {
    if (r.session.inside) return '在场，自 ' + hhmm(r.session.checked_in_at) + ' 起';
    return '已签退，本活动累计 ' + duration(r.minutes_credited);
  }
  function done(r, note) {
    store.setItem('hourmark.last.' + r.activity_id, JSON.stringify(r));
    var inside = r.outcome === 'checked_in';
    document.title = (inside ? '签到成功' : '签退成功') + ' · ' + r.activity_name;
    $('register').hidden = true; $('guardian').hidden = true; $('confirm').hidden = true; $('signin').hidden = true; $('wechat').hidden = true;
    show('ok', inside ? '签到成功' : '签退成功', {
      time: hhmm(r.server_time), state: stateText(r) + ' · ' + r.gate,
      next: (note ? note + ' ' : '') + (inside ? '离开时再次扫码签退' : '感谢您的服务！'), me: true
    });
  }
  // A repeat within the guard is not a failure: say so calmly, with the state we know.
  function repeat(problem) {
    document.title = '已扫码';
    var last = reading && store.getItem('hourmark.last.' + reading.activity_id);
    var r = last ? JSON.parse(last) : null;
    show('note', '您刚刚已扫码，无需重复', {
      time: r ? hhmm(r.server_time) : '',
      state: r ? stateText(r) : problem.detail,
      next: r && r.session.inside ? '离开时再次扫码签退' : ''
    });
  }

  var idType = $('id_type');
  idType.addEventListener('change', function () { $('self_declared').hidden = idType.value === 'resident_id'; });
  function value(id) { return $(id).value.trim(); }
  // Registration, and a minor's guardian. The server stores nothing until a one-time code
  // confirms it: a minor's goes to the guardian's phone (never the child's own), an
  // adult's to their own phone where the server asks for one. The page keeps the form
  // and sends the same registration again with the code. `pending` is what the code
  // confirms: {kind: 'register' | 'consent', body, id}.
  var pending = null;
  var guardianFor = 'register';
  var registration = null;
  $('register').addEventListener('submit', function (ev) {
    ev.preventDefault();
    registration = {
      name: value('name'), id_type: idType.value, id_number: value('id_number'), phone: value('phone'),
      device_id: deviceId(),
      consent: { notice_version: NOTICE_VERSION, record: $('c_record').checked, publicity: $('c_publicity').checked, location: $('c_location').checked }
    };
    if (wechatTicket) registration.wechat_ticket = wechatTicket;
    if (idType.value !== 'resident_id') { registration.gender = Number(value('gender')); registration.birth_month = value('birth_month'); }
    register(registration);
  });
  function register(body) {
    show('', '正在登记……');
    call('POST', '/mp/v1/volunteers', body).then(function (a) {
      if (a.status === 409 && a.body.code === 'phone_taken') {
        openSignIn(body.phone, '该手机号已登记。请用短信验证码登录，登录后自动完成' + directionWord(reading && reading.direction) + '。');
        return;
      }
      if (a.status === 422 && a.body.code === 'guardian_required') {
        guardianFor = 'register';
        $('register').hidden = true; $('guardian').hidden = false;
        show('', '还差一步', { state: '您未满十八周岁，须由监护人同意后才能登记。请监护人在下方填写，验证码将发送到监护人的手机。' });
        $('g_name').focus();
        return;
      }
      if (a.status === 202) return askCode({ kind: 'register', body: body, id: a.body.registration_id }, a.body);
      if (a.status !== 201) { show('err', a.body.title || '登记未成功', { state: a.body.detail }); return; }
      registered(a.body);
    }).catch(function () { show('err', '网络不畅', { state: '请稍后再试' }); });
  }
  function registered(answer) {
    store.setItem('hourmark.token', answer.access_token);
    $('register').hidden = true; $('guardian').hidden = true; $('confirm').hidden = true;
    pending = null;
    scan();
  }
  $('guardian').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var g = { name: value('g_name'), relation: value('g_relation'), phone: value('g_phone') };
    if (guardianFor === 'register' && registration) {
      var body = JSON.parse(JSON.stringify(registration));
      body.guardian = g;
      register(body);
      return;
    }
    sendGuardianCode({ guardian_name: g.name, relation: g.relation, guardian_phone: g.phone, notice_version: NOTICE_VERSION });
  });
  // A minor registered earlier whose guardian's consent is missing: the same, by the
  // guardian's code, for the signed-in volunteer.
  function sendGuardianCode(body) {
    show('', '正在发送验证码……');
    call('POST', '/mp/v1/me/guardian-consent', body, true).then(function (a) {
      if (a.status === 202) return askCode({ kind: 'consent', body: body }, a.body);
      if (a.status === 200) { $('guardian').hidden = true; scan(); return; }
      show('err', a.body.title || '提交未成功', { state: a.body.detail });
    }).catch(function () { show('err', '网络不畅', { state: '请稍后再试' }); });
  }
  function askCode(what, sent) {
    pending = what;
    var guardian = what.kind === 'consent' || sent.code_sent_to === 'guardian';
    $('register').hidden = true; $('guardian').hidden = true; $('confirm').hidden = false;
    $('confirm-title').textContent = guardian ? '请输入监护人收到的验证码' : '请输入短信验证码';
    $('confirm-sent').textContent = '验证码已发送至' + (guardian ? '监护人手机 ' : ' ') + sent.phone + '，' + hhmm(sent.expires_at) + ' 前有效。';
    $('confirm-note').textContent = '';
    $('c_code').value = '';
    show('', guardian ? '等待监护人确认' : '等待短信验证', { state: guardian ? '监护人收到验证码后告诉您，填入下方即可完成。' : '填入短信验证码即可完成登记。' });
    $('c_code').focus();
  }
  // A new attempt: the last one's refusal no longer applies.
  $('c_code').addEventListener('input', function () { $('confirm-note').textContent = ''; });
  $('confirm').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!pending) return;
    var what = pending, note = $('confirm-note');
    var body = JSON.parse(JSON.stringify(what.body));
    note.textContent = '正在确认……';
    var request = what.kind === 'register'
      ? (body.confirmation = { registration_id: what.id, code: value('c_code') }, call('POST', '/mp/v1/volunteers', body))
      : (body.code = value('c_code'), call('POST', '/mp/v1/me/guardian-consent', body, true));
    request.then(function (a) {
      if (what.kind === 'register' && a.status === 201) return registered(a.body);
      if (what.kind === 'consent' && a.status === 200) { $('confirm').hidden = true; pending = null; scan(); return; }
      if (a.status === 409) {
        // Told only now that the phone is proven: this person already has an account.
        $('confirm').hidden = true; pending = null;
        if (a.body.code === 'id_number_taken' || a.body.code === 'phone_taken') {
          openSignIn(what.body.phone, (a.body.detail || a.body.title) + '。请用短信验证码登录。');
          return;
        }
        show('err', a.body.title || '登记未成功', { state: a.body.detail });
        return;
      }
      note.textContent = a.body.detail || a.body.title || '验证未成功';
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  });
  // A new code for the same registration (or consent): the first request again.
  $('confirm-resend').addEventListener('click', function () {
    if (!pending) return;
    if (pending.kind === 'register') register(pending.body); else sendGuardianCode(pending.body);
  });
  // Returning volunteers: phone number and a one-time SMS code.
  function openSignIn(phone, why) {
    $('register').hidden = true;
    $('signin').hidden = false;
    $('wechat').hidden = !wechatOa;
    if (phone) $('s_phone').value = phone;
    show('', '请登录', { state: why || ('登录后自动完成' + directionWord(reading && reading.direction) + '。') });
    $('s_phone').focus();
  }
  $('to-signin').addEventListener('click', function (ev) { ev.preventDefault(); openSignIn(value('phone')); });
  $('to-register').addEventListener('click', function (ev) {
    ev.preventDefault();
    $('signin').hidden = true; $('register').hidden = false;
    show('', '请先登记', { state: '登记后自动完成' + directionWord(reading && reading.direction) + '。' });
  });
  var countdown = null;
  function wait(secs) {
    var button = $('send-code');
    button.disabled = true;
    clearInterval(countdown);
    countdown = setInterval(function () {
      secs -= 1;
      if (secs <= 0) { clearInterval(countdown); button.disabled = false; button.textContent = '重新获取验证码'; return; }
      button.textContent = secs + ' 秒后可重新获取';
    }, 1000);
    button.textContent = secs + ' 秒后可重新获取';
  }
  $('send-code').addEventListener('click', function () {
    var note = $('signin-note');
    if (!value('s_phone')) { note.textContent = '请先填写手机号'; $('s_phone').focus(); return; }
    note.textContent = '正在发送……';
    call('POST', '/mp/v1/login/sms/code', { phone: value('s_phone') }).then(function (a) {
      note.className = a.status === 200 ? 'muted' : 'err-note';
      if (a.status === 200) {
        // The same answer whether or not the number is registered: the note says so.
        note.textContent = '如该号码已登记，验证码将发送至该号码（' + a.body.phone + '），' + hhmm(a.body.expires_at) + ' 前有效。';
        wait(a.body.resend_after_secs || 60);
        $('s_code').focus();
        return;
      }
      note.textContent = a.body.detail || a.body.title || '发送未成功';
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  });
  $('signin').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var note = $('signin-note');
    note.textContent = '正在登录……';
    var body = { phone: value('s_phone'), code: value('s_code'), device_id: deviceId() };
    call('POST', '/mp/v1/login/sms', body).then(function (a) {
      if (a.status !== 200) { note.className = 'err-note'; note.textContent = a.body.detail || a.body.title || '登录未成功'; return; }
      store.setItem('hourmark.token', a.body.access_token);
      $('signin').hidden = true;
      note.textContent = '';
      if (!a.body.device.may_scan_here) {
        document.title = '已登录';
        show('note', '已登录，但本机暂不能扫码', { state: a.body.device.advice, me: true });
        return;
      }
      scan();
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  });
  // Inside WeChat: off to the Official Account's authorisation, which sends the browser
  // back to this page (see backFromWeChat).
  $('wechat-signin').addEventListener('click', function () {
    var note = $('wechat-note');
    note.textContent = '';
    $('wechat-signin').disabled = true;
    call('POST', '/mp/v1/login/wechat-oa/start', { code: token }).then(function (a) {
      if (a.status === 200) { location.href = a.body.authorize_url; return; }
      $('wechat-signin').disabled = false;
      note.textContent = (a.body.detail || a.body.title || '微信登录暂不可用') + '，请用短信验证码登录。';
    }).catch(function () {
      $('wechat-signin').disabled = false;
      note.textContent = '网络不畅，请稍后再试';
    });
  });
  var OA_ERRORS = {
    wechat_oa_refused: '您没有同意微信授权',
    wechat_code_invalid: '微信授权已失效',
    wechat_code_used: '微信授权已失效',
    wechat_timeout: '微信暂时没有响应',
    wechat_busy: '微信服务繁忙',
    wechat_unavailable: '暂时无法连接微信',
    wechat_rate_limited: '微信登录过于频繁'
  };
  // Said once, at the top; the WeChat button stays for another try, SMS below it.
  function wechatFailed(why) {
    $('wechat-note').textContent = '';
    openSignIn('', why + '。可重试微信登录，或用下方的短信验证码登录。');
  }
  // Back from WeChat: collect the result once (the cookie set at the start proves it is
  // this browser's), then scan as usual, or register with this WeChat account bound.
  function backFromWeChat() {
    var back = oaBack;
    oaBack = null;
    if (back.error) { wechatFailed('微信登录未成功：' + (OA_ERRORS[back.error] || '微信返回错误')); return; }
    $('register').hidden = true; $('wechat').hidden = true;
    show('', '正在用微信登录……');
    call('POST', '/mp/v1/login/wechat-oa/finish', { handle: back.handle, device_id: deviceId() }).then(function (a) {
      if (a.status !== 200) { wechatFailed('微信登录未成功：' + (a.body.detail || a.body.title || '请重试')); return; }
      if (!a.body.registered) {
        wechatTicket = a.body.registration_ticket;
        $('register').hidden = false;
        show('', '请先登记', { state: '微信已验证。首次使用，请填写登记信息，登记后本微信即与您绑定，并自动完成' + directionWord(reading && reading.direction) + '。' });
        return;
      }
      store.setItem('hourmark.token', a.body.access_token);
      if (!a.body.device.may_scan_here) {
        document.title = '已登录';
        show('note', '已登录，但本机暂不能扫码', { state: a.body.device.advice, me: true });
        return;
      }
      scan();
    }).catch(function () { wechatFailed('网络不畅'); });
  }
  readCode();
  queue.flush();
})();
