// Clientside fan-out: one view model from the server fills every tile; the clock ticks locally.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  cockpit: {
    fillKpis: function (view) {
      const outputs = window.dash_clientside.callback_context.outputs_list;
      const kpis = (view && view.kpis) || {};
      const fmt = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"));
      const totals = { fire_online: "fire_total", devices_online: "devices_total" };
      return outputs.map(function (o) {
        const name = o.id.slice(4).replace(/-detail$/, "");
        if (!o.id.endsWith("-detail")) return fmt(kpis[name]);
        const part = kpis[name], whole = kpis[totals[name]];
        if (part === undefined || !whole) return "";
        return "/ " + fmt(whole) + " · " + ((100 * part) / whole).toFixed(1) + "%";
      });
    },
    freshness: function (_n, heartbeat, view, labels) {
      const now = Date.now();
      const memo = (window.__cockpitHeartbeat = window.__cockpitHeartbeat || {});
      if (heartbeat !== memo.heartbeat) {
        memo.heartbeat = heartbeat;
        memo.receivedAt = now;
      }
      const clock = new Date(now).toLocaleString(labels.lang === "zh" ? "zh-CN" : "en-GB", {
        timeZone: "Asia/Shanghai", hour12: false, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      });
      const sources = (view && view.sources) || [];
      const names = ["registry", "devices", "live"];
      const classes = names.map(function (name) {
        const s = sources.find((x) => x.name === name);
        return "source source-" + (s ? s.state : "down");
      });
      if (!heartbeat || heartbeat.age_s === null || heartbeat.age_s === undefined) {
        return [labels.waiting, labels.waiting, false, clock].concat(classes);
      }
      const age = Math.round(heartbeat.age_s + (now - memo.receivedAt) / 1000);
      const fresh = labels.fresh.replace("{age}", age);
      // No heartbeat for 3 refreshes means the server or the network is gone: say so, keep the data.
      const lost = now - memo.receivedAt > labels.lost_after_ms;
      const badSources = sources.filter((s) => s.state !== "ok").map((s) => labels.sources[s.name] || s.name);
      if (lost) badSources.unshift(labels.sources.live);
      const stale = age > labels.stale_after_s || lost || badSources.length > 0;
      const banner = labels.stale.replace("{names}", badSources.join("、") || fresh);
      return [fresh, stale ? banner : "", !stale, clock].concat(classes);
    },
  },
});
