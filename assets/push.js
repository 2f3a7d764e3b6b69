/* Hear from the server the moment views change, and refresh then, not at the next poll.
 *
 * The server's /live/stream (cockpit/web/push.py) sends an event whenever the worker publishes
 * a changed view; this page then runs its one refresh callback at once (by moving the refresh
 * interval on), so the views still come through the refresh with the role's checks. Polling
 * goes on underneath as the fallback: a blocked or broken stream only loses the head start.
 * EventSource reconnects by itself after a proxy timeout or a web worker restart. The freshness
 * line says "推送 / push" while the stream is up.
 *
 * The stream also beats every two seconds with the heartbeat a refresh would bring (how fresh
 * the views are, on the server's clock). While beats come, the page polls only every SAFETY_MS
 * (in case an event was lost) and its freshness line runs on the beats; when they stop for
 * BEATS_LOST_MS, or the stream fails, it polls at its own interval again.
 */
(function () {
  "use strict";
  const GAP_MS = 500;
  const SAFETY_MS = 30000;
  const BEATS_LOST_MS = 7000;
  let source = null;
  let ownPollMs = null; // the page's own poll interval, restored when the beats stop
  let lastBeat = 0;
  let tick = 0;
  let heard = 0; // when the last change was heard (ms since the epoch), for tests and benches

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
  function mark(on) {
    const line = document.getElementById("data-freshness");
    if (!line) return;
    line.setAttribute("data-push", on ? "on" : "off");
    line.setAttribute("data-push-label",
      (document.documentElement.lang || "zh").indexOf("zh") === 0 ? "推送" : "push");
    document.documentElement.setAttribute("data-push", on ? "on" : "off");
  }
  let last = 0;
  let pending = null;
  function refreshNow() {
    const set = window.dash_clientside && window.dash_clientside.set_props;
    if (!set) return;
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
    set("refresh-interval", { n_intervals: tick });
  }
  function polls(slow) {
    const set = window.dash_clientside && window.dash_clientside.set_props;
    const api = window.dash_component_api;
    if (!set) return;
    if (ownPollMs === null) {
      let layout = null;
      try {
        layout = api && api.getLayout && api.getLayout("refresh-interval");
      } catch (err) {
        return; // not drawn yet: the next beat tries again
      }
      if (!layout || !layout.props) return;
      ownPollMs = layout.props.interval;
    }
    const want = slow ? Math.max(SAFETY_MS, ownPollMs) : ownPollMs;
    if (polls.now !== want) {
      polls.now = want;
      set("refresh-interval", { interval: want });
    }
  }
  function open() {
    if (source || !screen() || typeof EventSource === "undefined") return;
    source = new EventSource(prefix() + "live/stream");
    source.addEventListener("hello", function () { mark(true); });
    source.addEventListener("beat", function (event) {
      const set = window.dash_clientside && window.dash_clientside.set_props;
      let beat = null;
      try { beat = JSON.parse(event.data); } catch (err) { return; }
      lastBeat = Date.now();
      if (set) set("heartbeat-store", { data: beat });
      polls(true);
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
    pollMs: function () { return polls.now === undefined ? ownPollMs : polls.now; },
    close: close,
  };
})();
