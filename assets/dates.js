// Write a time one way on every screen and in both languages: 2026-12-02 05:31, Beijing time.
//
// Why: toLocaleString gives 02/12/2026 in English and 2026/12/02 in Chinese; an ISO date with a
// 24-hour clock reads the same to both. cockpit/timestamps.py is its twin on the server.
(function () {
  "use strict";
  const ZONE = "Asia/Shanghai";
  const PARTS = new Intl.DateTimeFormat("en-GB", {
    timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });

  function moment(value) {
    // Epoch seconds (view models) or ISO text; anything else is no time.
    if (value === null || value === undefined || value === "" || typeof value === "boolean") return null;
    const d = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function fields(d) {
    const out = {};
    PARTS.formatToParts(d).forEach((p) => { out[p.type] = p.value; });
    return out;
  }

  // opts.seconds adds ":SS"; opts.dayless drops the date when the time falls on today's date.
  function stamp(value, opts) {
    const d = value instanceof Date ? value : moment(value);
    if (!d) return "—";
    const o = opts || {};
    const f = fields(d);
    const time = f.hour + ":" + f.minute + (o.seconds ? ":" + f.second : "");
    const day = f.year + "-" + f.month + "-" + f.day;
    if (o.dayless) {
      const t = fields(new Date());
      if (t.year + "-" + t.month + "-" + t.day === day) return time;
    }
    return day + " " + time;
  }

  window.cockpitDates = { stamp: stamp };
})();
