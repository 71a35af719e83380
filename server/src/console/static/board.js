// The live board: fetches the board snapshot through the API, then listens to the
// activity's server-sent events and fetches it again whenever something happened. The
// snapshot is the truth; an event only says when to look. EventSource reconnects by
// itself, and every (re)connection starts with a `ready` event, after which the board
// refetches, so nothing missed while disconnected stays missing.
"use strict";
(function () {
  const root = document.getElementById("board");
  const id = root.dataset.activityId;
  const status = document.getElementById("board-status");
  const $ = (name) => document.getElementById(name);
  let fetching = false;
  let again = false;

  function duration(minutes) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    if (h === 0) return m + "分";
    return m === 0 ? h + "小时" : h + "小时" + m + "分";
  }
  // "+08:00" timestamps from the API, shown in that same local time.
  function clock(text) {
    const m = /T(\d\d):(\d\d)/.exec(text || "");
    return m ? m[1] + ":" + m[2] : "";
  }
  function day(text) {
    const m = /^\d{4}-(\d\d)-(\d\d)/.exec(text || "");
    return m ? Number(m[1]) + "月" + Number(m[2]) + "日" : "";
  }
  function item(parts) {
    const li = document.createElement("li");
    for (const [tag, cls, text] of parts) {
      const el = document.createElement(tag);
      if (cls) el.className = cls;
      el.textContent = text;
      li.appendChild(el);
    }
    return li;
  }

  // A list, or one quiet line saying it is empty.
  function fill(list, items, empty) {
    $(list).replaceChildren(...(items.length ? items : [item([["span", "empty", empty]])]));
  }

  function render(board) {
    const t = board.totals;
    $("inside-now").textContent = t.inside_now + " 人";
    $("arrived").textContent = t.arrived + " 人";
    $("left").textContent = t.left + " 人";
    $("minutes-so-far").textContent = duration(t.minutes_so_far);

    $("gates").replaceChildren(...board.gates.map((g) => item([["span", "", g.name], ["strong", "", g.inside + " 人"]])));

    const most = Math.max(1, ...board.minutes.map((m) => m.arrivals + m.departures));
    $("minutes").replaceChildren(...board.minutes.map((m) => {
      const bar = document.createElement("div");
      bar.className = "minute";
      bar.title = clock(m.minute) + " 签到 " + m.arrivals + " 人，签退 " + m.departures + " 人";
      for (const [cls, n] of [["in", m.arrivals], ["out", m.departures]]) {
        const part = document.createElement("div");
        part.className = cls;
        part.style.height = (100 * n / most) + "%";
        bar.appendChild(part);
      }
      return bar;
    }));
    if (board.minutes.length) {
      $("minutes-range").textContent = "（" + clock(board.minutes[0].minute) + "–" + clock(board.minutes[board.minutes.length - 1].minute) + "）";
    }

    // Only for an activity that recruits: each slot's arrived against its approved
    // sign-ups, who has not come, and who came without signing up.
    const ex = board.expected;
    $("expected-panel").hidden = !ex;
    if (ex) {
      $("expected-slots").replaceChildren(...ex.slots.map((s) => item([
        ["span", "", s.name], ["strong", "", "到 " + s.arrived + " / 应到 " + s.expected + " 人"],
      ])));
      $("missing-count").textContent = ex.missing.length < ex.missing_total
        ? ex.missing_total + " 人，列出 " + ex.missing.length + " 人"
        : ex.missing_total + " 人";
      $("walk-ins").textContent = "未报名到场 " + ex.walk_ins + " 人";
      fill("missing", ex.missing.map((m) => item([["span", "name", m.volunteer_name], ["span", "since", m.slot_name]])),
        "报名者均已到场。");
    }

    // Once the activity is finalised: who never came, as recorded then (an approved late
    // entry counts as come, so this list, not the one from the scans, is the settled one).
    // The organisation's own board; the list is never published.
    const ns = board.no_shows;
    $("no-shows-panel").hidden = !ns;
    $("missing-live").hidden = Boolean(ns);
    if (ns) {
      const counted = ns.volunteers.length < ns.total
        ? ns.total + " 人，列出 " + ns.volunteers.length + " 人"
        : ns.total + " 人";
      $("no-show-count").textContent = counted;
      if (ex) $("missing-count").textContent = counted;
      $("no-shows-note").textContent = day(ns.recorded_at) + " " + clock(ns.recorded_at)
        + " 定稿时记录：报名已通过，但既没有签到、也没有获批补录。仅本组织可见，不会公示。";
      fill("no-shows", ns.volunteers.map((m) => item([["span", "name", m.volunteer_name], ["span", "since", m.slot_name]])),
        "获批准的志愿者都已到场。");
    }

    // The snapshot lists the longest inside first, at most a few hundred of them.
    $("inside-count").textContent = board.still_inside.length < t.inside_now
      ? t.inside_now + " 人，列出在场最久的 " + board.still_inside.length + " 人"
      : t.inside_now + " 人";
    fill("still-inside", board.still_inside.map((p) => item([
      ["span", "name", p.volunteer_name + (p.gate_name ? "（" + p.gate_name + "）" : "")],
      ["span", "since", day(p.since) + " " + clock(p.since) + " 起，已 " + duration(p.minutes_inside)],
    ])), "目前无人在场。");

    $("flag-count").textContent = board.flags.length < board.flags_total
      ? board.flags_total + "，列出最新的 " + board.flags.length + " 个"
      : String(board.flags_total);
    fill("flags", board.flags.map((f) => item([
      ["strong", f.severity === "high" ? "high" : "", (f.volunteer_name || "志愿者") + "：" + f.explanation],
      ["span", "when", day(f.raised_at) + " " + clock(f.raised_at) + " 提出"],
    ])), "暂无异常。");

    root.dataset.lastScanId = board.last_scan_id || "";
    root.dataset.acceptedScans = String(t.accepted_scans);
  }

  // One fetch at a time, at most one a second: in an arrival burst a board refetches
  // once a second, not once a scan. Events that arrive meanwhile cause exactly one more.
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  async function refresh() {
    if (fetching) { again = true; return; }
    fetching = true;
    try {
      do {
        again = false;
        const started = Date.now();
        render(await window.hourmark.api("GET", "/api/v1/activities/" + id + "/board"));
        if (again) await pause(Math.max(0, 1000 - (Date.now() - started)));
      } while (again);
    } catch (e) {
      status.textContent = "无法获取看板数据：" + e.message;
      status.className = "connection down";
    } finally {
      fetching = false;
    }
  }

  const events = new EventSource("/api/v1/activities/" + id + "/events");
  events.addEventListener("ready", () => {
    status.textContent = "实时更新中";
    status.className = "connection live";
    refresh();
  });
  // A cancellation changes what the page says above the figures (when, and why), which the
  // server writes into the page: load it again. The stream says `cancelled` only once.
  events.addEventListener("cancelled", () => window.location.reload());
  for (const name of ["scans", "flags", "finalised", "resync"]) {
    events.addEventListener(name, (e) => {
      root.dataset.lastEventId = e.lastEventId;
      if (name === "scans") root.dataset.lastScanEventId = e.lastEventId;
      refresh();
    });
  }
  events.addEventListener("error", () => {
    status.textContent = events.readyState === EventSource.CLOSED ? "连接已断开，请刷新页面" : "连接中断，正在重连…";
    status.className = "connection down";
  });

  // Minutes inside and the per-minute row move with the clock even when nobody scans.
  setInterval(refresh, 60000);
  refresh();
})();
