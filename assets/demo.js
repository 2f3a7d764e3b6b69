// Demo mode: draw the caption bar from the `demo` view model (captions, clock, state, progress).
(function () {
  "use strict";
  const ICONS = { info: "ℹ", signal: "◆", alarm: "▲", dispatch: "➜", arrival: "●", handling: "◆",
    closure: "✓" };
  const HISTORY = 3;

  function h(type, props, children) {
    const p = Object.assign({}, props || {});
    if (children !== undefined) p.children = children;
    return { type: type, namespace: "dash_html_components", props: p };
  }
  function tr(cfg, key) {
    return (cfg && cfg.t && cfg.t[key]) || key;
  }
  function line(cfg, caption) {
    const kind = caption.kind || "info";
    return [
      h("Span", { className: "demo-caption-time" }, caption.time || ""),
      h("Span", { className: "demo-kind kind-" + kind },
        (ICONS[kind] || "•") + " " + tr(cfg, "demo_kind_" + kind)),
      h("Span", { className: "demo-caption-text" },
        (cfg && cfg.lang === "en" ? caption.en : caption.zh) || ""),
    ];
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    demo: {
      fillBar: function (view, cfg) {
        const noUpdate = window.dash_clientside.no_update;
        if (!view) return [noUpdate, noUpdate, noUpdate, noUpdate, noUpdate, noUpdate, noUpdate];
        const captions = view.captions || [];
        const current = view.current;
        const earlier = captions.slice(Math.max(0, captions.length - 1 - HISTORY), -1).reverse();
        const state = view.preparing && view.mode !== "replay" ? "preparing" : view.state;
        return [
          current ? line(cfg, current) : tr(cfg, "demo_waiting_caption"),
          "demo-caption" + (current ? " kind-" + (current.kind || "info") : ""),
          earlier.map((c) => h("Li", { className: "demo-history-item kind-" + (c.kind || "info") },
            line(cfg, c))),
          view.time || "—",
          tr(cfg, "demo_state_" + state),
          { width: (100 * (view.progress || 0)).toFixed(1) + "%" },
          tr(cfg, view.state === "playing" ? "demo_pause" : "demo_play"),
        ];
      },
      reload: function (data) {
        if (data === undefined || data === null || (data && data.error)) {
          return window.dash_clientside.no_update;
        }
        window.location.reload();
        return window.dash_clientside.no_update;
      },
    },
  });
})();
