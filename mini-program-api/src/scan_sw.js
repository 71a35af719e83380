// The scan page's service worker, scoped to /S/ (the path QR codes use) or /s/ (the same
// page, as a code typed or shared by hand may spell it): the page registers it for its
// own path, so a page opened either way works with no network. It keeps the
// page shell and its two scripts so that a volunteer who has used the page on this phone
// can open a code with no network: the page then keeps the scan on the phone and uploads
// it when the network returns (scan-queue.js). Network first, always: a fresh page and
// fresh scripts whenever the server answers, the kept copy only when it cannot be reached.
//
// Only these GETs are answered from the cache. API calls are never touched: a scan must
// reach the server or be queued by the page, never be answered by a copy.
//
// WeChat: Android WeChat's built-in browser (X5/XWeb, Chromium based) runs service
// workers. iOS WeChat (WKWebView) does not; there the page works as before, and a scan
// made after the network dropped is still queued and uploaded as long as the page stays
// open (IndexedDB works there), but a page opened with no network cannot load at all.
var CACHE = 'hourmark-scan-v1';
// Any token serves the same page; this one names the kept copy.
var SHELL = '/S/shell';
var ASSETS = ['/mp/static/scan.js', '/mp/static/scan-queue.js'];

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll([SHELL].concat(ASSETS));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function networkFirst(request, key) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(key).then(function (kept) { return kept || Response.error(); });
  });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Every code's page is the same shell: one copy serves them all.
  if (request.mode === 'navigate' && /^\/[Ss]\//.test(url.pathname)) {
    event.respondWith(networkFirst(request, SHELL));
    return;
  }
  if (ASSETS.indexOf(url.pathname) >= 0) event.respondWith(networkFirst(request, url.pathname));
});
