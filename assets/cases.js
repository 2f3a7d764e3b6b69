// Case screens in the browser: the tablet's cases panel, the compact ranking, stale card checks.
(function () {
  "use strict";
  // The indicator columns the tablet shows per community, grid and department, in this order.
  const COLUMNS = ["score", "cases", "closure_rate", "on_time_handling", "overdue", "satisfaction"];
  const RATES = { closure_rate: 1, on_time_handling: 1 };
  const TABLES = [["community", "case_by_community"], ["grid", "case_by_grid"],
    ["department", "case_by_department"]];
  const LIST_LIMIT = 25;

  // assets/draw.js: the panel is drawn into the DOM, buttons on cards handed to Dash.
  const h = (type, props, children) => window.cockpitDraw.h(type, props, children);
  const div = (cls, children, extra) => h("Div", Object.assign({ className: cls }, extra), children);
  const span = (cls, children, extra) => h("Span", Object.assign({ className: cls }, extra), children);
  const noUpdate = () => window.dash_clientside.no_update;
  function tr(cfg, key) {
    return (cfg && cfg.t && cfg.t[key]) || key;
  }
  function fmt(v) {
    return v === null || v === undefined || Number.isNaN(v) ? "—" : Number(v).toLocaleString("en-US");
  }
  function rate(v) {
    return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%";
  }
  function when(_cfg, value) {
    // One way in both languages (assets/dates.js): 2026-12-02 05:31.
    return window.cockpitDates.stamp(value);
  }
  const CJK = /[\u3400-\u9fff]/;
  function title(cfg, c) {
    if (cfg.lang !== "en") return c.title_zh || c.title_en || c.code || "—";
    // English never shows Chinese: a title without a translation gives way to its category.
    if (c.title_en && !CJK.test(c.title_en)) return c.title_en;
    const category = cfg.t["case_category_" + c.category];
    return category || (c.category && !CJK.test(c.category) ? c.category : c.code || "—");
  }
  // The same string as layouts.cases.fingerprint: when it differs, the open card is redrawn.
  function fingerprint(c) {
    // Repeats are one entry that counts them: a new repeat changes the count, not the length.
    const steps = (c.history || []).reduce((n, e) => n + (e.repeats || 1), 0);
    return [c.state, c.overdue ? 1 : 0, steps, c.assignee || ""].join("|");
  }
  function findCase(view, id) {
    const lists = [view.open || [], view.overdue || []];
    for (const list of lists) {
      const hit = list.find((c) => c.id === id);
      if (hit) return hit;
    }
    return null;
  }
  function rowName(cfg, table, row) {
    if (table === "department") return tr(cfg, "case_department_" + row.key) || String(row.key);
    // Under a "by community" head the word "Community" only takes room (as on the housing page).
    const english = table === "community" && row.name_en ? row.name_en.replace(/ Community$/, "") : row.name_en;
    const name = (cfg.lang === "en" && english) || row.name || String(row.key);
    // Place names are Chinese in the store; English pages show the romanised name or the number.
    return cfg.lang === "en" && CJK.test(name)
      ? tr(cfg, table === "grid" ? "case_level_grid" : "case_level_community") + " " + row.key : name;
  }
  function cell(column, row) {
    const v = row[column];
    if (RATES[column]) return rate(v);
    if (column === "satisfaction") return v === null || v === undefined ? "—" : Number(v).toFixed(2);
    return fmt(v);
  }

  function caseButton(cfg, c) {
    return h("Button", {
      pick: { kind: "case", id: c.id },
      className: "case-row" + (c.overdue ? " is-overdue" : "") + (c.priority === "urgent" ? " is-urgent" : ""),
      title: tr(cfg, "tap_for_detail"),
    }, [
      span("case-row-main", [
        c.overdue ? span("case-overdue-flag", "⚠ " + tr(cfg, "case_overdue")) : null,
        c.priority === "urgent" ? span("case-urgent", "▲ " + tr(cfg, "case_priority_urgent")) : null,
        span("case-row-title", title(cfg, c)),
        span("case-row-code", c.code || String(c.id)),
      ]),
      span("case-chip case-chip-" + c.state, tr(cfg, "state_" + c.state)),
      span("case-row-due", when(cfg, c.deadline_at)),
    ]);
  }
  function indicatorTable(cfg, table, key, rows) {
    if (!rows.length) return div("case-table-box", [h("H4", {}, tr(cfg, key)), div("note", tr(cfg, "case_no_indicators"))]);
    const head = [tr(cfg, "case_ind_rank"), ""].concat(COLUMNS.map((c) =>
      c === "cases" ? tr(cfg, "case_ind_registered") : tr(cfg, "case_ind_" + c)));
    return div("case-table-box", [
      h("H4", {}, tr(cfg, key)),
      h("Table", { className: "case-indicators case-ind-" + table }, [
        h("Thead", {}, h("Tr", {}, head.map((text) => h("Th", {}, text)))),
        h("Tbody", {}, rows.map((r) => h("Tr", {}, [h("Td", {}, fmt(r.rank)), h("Td", {}, rowName(cfg, table, r))]
          .concat(COLUMNS.map((c) => h("Td", {}, cell(c, r))))))),
      ]),
    ]);
  }
  function fillPanel(view, cfg) {
    if (!cfg) return noUpdate();
    return window.cockpitDraw.mount("panel-cases-body", view ? panelPages(cfg, view) : div("note", tr(cfg, "waiting")));
  }
  function panelPages(cfg, view) {
    const open = (view.open || []).slice().sort((a, b) => (b.overdue ? 1 : 0) - (a.overdue ? 1 : 0));
    const kpis = view.kpis || {};
    const ind = view.indicators || {};
    return [
      div("panel-page case-list-page", [
        h("H3", { className: "page-title" }, tr(cfg, "case_open_list") + " " + fmt(kpis.open)),
        div("case-kpis", [
          span("case-kpi" + (kpis.overdue > 0 ? " is-bad" : ""), tr(cfg, "case_overdue") + " " + fmt(kpis.overdue)),
          span("case-kpi", tr(cfg, "case_priority_urgent") + " " + fmt(kpis.urgent_open)),
          span("case-kpi", tr(cfg, "closure_rate") + " " + rate(kpis.closure_rate)),
        ]),
        open.length ? div("case-list", open.slice(0, LIST_LIMIT).map((c) => caseButton(cfg, c)))
          : div("note", tr(cfg, "case_no_open")),
      ]),
      div("panel-page case-indicator-page", [h("H3", { className: "page-title" }, tr(cfg, "case_indicators"))]
        .concat(TABLES.map(([table, key]) => indicatorTable(cfg, table, key, (ind[table] || []).slice(0, 12))))),
    ];
  }
  // A few lines for the wall's governance panel: the best and the last communities by score.
  function ranking(cfg, view, n) {
    const rows = ((view && view.indicators && view.indicators.community) || []).filter((r) => r.score !== null);
    if (!rows.length) return null;
    // The wall's panel has no room to scroll: two at each end there.
    const count = cfg.mode === "tablet" ? n : Math.min(n, 2);
    const shown = rows.length <= 2 * count ? rows : rows.slice(0, count).concat(rows.slice(-count));
    return div("case-ranking", [
      h("H4", {}, tr(cfg, "case_ranking")),
      h("Ol", { className: "case-rank-list" }, shown.map((r) => h("Li", { className: "case-rank-row" }, [
        span("case-rank-no", String(r.rank)),
        span("case-rank-name", rowName(cfg, "community", r)),
        span("case-rank-score", fmt(r.score)),
      ]))),
    ]);
  }
  // A fresh key per drawn button: a double tap sends the same key, and the desk acts once.
  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function acknowledgeButton(cfg, alert) {
    return h("Button", {
      id: { type: "alert-ack", id: alert.id, key: newKey() },
      className: "case-button case-button-acknowledge",
      n_clicks: 0,
      title: tr(cfg, "case_acknowledge_hint"),
    }, tr(cfg, "case_action_acknowledge"));
  }

  // "Show on map": a card's button carries data-focus='{"building": id, "at": [lat, lon]}' and
  // data-pick (the building's card, drawn by the map's callback). The live map flies to the
  // building's own outline (drawn in the map's coordinates, shifted tiles included); a place
  // with no outline on the map falls back to its stored point.
  const FOCUS_ZOOM = 18;
  function focusMap(focus) {
    const reg = window.cockpitMap && window.cockpitMap.registry;
    const map = reg && reg.map;
    if (!map || !focus) return false;
    // The tablet scrolls its panels under the map: bring the map back into view, or the tap
    // moves a map nobody sees (the building's card opens over it; closing it shows the place).
    const slot = map.getContainer().closest(".map-slot") || map.getContainer();
    if (slot.scrollIntoView) slot.scrollIntoView({ block: "start" });
    const outline = reg.buildings && reg.buildings.get(focus.building);
    if (outline && outline.getBounds) {
      map.flyToBounds(outline.getBounds(), { maxZoom: FOCUS_ZOOM, duration: 0.6 });
      return true;
    }
    const at = focus.at;
    if (!Array.isArray(at) || typeof at[0] !== "number" || typeof at[1] !== "number") return false;
    map.flyTo(at, Math.max(map.getZoom(), FOCUS_ZOOM), { duration: 0.6 });
    return true;
  }
  document.addEventListener("click", function (event) {
    const hit = event.target && event.target.closest ? event.target.closest("[data-focus]") : null;
    if (!hit) return;
    try {
      focusMap(JSON.parse(hit.getAttribute("data-focus")));
    } catch (err) {
      console.warn("cockpit: unreadable data-focus", hit.getAttribute("data-focus"), err);
    }
  });
  // The alert card's place (the ticker item's `where`, spelt by the worker in both languages).
  function whereBlock(cfg, where) {
    if (!where) return null;
    const said = (cfg.lang === "en" ? where.en : where.zh) || {};
    const field = (key, value) => value ? div("card-field where-" + key, [
      span("card-key", tr(cfg, "where_" + key)), span("card-val", value)]) : null;
    const focus = typeof where.lat === "number" && where.building_id && cfg.mode === "tablet";
    return div("card-where", [
      field("address", said.address),
      field("building", said.building),
      field("community", said.community),
      field("grid", said.grid),
      focus ? h("Button", {
        className: "where-show-on-map",
        // The card is handed to Dash: a data-* attribute, not draw.js's `pick` shorthand.
        "data-pick": JSON.stringify({ kind: "building", id: where.building_id }),
        "data-focus": JSON.stringify({ building: where.building_id, at: [where.lat, where.lon] }),
      }, "◎ " + tr(cfg, "where_show_on_map")) : null,
    ]);
  }

  const staleAsked = {};
  const STALE_ASKS = 3;
  window.cockpitCases = {
    ranking: ranking, acknowledgeButton: acknowledgeButton, caseButton: caseButton,
    whereBlock: whereBlock, focusMap: focusMap,
  };
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    cockpitCases: {
      fillPanel: fillPanel,
      staleCard: function (view) {
        // One entry per open card (there is at most one): a new value asks the server to redraw it.
        // Run when the view moves and when a card is drawn: a card drawn from an older view than
        // the page now holds (an action's answer landing after a pushed change) is redrawn too.
        // At most STALE_ASKS times per card and view version, so a page whose view lags the
        // server's (each redraw then differs from it again) cannot ask on and on.
        const ctx = window.dash_clientside.callback_context;
        const cards = (ctx.inputs_list && ctx.inputs_list[1]) || [];
        if (!view || !cards.length) return noUpdate();
        if (!staleAsked.keys || Object.keys(staleAsked.keys).length > 200) staleAsked.keys = {};
        let moved = false;
        const out = cards.map(function (card) {
          const c = findCase(view, card.id.id);
          if (!c || !card.value || fingerprint(c) === card.value.fp) return noUpdate();
          const key = card.id.id + "@" + (view.version || "");
          if ((staleAsked.keys[key] || 0) >= STALE_ASKS) return noUpdate();
          staleAsked.keys[key] = (staleAsked.keys[key] || 0) + 1;
          moved = true;
          return { at: Date.now() };
        });
        return moved ? out : noUpdate();
      },
    },
  });
})();
