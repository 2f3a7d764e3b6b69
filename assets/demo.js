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
    const text = (cfg && cfg.lang === "en" ? caption.en : caption.zh) || "";
    return [
      h("Span", { className: "demo-caption-time" }, caption.time || ""),
      h("Span", { className: "demo-kind kind-" + kind },
        (ICONS[kind] || "•") + " " + tr(cfg, "demo_kind_" + kind)),
      // Two lines at most on the wall; the title keeps the whole caption.
      h("Span", { className: "demo-caption-text", title: text }, text),
    ];
  }

  // The bar's height is fixed: when a caption wraps to two lines, the oldest earlier lines give
  // way, whole, instead of the bar growing into the wall above or cutting a line in half.
  function fitCaptions() {
    const box = document.querySelector(".demo-captions");
    if (!box) return;
    const items = box.querySelectorAll(".demo-history-item");
    items.forEach((item) => { item.style.display = ""; });
    for (let i = items.length - 1; i >= 0 && box.scrollHeight > box.clientHeight + 1; i -= 1) {
      items[i].style.display = "none";
    }
  }
  // Measured once Dash has drawn what fillBar returned (the frame after next), and on a resize.
  function fitCaptionsSoon() {
    requestAnimationFrame(() => requestAnimationFrame(fitCaptions));
  }
  window.addEventListener("resize", fitCaptionsSoon);

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    demo: {
      fillBar: function (view, cfg) {
        const noUpdate = window.dash_clientside.no_update;
        if (!view) return [noUpdate, noUpdate, noUpdate, noUpdate, noUpdate, noUpdate, noUpdate];
        const captions = view.captions || [];
        const current = view.current;
        const earlier = captions.slice(Math.max(0, captions.length - 1 - HISTORY), -1).reverse();
        const state = view.preparing && view.mode !== "replay" ? "preparing" : view.state;
        fitCaptionsSoon();
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
