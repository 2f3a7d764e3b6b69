/* Take what changed from the server the moment it changes, and poll only as a safety net.
 *
 * The server's /live/stream (cockpit/web/push.py) sends, for each view this page's role is sent,
 * the difference from the version before to the new one (`patch`: store, from, to, ops). When
 * this page holds that "from" version, it applies the operations to its store itself and the
 * clientside callbacks redraw; otherwise (or on `views`, a change with no difference to send) it
 * runs its one refresh callback at once, which brings the views whole with the role's checks.
 * EventSource reconnects by itself after a proxy timeout or a web worker restart. The freshness
 * line says "推送 / push" while the stream is up.
 *
 * The stream also beats every two seconds with the heartbeat a refresh would bring (how fresh
 * the views are, on the server's clock). While beats come, the page polls only every SAFETY_MS
 * (in case an event was lost) and its freshness line runs on the beats; when they stop for
 * BEATS_LOST_MS, or the stream fails, it polls at its own interval again. While pushed, the page
 * tells its refresh so (page-profile.pushed): the refresh then sends views whole, never a Dash
 * Patch that could land on data a pushed difference has already moved on.
 */
(function () {
  "use strict";
  const GAP_MS = 500;
  const SAFETY_MS = 30000;
  const BEATS_LOST_MS = 7000;
  // After the stream (re)opens, a refresh posted before it may still be on its way with a Dash
  // Patch from the version it held; taking a difference meanwhile would apply the change twice.
  // So for this long the page refreshes (views whole, once it says it is pushed) instead.
  const GRACE_MS = 5000;
  let openedAt = 0;
  let source = null;
  let ownPollMs = null; // the page's own poll interval, restored when the beats stop
  let lastBeat = 0;
  let tick = 0;
  let heard = 0; // when the last change was heard (ms since the epoch), for tests and benches
  let applied = 0; // differences applied here, for tests and benches

  function prefix() {
    const config = document.getElementById("_dash-config");
    try {
      return (config && JSON.parse(config.textContent).requests_pathname_prefix) || "/";
    } catch (err) {
      return "/";
    }
  }
  function screen() {
    // The wall and the tablet: a demo plays its own street and keeps to polling.
    const root = document.querySelector(".cockpit");
    return root && !root.classList.contains("mode-demo") ? root : null;
  }
  function setProps(id, props) {
    const set = window.dash_clientside && window.dash_clientside.set_props;
    if (!set) return false;
    set(id, props);
    return true;
  }
  function held(id) {
    // A store's value as the page holds it now; undefined while the page is not drawn yet.
    const api = window.dash_component_api;
    try {
      const layout = api && api.getLayout && api.getLayout(id);
      return layout && layout.props ? layout.props : undefined;
    } catch (err) {
      return undefined;
    }
  }
  function mark(on) {
    const line = document.getElementById("data-freshness");
    if (line) {
      line.setAttribute("data-push", on ? "on" : "off");
      line.setAttribute("data-push-label",
        (document.documentElement.lang || "zh").indexOf("zh") === 0 ? "推送" : "push");
    }
    document.documentElement.setAttribute("data-push", on ? "on" : "off");
    const profile = held("page-profile");
    if (profile && profile.data && Boolean(profile.data.pushed) !== on) {
      setProps("page-profile", { data: Object.assign({}, profile.data, { pushed: on }) });
    }
  }
  let last = 0;
  let pending = null;
  function refreshNow() {
    // At most one pushed refresh per GAP_MS: a burst of changes (a storm of alarms) is one
    // refresh at its start and one at its end, not one per change.
    const wait = last + GAP_MS - Date.now();
    if (wait > 0) {
      if (!pending) pending = setTimeout(function () { pending = null; refreshNow(); }, wait);
      return;
    }
    last = Date.now();
    // Any new value of the interval's count runs the refresh; it counts on from there.
    tick = Math.max(tick + 1, last);
    setProps("refresh-interval", { n_intervals: tick });
  }
  function polls(slow) {
    if (ownPollMs === null) {
      const interval = held("refresh-interval");
      if (!interval) return; // not drawn yet: the next beat tries again
      ownPollMs = interval.interval;
    }
    const want = slow ? Math.max(SAFETY_MS, ownPollMs) : ownPollMs;
    if (polls.now !== want && setProps("refresh-interval", { interval: want })) polls.now = want;
  }

  // -- differences ------------------------------------------------------------------------------
  // The operations of cockpit/view_patches.py: ["set", path, value], ["del", path],
  // ["ins", path, index, value]. Applied copy-on-write: only the objects along a path are
  // copied, so Dash sees a new value and the rest is shared with the old one.
  function copied(value) {
    return Array.isArray(value) ? value.slice() : Object.assign({}, value);
  }
  function applyOne(doc, op) {
    const path = op[1];
    const root = copied(doc);
    let node = root;
    const last = op[0] === "ins" ? path.length : path.length - 1;
    for (let i = 0; i < last; i++) {
      const child = node[path[i]];
      if (child === null || typeof child !== "object") throw new Error("no such path");
      node[path[i]] = copied(child);
      node = node[path[i]];
    }
    if (op[0] === "set") {
      node[path[last]] = op[2];
    } else if (op[0] === "del") {
      if (Array.isArray(node)) node.splice(path[last], 1);
      else delete node[path[last]];
    } else if (op[0] === "ins") {
      if (!Array.isArray(node)) throw new Error("not a list");
      node.splice(op[2], 0, op[3]);
    } else {
      throw new Error("unknown operation");
    }
    return root;
  }
  function applyDifference(msg) {
    const versions = held("view-versions");
    const store = held("view-" + msg.store);
    const holding = versions && versions.data ? versions.data : {};
    if (Date.now() - openedAt < GRACE_MS) return false;
    // The data itself must be the version the difference starts from (its own stamp), not only
    // the page's record of versions: a difference applied to anything else would go wrong
    // quietly and stay wrong.
    if (!store || !store.data || store.data.version !== msg.from) return false;
    if (holding[msg.store] !== msg.from) return false;
    let next = store.data;
    try {
      for (let i = 0; i < msg.ops.length; i++) next = applyOne(next, msg.ops[i]);
    } catch (err) {
      return false; // not the shape the difference expects: take the view whole
    }
    next = Object.assign({}, next, { version: msg.to, generated_at: msg.at });
    setProps("view-" + msg.store, { data: next });
    const now = Object.assign({}, holding);
    now[msg.store] = msg.to;
    setProps("view-versions", { data: now });
    applied += 1;
    return true;
  }

  function open() {
    if (source || !screen() || typeof EventSource === "undefined") return;
    source = new EventSource(prefix() + "live/stream");
    source.addEventListener("hello", function () {
      openedAt = Date.now();
      mark(true);
    });
    source.addEventListener("beat", function (event) {
      let beat = null;
      try { beat = JSON.parse(event.data); } catch (err) { return; }
      lastBeat = Date.now();
      setProps("heartbeat-store", { data: beat });
      polls(true);
    });
    source.addEventListener("patch", function (event) {
      heard = Date.now();
      let msg = null;
      try { msg = JSON.parse(event.data); } catch (err) { msg = null; }
      if (!msg || !applyDifference(msg)) refreshNow();
    });
    source.addEventListener("views", function () {
      heard = Date.now();
      mark(true);
      refreshNow();
    });
    source.onerror = function () {
      // EventSource tries again by itself; a 401 (signed out) closes it for good. Meanwhile
      // the page polls at its own pace.
      mark(false);
      polls(false);
      if (source && source.readyState === EventSource.CLOSED) source = null;
    };
  }
  function close() {
    if (source) source.close();
    source = null;
    mark(false);
    polls(false);
  }
  // Beats that stop with the stream still "open" (a proxy holding it, a stuck reader): poll.
  setInterval(function () {
    if (lastBeat && Date.now() - lastBeat > BEATS_LOST_MS) {
      lastBeat = 0;
      polls(false);
    }
  }, 1000);
  // Dash draws the page after this script runs: look for the screen until it is there.
  const looking = setInterval(function () {
    if (screen()) {
      clearInterval(looking);
      open();
    }
  }, 250);
  // A hidden tab lets its stream go (a browser keeps six connections per server over HTTP/1.1:
  // a stream per background tab would starve the visible one) and polls until shown again.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") close();
    else if (screen()) { open(); refreshNow(); }
  });
  window.cockpitPush = {
    state: function () { return source ? source.readyState : -1; },
    heard: function () { return heard; },
    applied: function () { return applied; },
    taking: function () { return source !== null && Date.now() - openedAt >= GRACE_MS; },
    pollMs: function () { return polls.now === undefined ? ownPollMs : polls.now; },
    ownPollMs: function () { return ownPollMs; },
    close: close,
  };
})();
