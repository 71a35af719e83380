// The public recruitment page's script (served, never inline: the CSP forbids inline
// script). A volunteer chooses a slot; signed in (the token the scan page and /me keep in
// localStorage), the sign-up is posted at once. Otherwise the page asks them to sign in by
// SMS code, or to register, right here, and then posts the sign-up for the slot they
// chose: nobody has to find their way back. A minor's guardian consents here too. Their
// live sign-up for this activity is shown with its status, and cancelled from here or /me.
(function () {
  // The privacy notice (/privacy) this page links to; recorded with each consent.
  var NOTICE_VERSION = '2026-12';
  var $ = function (id) { return document.getElementById(id); };
  var root = $('join');
  var activityId = Number(root.dataset.activityId);
  var open = root.dataset.open === 'true';
  var store = window.localStorage;
  var chosen = null; // the slot a sign-in or a guardian's consent is for
  var mine = null; // the live sign-up for this activity

  var cancelOpen = root.dataset.cancelOpen === 'true';
  var STATUS = { pending: '待组织方审核（已为您保留名额）', approved: '已确认参加', waitlisted: '候补中', declined: '未通过', cancelled: '已取消' };
  function token() { return store.getItem('hourmark.token'); }
  function call(method, url, body, auth) {
    var headers = {};
    if (auth) headers.authorization = 'Bearer ' + token();
    if (body) headers['content-type'] = 'application/json';
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }
  function say(kind, text) {
    $('status').hidden = !text;
    $('status').className = 'card status ' + (kind || '');
    $('status').textContent = text || '';
  }
  function deviceId() {
    var id = store.getItem('hourmark.device');
    if (!id) {
      var b = new Uint8Array(16); crypto.getRandomValues(b);
      id = 'web-' + Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
      store.setItem('hourmark.device', id);
    }
    return id;
  }
  function hide(ids) { ids.forEach(function (id) { $(id).hidden = true; }); }
  function statusText(s) {
    var text = s.slot_name + ' · ' + (STATUS[s.status] || s.status);
    if (s.status === 'waitlisted' && s.waitlist_position) text += '，第 ' + s.waitlist_position + ' 位';
    return text;
  }

  // The sign-up buttons show only while the volunteer has no live sign-up here.
  function showMine(s) {
    mine = s && ['pending', 'approved', 'waitlisted'].indexOf(s.status) >= 0 ? s : null;
    $('mine').hidden = !s;
    if (s) {
      $('mine-text').textContent = statusText(s);
      var holding = s.status === 'pending' || s.status === 'approved';
      $('mine-note').textContent = s.status === 'declined' && s.reason ? '理由：' + s.reason
        : s.status === 'waitlisted' ? '有人取消后按顺序自动递补，递补时会通知您。'
        : s.status === 'cancelled' ? (open ? '如需参加，可重新报名。' : '')
        : holding && cancelOpen ? '如不能参加，请在 ' + root.dataset.cutoff + ' 前取消，把名额留给候补的志愿者。'
        : holding ? '取消报名已截止，如有变动请联系组织方。' : '';
      $('mine-note').hidden = !$('mine-note').textContent;
      // Holding a place, cancelling closes at the cut-off; leaving the waiting list never does.
      $('cancel').hidden = !mine || (holding && !cancelOpen);
    }
    Array.prototype.forEach.call(document.querySelectorAll('.sign-up'), function (b) { b.hidden = !!mine; });
  }
  // Places change as others sign up: read them again after every change of ours.
  function refreshPlaces() {
    if (!token()) return;
    call('GET', '/mp/v1/activities/' + activityId + '/recruitment', null, true).then(function (a) {
      if (a.status !== 200) return;
      a.body.slots.forEach(function (s) {
        var li = document.querySelector('.slot[data-slot-id="' + s.id + '"]');
        if (!li) return;
        var left = li.querySelector('.left');
        left.className = 'left' + (s.places_left ? '' : ' full');
        left.textContent = s.places_left ? '剩余 ' + s.places_left + ' / ' + s.capacity : '已满（共 ' + s.capacity + '）';
        var b = li.querySelector('.sign-up');
        if (b) {
          b.textContent = s.places_left ? '报名这个岗位' : '报名候补';
          b.classList.toggle('secondary', !s.places_left);
        }
      });
    });
  }
  function loadMine() {
    if (!token()) return Promise.resolve();
    return call('GET', '/mp/v1/me/signups', null, true).then(function (a) {
      if (a.status === 401) { store.removeItem('hourmark.token'); return; }
      if (a.status !== 200) return;
      // Newest first: the first for this activity is where they stand now.
      var here = a.body.filter(function (s) { return s.activity_id === activityId; });
      showMine(here[0] || null);
    }).catch(function () {});
  }

  function signUp(slotId) {
    chosen = slotId;
    if (!token()) { openSignIn(''); return; }
    say('', '正在报名……');
    call('POST', '/mp/v1/activities/' + activityId + '/signups', { slot_id: slotId }, true).then(function (a) {
      if (a.status === 201) {
        chosen = null;
        hide(['signin', 'register', 'guardian', 'confirm']);
        var s = a.body;
        say('ok', s.status === 'approved' ? '报名成功，活动当天请准时到场扫码签到。'
          : s.status === 'pending' ? '已报名，等待组织方审核；审核结果会通知您。'
          : '该岗位名额已满，您已加入候补（第 ' + s.waitlist_position + ' 位）。');
        showMine(s);
        refreshPlaces();
        return;
      }
      if (a.status === 401) { store.removeItem('hourmark.token'); openSignIn('', '登录已失效，请重新登录。'); return; }
      if (a.body.code === 'guardian_consent_required') {
        guardianFor = 'consent';
        hide(['signin', 'register']);
        $('guardian').hidden = false;
        say('err', a.body.detail);
        return;
      }
      chosen = null;
      say('err', a.body.detail || a.body.title || '报名未成功');
      if (a.body.code === 'signup_duplicate') loadMine();
    }).catch(function () { say('err', '网络不畅，请稍后再试'); });
  }

  function openSignIn(phone, why) {
    $('register').hidden = true;
    $('guardian').hidden = true;
    $('signin').hidden = false;
    if (phone) $('s_phone').value = phone;
    var slot = document.querySelector('.slot[data-slot-id="' + chosen + '"]');
    $('signin-why').textContent = (why || '') + '登录后自动报名“' + (slot ? slot.dataset.slotName : '') + '”。';
    say('', '');
    $('signin').scrollIntoView();
  }
  function value(id) { return $(id).value.trim(); }

  Array.prototype.forEach.call(document.querySelectorAll('.sign-up'), function (b) {
    b.addEventListener('click', function () {
      var li = b.closest('.slot');
      Array.prototype.forEach.call(document.querySelectorAll('.slot'), function (s) { s.classList.toggle('chosen', s === li); });
      signUp(Number(li.dataset.slotId));
    });
  });

  $('cancel').addEventListener('click', function () {
    if (!mine || !window.confirm('确定取消“' + mine.slot_name + '”的报名吗？')) return;
    call('POST', '/mp/v1/me/signups/' + mine.id + '/cancel', null, true).then(function (a) {
      if (a.status !== 200) { say('err', a.body.detail || a.body.title || '取消未成功'); return; }
      say('ok', '已取消报名。');
      showMine(a.body);
      refreshPlaces();
    }).catch(function () { say('err', '网络不畅，请稍后再试'); });
  });

  var countdown = null;
  $('send-code').addEventListener('click', function () {
    var note = $('signin-note');
    if (!value('s_phone')) { note.textContent = '请先填写手机号'; $('s_phone').focus(); return; }
    note.className = 'muted';
    note.textContent = '正在发送……';
    call('POST', '/mp/v1/login/sms/code', { phone: value('s_phone') }).then(function (a) {
      note.className = a.status === 200 ? 'muted' : 'err-note';
      if (a.status !== 200) { note.textContent = a.body.detail || a.body.title || '发送未成功'; return; }
      // The same answer whether or not the number is registered: the note says so.
      note.textContent = '如该号码已登记，验证码将发送至该号码（' + a.body.phone + '），' + a.body.expires_at.slice(11, 16) + ' 前有效。';
      var button = $('send-code'), secs = a.body.resend_after_secs || 60;
      button.disabled = true;
      clearInterval(countdown);
      button.textContent = secs + ' 秒后可重新获取';
      countdown = setInterval(function () {
        secs -= 1;
        if (secs <= 0) { clearInterval(countdown); button.disabled = false; button.textContent = '重新获取验证码'; return; }
        button.textContent = secs + ' 秒后可重新获取';
      }, 1000);
      $('s_code').focus();
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  });
  $('signin').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var note = $('signin-note');
    note.className = 'muted';
    note.textContent = '正在登录……';
    call('POST', '/mp/v1/login/sms', { phone: value('s_phone'), code: value('s_code'), device_id: deviceId() }).then(function (a) {
      if (a.status !== 200) { note.className = 'err-note'; note.textContent = a.body.detail || a.body.title || '登录未成功'; return; }
      store.setItem('hourmark.token', a.body.access_token);
      note.textContent = '';
      $('signin').hidden = true;
      loadMine().then(function () { if (chosen && !mine) signUp(chosen); else if (mine) say('', '您已报名该活动。'); });
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  });
  $('to-register').addEventListener('click', function (ev) {
    ev.preventDefault();
    $('signin').hidden = true; $('register').hidden = false;
    $('register').scrollIntoView();
  });
  $('to-signin').addEventListener('click', function (ev) { ev.preventDefault(); openSignIn(value('phone')); });
  $('id_type').addEventListener('change', function () { $('self_declared').hidden = $('id_type').value === 'resident_id'; });
  // Registration and a minor's guardian: nothing is stored until a one-time code confirms
  // it (a minor's goes to the guardian's phone, an adult's to their own where the server
  // asks); the page sends the same registration again with the code. `pending`: what the
  // code confirms, {kind: 'register' | 'consent', body, id}.
  var pending = null, registration = null, guardianFor = 'consent';
  $('register').addEventListener('submit', function (ev) {
    ev.preventDefault();
    registration = {
      name: value('name'), id_type: $('id_type').value, id_number: value('id_number'), phone: value('phone'),
      device_id: deviceId(),
      consent: { notice_version: NOTICE_VERSION, record: $('c_record').checked, publicity: $('c_publicity').checked, location: $('c_location').checked }
    };
    if (registration.id_type !== 'resident_id') { registration.gender = Number(value('gender')); registration.birth_month = value('birth_month'); }
    register(registration);
  });
  function register(body) {
    var note = $('register-note');
    note.textContent = '';
    call('POST', '/mp/v1/volunteers', body).then(function (a) {
      if (a.status === 409 && a.body.code === 'phone_taken') { openSignIn(body.phone, '该手机号已登记，请用短信验证码登录。'); return; }
      if (a.status === 422 && a.body.code === 'guardian_required') {
        guardianFor = 'register';
        $('register').hidden = true; $('guardian').hidden = false;
        say('', '您未满十八周岁，须由监护人同意后才能登记。请监护人填写，验证码将发送到监护人的手机。');
        return;
      }
      if (a.status === 202) return askCode({ kind: 'register', body: body, id: a.body.registration_id }, a.body);
      if (a.status !== 201) { note.textContent = a.body.detail || a.body.title || '登记未成功'; $('register').hidden = false; $('guardian').hidden = true; return; }
      registered(a.body);
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  }
  function registered(answer) {
    store.setItem('hourmark.token', answer.access_token);
    hide(['register', 'guardian', 'confirm']);
    pending = null;
    if (chosen) signUp(chosen);
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
    var consent = { guardian_name: g.name, relation: g.relation, guardian_phone: g.phone, notice_version: NOTICE_VERSION };
    call('POST', '/mp/v1/me/guardian-consent', consent, true).then(function (a) {
      if (a.status === 202) return askCode({ kind: 'consent', body: consent }, a.body);
      say('err', a.body.detail || a.body.title || '提交未成功');
    }).catch(function () { say('err', '网络不畅，请稍后再试'); });
  });
  function askCode(what, sent) {
    pending = what;
    var guardian = what.kind === 'consent' || sent.code_sent_to === 'guardian';
    hide(['register', 'guardian']);
    $('confirm').hidden = false;
    $('confirm-title').textContent = guardian ? '请输入监护人收到的验证码' : '请输入短信验证码';
    $('confirm-sent').textContent = '验证码已发送至' + (guardian ? '监护人手机 ' : ' ') + sent.phone + '，5 分钟内有效。';
    $('confirm-note').textContent = '';
    $('c_code').value = '';
    say('', '');
    $('c_code').focus();
  }
  // A new attempt: the last one's refusal no longer applies.
  $('c_code').addEventListener('input', function () { $('confirm-note').textContent = ''; });
  $('confirm').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!pending) return;
    var what = pending, note = $('confirm-note');
    var body = JSON.parse(JSON.stringify(what.body));
    var request;
    if (what.kind === 'register') {
      body.confirmation = { registration_id: what.id, code: value('c_code') };
      request = call('POST', '/mp/v1/volunteers', body);
    } else {
      body.code = value('c_code');
      request = call('POST', '/mp/v1/me/guardian-consent', body, true);
    }
    request.then(function (a) {
      if (what.kind === 'register' && a.status === 201) return registered(a.body);
      if (what.kind === 'consent' && a.status === 200) { hide(['confirm']); pending = null; if (chosen) signUp(chosen); return; }
      if (a.status === 409 && (a.body.code === 'id_number_taken' || a.body.code === 'phone_taken')) {
        hide(['confirm']); pending = null;
        openSignIn(what.body.phone, (a.body.detail || a.body.title) + '。请用短信验证码登录。');
        return;
      }
      note.textContent = a.body.detail || a.body.title || '验证未成功';
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  });

  loadMine().then(refreshPlaces);
})();
