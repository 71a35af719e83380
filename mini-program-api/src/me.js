// The volunteer's own pages (served, never inline: the CSP forbids inline script).
// Reads everything through the /mp/v1/me… operations with the token the scan page keeps
// in localStorage; a browser without one signs in by SMS code first.
(function () {
  var NOTICE_VERSION = '2026-12';
  var store = window.localStorage;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // Dates and times arrive as +08:00 text or YYYY-MM-DD: read them as written.
  function day(d) { return Number(d.slice(5, 7)) + '月' + Number(d.slice(8, 10)) + '日'; }
  function when(t) { return day(t) + ' ' + t.slice(11, 16); }
  function duration(min) {
    min = Number(min) || 0;
    var h = Math.floor(min / 60), m = min % 60;
    if (!h) return m + '分钟';
    return h + '小时' + (m ? m + '分' : '');
  }
  function call(method, url, body) {
    var headers = { authorization: 'Bearer ' + store.getItem('hourmark.token') };
    if (body) headers['content-type'] = 'application/json';
    return fetch(url, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        if (r.status === 204) return { status: 204, body: {} };
        return r.json().then(function (j) { return { status: r.status, body: j }; });
      });
  }
  function status(text) { $('status').hidden = !text; $('status').textContent = text || ''; }

  var STATES = {
    inside: '在场中', awaiting_review: '待组织审核', in_publicity: '公示中', publicity_held: '公示暂缓（待节假日安排公布）',
    recorded: '已记录', confirmed: '民政已确认'
  };
  var FLAG_STATES = { open: '待组织核实', accepted: '已核实，时长有效', adjusted: '已调整', rejected: '不予计时' };

  function renderHours(h) {
    $('t-recorded').textContent = duration(h.recorded_minutes);
    $('t-confirmed').textContent = duration(h.confirmed_minutes);
    $('t-pending').textContent = duration(h.pending_minutes);
    var list = $('days');
    list.textContent = '';
    if (!h.days.length) { list.appendChild(el('p', 'card empty', '还没有服务记录。扫活动现场的二维码签到后，这里会显示。')); return; }
    h.days.forEach(function (d) {
      var card = el('article', 'card day');
      var head = el('div', 'day-head');
      head.appendChild(el('span', 'day-date', day(d.day)));
      head.appendChild(el('span', 'day-minutes', duration(d.minutes)));
      card.appendChild(head);
      card.appendChild(el('div', 'day-name', d.activity_name));
      var state = STATES[d.state] || d.state;
      if (d.state === 'in_publicity' && d.publicity_until) state += '，至' + day(d.publicity_until);
      card.appendChild(el('span', 'badge s-' + d.state, state));
      if (d.objection_open) card.appendChild(el('span', 'badge s-objection', '异议处理中'));
      d.flags.forEach(function (f) {
        var text = '异常提示：' + f.explanation + ' · ' + (FLAG_STATES[f.status] || f.status);
        if (f.status === 'adjusted' && f.adjusted_minutes !== undefined) text += '为' + duration(f.adjusted_minutes);
        if (f.reason) text += '（' + f.reason + '）';
        card.appendChild(el('div', 'flag', text));
      });
      list.appendChild(card);
    });
  }

  function renderStars(st) {
    $('t-stars').textContent = st.stars ? st.stars + ' 星' : '暂无';
    var next = st.next, note = $('star-next'), button = $('star-apply');
    note.hidden = !next;
    button.hidden = !(next && next.eligible);
    if (!next) return;
    note.textContent = next.eligible
      ? '经民政部门确认的服务已满 ' + next.threshold_hours + ' 小时，可以申请 ' + next.stars + ' 星。'
      : '申请 ' + next.stars + ' 星：' + (next.blocked_because || '尚不满足条件');
    button.textContent = '申请 ' + next.stars + ' 星';
    button.dataset.stars = String(next.stars);
  }

  function renderNotices(list) {
    var box = $('notice-list');
    box.textContent = '';
    var unread = list.filter(function (n) { return !n.read_at; }).length;
    $('unread').textContent = unread ? '（' + unread + '）' : '';
    $('read-all').hidden = !unread;
    if (!list.length) { box.appendChild(el('p', 'empty', '暂无通知')); return; }
    list.forEach(function (n) {
      var p = el('div', 'note' + (n.read_at ? '' : ' unread'));
      p.appendChild(el('time', '', when(n.created_at)));
      p.appendChild(document.createTextNode(n.body));
      box.appendChild(p);
    });
  }

  function mask(s, keepStart, keepEnd) {
    if (!s || s.length <= keepStart + keepEnd) return s || '';
    return s.slice(0, keepStart) + '*'.repeat(Math.min(8, s.length - keepStart - keepEnd)) + s.slice(s.length - keepEnd);
  }
  var GENDER = { 0: '未知', 1: '男', 2: '女', 9: '未说明' };
  var PURPOSE = { record: '为志愿服务记录处理个人信息', publicity: '公示中显示姓名（部分隐去）和时长', location: '扫码时使用位置', guardian: '监护人同意' };

  function renderData(me) {
    var v = me.volunteer;
    var rows = [['志愿者编号', v.volunteer_number], ['姓名', v.name], ['性别', GENDER[v.gender] || v.gender],
      ['出生年月', v.birth_month], ['证件号码', mask(v.id_number, 1, 1)], ['手机号', mask(v.phone, 3, 4)],
      ['技能', (v.skills || []).join('、') || '—']];
    // Gender and birth month come from a resident ID's own digits: corrected by correcting the ID.
    ['gender', 'birth_month'].forEach(function (f) {
      var option = $('c_field').querySelector('option[value="' + f + '"]');
      option.hidden = option.disabled = v.id_type === 'resident_id';
    });
    var box = $('profile');
    box.textContent = '';
    rows.forEach(function (r) {
      var row = el('div', 'row');
      row.appendChild(el('span', 'k', r[0]));
      row.appendChild(el('span', 'v', r[1]));
      box.appendChild(row);
    });
    // The latest decision per purpose is the one in force.
    var latest = {};
    me.consents.forEach(function (c) { latest[c.purpose] = c; });
    var consents = $('consents');
    consents.textContent = '';
    ['record', 'publicity', 'location', 'guardian'].forEach(function (purpose) {
      var c = latest[purpose];
      if (!c && purpose === 'guardian') return;
      var row = el('div', 'consent');
      var granted = c && c.granted;
      var label = el('span');
      label.appendChild(el('span', 'what', PURPOSE[purpose]));
      label.appendChild(el('span', 'given' + (granted ? '' : ' no'), granted ? '已同意' : '未同意'));
      row.appendChild(label);
      if (purpose !== 'guardian') {
        var b = el('button', '', granted ? '撤回' : '同意');
        b.type = 'button';
        b.setAttribute('data-purpose', purpose);
        b.addEventListener('click', function () {
          if (granted && purpose === 'record' && !window.confirm('撤回后将无法扫码记录服务时长，确定撤回吗？')) return;
          call('POST', '/mp/v1/me/consents', { purpose: purpose, granted: !granted, notice_version: NOTICE_VERSION }).then(function (a) {
            if (a.status === 200) renderData(a.body); else status(a.body.detail || '操作未成功');
          });
        });
        row.appendChild(b);
      }
      consents.appendChild(row);
    });
  }

  // Correction requests: what to correct, the right value, why; and where each stands.
  var FIELDS = { name: '姓名', gender: '性别', birth_month: '出生年月', skills: '技能', other: '其他' };
  var HINTS = {
    name: '填写正确的姓名。', gender: '填写 1（男）、2（女）、9（未说明）或 0（未知）。',
    birth_month: '如 1990-01。', skills: '多项技能用“、”分隔，如 急救、翻译。',
    other: '写明哪条记录有误、正确的应是什么，如 12月5日 翠湖公园清洁 签退时间应为 11:30。'
  };
  var REQUEST_STATES = { open: '待组织核实', accepted: '已更正', rejected: '未予更正' };
  function hint() { $('c_value_hint').textContent = HINTS[$('c_field').value] || ''; }
  function renderCorrections(list) {
    var box = $('corrections');
    box.textContent = '';
    if (!list.length) { box.appendChild(el('p', 'empty', '还没有更正申请')); return; }
    list.slice().reverse().forEach(function (c) {
      var item = el('div', 'request');
      item.appendChild(el('span', 'badge s-' + c.status, REQUEST_STATES[c.status] || c.status));
      item.appendChild(el('span', 'what', (FIELDS[c.field] || c.field) + '：' + c.requested_value));
      item.appendChild(el('div', 'why', '理由：' + c.reason + '（' + when(c.requested_at) + ' 提交）'));
      if (c.decided_at) {
        item.appendChild(el('div', 'decision', when(c.decided_at) + ' ' + (REQUEST_STATES[c.status] || '') +
          (c.decision_reason ? '：' + c.decision_reason : '')));
      }
      box.appendChild(item);
    });
  }
  function loadCorrections() {
    return call('GET', '/mp/v1/me/corrections').then(function (a) { if (a.status === 200) renderCorrections(a.body); });
  }
  $('c_field').addEventListener('change', hint);
  hint();
  $('correction').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var note = $('c_note');
    note.className = 'muted';
    note.textContent = '正在提交……';
    var body = { field: $('c_field').value, requested_value: $('c_value').value.trim(), reason: $('c_reason').value.trim() };
    call('POST', '/mp/v1/me/corrections', body).then(function (a) {
      if (a.status !== 201) { note.className = 'err-note'; note.textContent = a.body.detail || a.body.title || '提交未成功'; return; }
      note.className = 'ok-note';
      note.textContent = '已提交，组织核实后会通知您。';
      $('c_value').value = ''; $('c_reason').value = '';
      return loadCorrections();
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  });

  // Certificates (记录证明): the requests with where each stands, and the issued ones
  // with their PDF (fetched with the token, then saved) and the public check.
  var CERT_STATES = { pending: '待出具', issued: '已出具', declined: '未予出具' };
  function scopeText(scope) {
    if (!scope.from && !scope.to) return '全部服务';
    return (scope.from ? day(scope.from) : '最早') + ' 至 ' + (scope.to ? day(scope.to) : '今');
  }
  function renderCertificates(requests, certificates) {
    var box = $('certificates');
    box.textContent = '';
    if (!requests.length && !certificates.length) { box.appendChild(el('p', 'empty', '还没有申请过证明')); return; }
    var byNumber = {};
    certificates.forEach(function (c) { byNumber[c.content.number] = c; });
    requests.forEach(function (r) {
      var item = el('div', 'request');
      item.appendChild(el('span', 'badge s-' + r.status, CERT_STATES[r.status] || r.status));
      item.appendChild(el('span', 'what', scopeText(r.scope) + '（' + when(r.created_at) + ' 申请）'));
      if (r.status === 'declined') item.appendChild(el('div', 'decision', '理由：' + (r.decline_reason || '')));
      var c = r.certificate_number && byNumber[r.certificate_number];
      if (c) {
        item.appendChild(el('div', 'why', '证明编号 ' + c.content.number + '，共 ' + duration(c.content.total_minutes) +
          (c.revoke_reason ? '（已撤销：' + c.revoke_reason + '）' : '')));
        var pdf = el('button', '', '下载证明（PDF）');
        pdf.type = 'button';
        pdf.addEventListener('click', function () { downloadPdf(c.content.number); });
        item.appendChild(pdf);
        var check = el('a', '', '查验真伪');
        check.href = c.verify_url;
        item.appendChild(check);
      }
      box.appendChild(item);
    });
  }
  function downloadPdf(number) {
    fetch('/mp/v1/me/certificates/' + encodeURIComponent(number) + '.pdf',
      { headers: { authorization: 'Bearer ' + store.getItem('hourmark.token') } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.blob(); })
      .then(function (blob) {
        var a = el('a');
        a.href = URL.createObjectURL(blob);
        a.download = '志愿服务记录证明-' + number + '.pdf';
        document.body.appendChild(a); a.click(); a.remove();
      }).catch(function () { status('下载未成功，请稍后再试'); });
  }
  function loadCertificates() {
    return Promise.all([call('GET', '/mp/v1/me/certificate-requests'), call('GET', '/mp/v1/me/certificates')])
      .then(function (a) { if (a[0].status === 200 && a[1].status === 200) renderCertificates(a[0].body, a[1].body); });
  }
  $('certificate-ask').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var note = $('cert_note');
    note.className = 'muted';
    note.textContent = '正在提交……';
    var body = {};
    if ($('cert_from').value) body.from = $('cert_from').value;
    if ($('cert_to').value) body.to = $('cert_to').value;
    call('POST', '/mp/v1/me/certificate-requests', body).then(function (a) {
      if (a.status !== 201) { note.className = 'err-note'; note.textContent = a.body.detail || a.body.title || '提交未成功'; return; }
      note.className = 'ok-note';
      note.textContent = '已提交，出具后可在这里下载。';
      return loadCertificates();
    }).catch(function () { note.className = 'err-note'; note.textContent = '网络不畅，请稍后再试'; });
  });

  var BANK_KINDS = { deposit: '存入', reversal: '更正扣回', spend: '接受服务', donation: '转赠', expiry: '到期失效' };
  // The account and this month's statement; a change is signed from the volunteer's side.
  function renderBank(account, statement) {
    $('t-bank').textContent = duration(account.balance_minutes);
    var summary = '余额 ' + duration(account.balance_minutes);
    if (account.next_expiry) {
      summary += '，部分时长将于 ' + new Date(account.next_expiry).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' }) + ' 到期';
    }
    $('bank-summary').textContent = summary + '。';
    $('bank-month').textContent = Number(statement.month.slice(5, 7)) + '月明细';
    var box = $('bank-lines');
    box.textContent = '';
    if (!statement.lines.length) { box.appendChild(el('p', 'empty', '本月没有收支')); return; }
    statement.lines.forEach(function (line) {
      var t = line; // the transaction's fields, flattened beside `change`
      var row = el('div', 'consent');
      var what = (BANK_KINDS[t.kind] || t.kind) + (t.service ? '：' + t.service : '') + (t.beneficiary ? '（' + t.beneficiary + '）' : '');
      row.appendChild(el('span', '', when(t.created_at) + ' ' + what));
      row.appendChild(el('strong', line.change < 0 ? 'minus' : 'plus', (line.change < 0 ? '−' : '+') + duration(Math.abs(line.change))));
      box.appendChild(row);
    });
  }
  function loadBank() {
    return Promise.all([call('GET', '/mp/v1/me/time-bank'), call('GET', '/mp/v1/me/time-bank/statement')])
      .then(function (a) { if (a[0].status === 200 && a[1].status === 200) renderBank(a[0].body, a[1].body); });
  }
  // One key per filled form: pressing again after a lost answer gives once, never twice.
  function newKey() { return 'me-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 12); }
  var donationKey = newKey();
  $('donate').addEventListener('input', function () { donationKey = newKey(); });
  $('donate').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var note = $('donate_note');
    var to = $('donate_to').value.trim();
    var minutes = Number($('donate_minutes').value);
    if (!window.confirm('将 ' + duration(minutes) + ' 转给' + (to ? '志愿者 ' + to : '公共互助池') + '？转出后不能撤回。')) return;
    var body = { key: donationKey, minutes: minutes };
    if (to) body.to_volunteer_number = to;
    note.className = 'muted';
    note.textContent = '正在提交……';
    call('POST', '/mp/v1/me/time-bank/donations', body).then(function (a) {
      if (a.status !== 201) { note.className = 'err-note'; note.textContent = a.body.detail || a.body.title || '转赠未成功'; return; }
      note.className = 'ok-note';
      note.textContent = '已转赠 ' + duration(minutes) + '。';
      $('donate').reset();
      donationKey = newKey();
      return loadBank();
    }).catch(function () { note.className = 'err-note'; note.textContent = '网络不畅，请稍后再试'; });
  });

  function renderSessions(list) {
    var box = $('sessions');
    box.textContent = '';
    list.forEach(function (s) {
      var row = el('div', 'consent');
      row.appendChild(el('span', '', (s.current ? '本机 · ' : '') + '登录于 ' + when(s.created_at) + '，' + when(s.expires_at) + ' 前有效'));
      if (!s.current) {
        var b = el('button', '', '退出');
        b.type = 'button';
        b.addEventListener('click', function () {
          call('DELETE', '/mp/v1/me/sessions/' + encodeURIComponent(s.session_id)).then(load);
        });
        row.appendChild(b);
      }
      box.appendChild(row);
    });
  }

  // Sign-ups: where each stands, with a cancel while it is live (the server says whether
  // the cut-off has passed: its refusal's detail is shown as it is).
  var SIGNUP_STATES = { pending: '待审核', approved: '已确认参加', waitlisted: '候补中', declined: '未通过', cancelled: '已取消' };
  function renderSignups(list) {
    var box = $('signup-list');
    box.textContent = '';
    if (!list.length) { box.appendChild(el('p', 'empty', '还没有报名。打开活动的招募链接即可报名。')); return; }
    list.forEach(function (s) {
      var item = el('div', 'signup');
      var what = el('a', 'what', s.activity_name);
      what.href = '/join/' + s.activity_id;
      item.appendChild(what);
      item.appendChild(el('div', 'when', when(s.starts_at) + ' · ' + s.slot_name));
      // The organiser called the activity off: that is all there is to say, and nothing
      // is left to cancel (the sign-up keeps its status only as the organisation's record).
      if (s.activity_cancellation) {
        item.appendChild(el('span', 'badge s-activity-cancelled', '活动已取消'));
        item.appendChild(el('div', 'why', '取消原因：' + s.activity_cancellation.reason));
        box.appendChild(item);
        return;
      }
      var state = SIGNUP_STATES[s.status] || s.status;
      if (s.status === 'waitlisted' && s.waitlist_position) state += '，第 ' + s.waitlist_position + ' 位';
      item.appendChild(el('span', 'badge s-' + s.status, state));
      if (s.reason) item.appendChild(el('div', 'why', '理由：' + s.reason));
      if (['pending', 'approved', 'waitlisted'].indexOf(s.status) >= 0) {
        var b = el('button', '', '取消报名');
        b.type = 'button';
        b.addEventListener('click', function () {
          if (!window.confirm('确定取消“' + s.activity_name + '”的报名吗？')) return;
          var note = item.querySelector('.err-note');
          call('POST', '/mp/v1/me/signups/' + s.id + '/cancel').then(function (a) {
            note.textContent = a.status === 200 ? '' : (a.body.detail || '取消未成功');
            if (a.status === 200) loadSignups();
          }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
        });
        item.appendChild(b);
        // A refusal (the cut-off passed) is said under the sign-up it is about.
        var note = el('p', 'err-note');
        note.setAttribute('aria-live', 'polite');
        item.appendChild(note);
      }
      box.appendChild(item);
    });
  }
  function loadSignups() {
    call('GET', '/mp/v1/me/signups').then(function (a) { if (a.status === 200) renderSignups(a.body); });
  }

  function showTab() {
    var tab = (location.hash || '#hours').slice(1);
    if (['hours', 'signups', 'notices', 'data'].indexOf(tab) < 0) tab = 'hours';
    ['hours', 'signups', 'notices', 'data'].forEach(function (t) {
      $(t).hidden = t !== tab || !store.getItem('hourmark.token');
      if (t === tab) $('tab-' + t).setAttribute('aria-current', 'page'); else $('tab-' + t).removeAttribute('aria-current');
    });
  }

  function load() {
    if (!store.getItem('hourmark.token')) { status(''); $('signin').hidden = false; showTab(); return; }
    status('正在加载……');
    Promise.all([
      call('GET', '/mp/v1/me/hours'), call('GET', '/mp/v1/me/notifications'),
      call('GET', '/mp/v1/me'), call('GET', '/mp/v1/me/sessions'),
      call('GET', '/mp/v1/me/stars'), call('GET', '/mp/v1/me/time-bank'),
      call('GET', '/mp/v1/me/corrections'), call('GET', '/mp/v1/me/certificate-requests'),
      call('GET', '/mp/v1/me/certificates'), call('GET', '/mp/v1/me/signups')
    ]).then(function (a) {
      if (a[0].status === 401) { store.removeItem('hourmark.token'); status('登录已失效，请重新登录'); $('signin').hidden = false; showTab(); return; }
      if (a[0].status !== 200) { status(a[0].body.detail || '加载未成功'); return; }
      renderHours(a[0].body);
      if (a[1].status === 200) renderNotices(a[1].body);
      if (a[2].status === 200) renderData(a[2].body);
      if (a[3].status === 200) renderSessions(a[3].body);
      if (a[4].status === 200) renderStars(a[4].body);
      if (a[5].status === 200) { $('t-bank').textContent = duration(a[5].body.balance_minutes); loadBank(); }
      if (a[6].status === 200) renderCorrections(a[6].body);
      if (a[7].status === 200 && a[8].status === 200) renderCertificates(a[7].body, a[8].body);
      if (a[9].status === 200) renderSignups(a[9].body);
      status('');
      $('signin').hidden = true;
      showTab();
    }).catch(function () { status('网络不畅，请稍后下拉刷新'); });
  }

  $('star-apply').addEventListener('click', function () {
    var stars = Number($('star-apply').dataset.stars);
    call('POST', '/mp/v1/me/star-applications', { stars: stars }).then(function (a) {
      if (a.status !== 201) { status(a.body.detail || '申请未成功'); return; }
      $('star-apply').hidden = true;
      $('star-next').textContent = '已提交 ' + stars + ' 星申请，等待志愿服务主管部门审批。';
    }).catch(function () { status('网络不畅，请稍后再试'); });
  });

  $('read-all').addEventListener('click', function () {
    call('POST', '/mp/v1/me/notifications/read', { all: true }).then(load);
  });
  $('download').addEventListener('click', function () {
    fetch('/mp/v1/me/export', { headers: { authorization: 'Bearer ' + store.getItem('hourmark.token') } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.blob(); })
      .then(function (blob) {
        var a = el('a');
        a.href = URL.createObjectURL(blob);
        a.download = '我的志愿服务信息.json';
        document.body.appendChild(a); a.click(); a.remove();
      }).catch(function () { status('下载未成功，请稍后再试'); });
  });

  // Sign-in by SMS code, the same operations as the scan page's.
  function deviceId() {
    var id = store.getItem('hourmark.device');
    if (!id) {
      id = 'web-' + (window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));
      store.setItem('hourmark.device', id);
    }
    return id;
  }
  var countdown = null;
  function wait(secs) {
    var button = $('send-code');
    button.disabled = true;
    clearInterval(countdown);
    var tick = function () {
      if (secs <= 0) { clearInterval(countdown); button.disabled = false; button.textContent = '重新获取验证码'; return; }
      button.textContent = secs + ' 秒后可重新获取';
      secs -= 1;
    };
    tick();
    countdown = setInterval(tick, 1000);
  }
  $('send-code').addEventListener('click', function () {
    var note = $('signin-note');
    note.textContent = '正在发送……';
    call('POST', '/mp/v1/login/sms/code', { phone: $('s_phone').value.trim() }).then(function (a) {
      note.className = a.status === 200 ? 'muted' : 'err-note';
      if (a.status === 200) wait(a.body.resend_after_secs || 60);
      // The same answer whether or not the number is registered: the note says so.
      note.textContent = a.status === 200 ? '如该号码已登记，验证码将发送至该号码（' + a.body.phone + '），' + a.body.expires_at.slice(11, 16) + ' 前有效。' : (a.body.detail || '发送未成功');
    }).catch(function () { note.textContent = '网络不畅，请稍后再试'; });
  });
  $('signin').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { phone: $('s_phone').value.trim(), code: $('s_code').value.trim(), device_id: deviceId() };
    call('POST', '/mp/v1/login/sms', body).then(function (a) {
      if (a.status !== 200) { $('signin-note').className = 'err-note'; $('signin-note').textContent = a.body.detail || '登录未成功'; return; }
      store.setItem('hourmark.token', a.body.access_token);
      load();
    }).catch(function () { $('signin-note').textContent = '网络不畅，请稍后再试'; });
  });
  window.addEventListener('hashchange', showTab);
  load();
})();
