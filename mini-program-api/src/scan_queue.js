// The scan page's offline queue (served, never inline: the pages' CSP forbids inline
// script). A scan made with no network is kept on the phone in IndexedDB with its nonce,
// the code, the phone's clock and a monotonic reading (performance.now() and the page's
// start, performance.timeOrigin), and uploaded when the network returns: on the `online`
// event, on every page load, and on a timer that backs off from 5 seconds to 5 minutes.
//
// Each kept scan keeps its nonce for every retry, so the server answers a retry with the
// answer it already recorded and the scan counts once, even if two tabs upload it at the
// same time. A scan leaves the queue only with an answer: accepted, or refused with a code
// (the refusal is shown in Chinese). No network, a busy server (429, 5xx) or a lost
// sign-in (401) leave it queued.
//
// The upload says how long ago the scan was made (`offline.elapsed_ms`): by the monotonic
// clock when this same page kept it, else by the difference of the phone's wall-clock
// readings. Either is immune to a phone clock that is simply wrong; the server places the
// scan at its own time of arrival less that.
window.HourmarkQueue = (function () {
  var DB = 'hourmark-offline', STORE = 'scans';
  var listeners = [];
  var flushing = null, timer = null, backoff = 5000;

  function open() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) return reject(new Error('no IndexedDB'));
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: 'nonce' }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var result = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(result && 'result' in result ? result.result : undefined); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }
  function all() {
    return tx('readonly', function (s) { return s.getAll(); }).then(function (list) {
      return (list || []).sort(function (a, b) { return a.wall_ms - b.wall_ms; });
    });
  }
  function count() { return all().then(function (l) { return l.length; }); }
  function emit(event) { listeners.forEach(function (fn) { fn(event); }); }

  // Keeps one scan (with where the phone was, if it knew), made now or at `madeAt` (the
  // phone's readings when the page read the code); resolves with how many wait.
  function add(code, nonce, deviceId, location, madeAt) {
    var at = madeAt || { wall_ms: Date.now(), mono_ms: performance.now(), page_origin: performance.timeOrigin };
    var record = {
      nonce: nonce, code: code, device_id: deviceId, location: location || null,
      phone_time: new Date(at.wall_ms).toISOString(), wall_ms: at.wall_ms,
      mono_ms: at.mono_ms, page_origin: at.page_origin
    };
    return tx('readwrite', function (s) { s.put(record); }).then(count).then(function (n) {
      emit({ kind: 'queued', record: record, waiting: n });
      schedule();
      return n;
    });
  }

  function elapsed(r) {
    var ms = r.page_origin === performance.timeOrigin ? performance.now() - r.mono_ms : Date.now() - r.wall_ms;
    return Math.max(0, Math.round(ms));
  }

  function upload(r, bearer) {
    var body = {
      code: r.code, nonce: r.nonce, client_time: r.phone_time, device_id: r.device_id,
      offline: { elapsed_ms: elapsed(r) }
    };
    if (r.location) body.location = r.location;
    return fetch('/mp/v1/scans', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + bearer },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (j) { return { status: res.status, body: j }; }, function () { return { status: res.status, body: {} }; });
    });
  }

  function remove(nonce) { return tx('readwrite', function (s) { s.delete(nonce); }); }

  // Uploads every kept scan once, oldest first; stops at the first that cannot be answered.
  function flush() {
    if (flushing) return flushing;
    var bearer = window.localStorage.getItem('hourmark.token');
    flushing = all().then(function (list) {
      if (!list.length) { backoff = 5000; return; }
      if (!bearer) { emit({ kind: 'signin', waiting: list.length }); return; }
      var next = function (i) {
        if (i >= list.length) { backoff = 5000; return; }
        var r = list[i];
        return upload(r, bearer).then(function (a) {
          if (a.status === 401) { emit({ kind: 'signin', waiting: list.length - i }); return; }
          if (a.status === 429 || a.status >= 500) throw new Error('busy');
          return remove(r.nonce).then(count).then(function (n) {
            emit({ kind: a.status === 200 ? 'uploaded' : 'refused', record: r, answer: a.body, waiting: n });
            return next(i + 1);
          });
        });
      };
      return next(0);
    }).catch(function () {
      return count().then(function (n) { if (n) { emit({ kind: 'waiting', waiting: n }); schedule(); } }, function () {});
    }).then(function () { flushing = null; }, function () { flushing = null; });
    return flushing;
  }

  // The next try, later each time the network stays away.
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(flush, backoff);
    backoff = Math.min(backoff * 2, 300000);
  }

  window.addEventListener('online', function () { backoff = 5000; flush(); });
  return {
    add: add, count: count, flush: flush,
    onChange: function (fn) { listeners.push(fn); }
  };
})();
