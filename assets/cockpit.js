// Clientside fan-out: the server sends view models; these functions draw KPIs, panels, ticker, cards.
(function () {
  "use strict";
  const LEVELS = ["red", "orange", "yellow", "blue"];
  // A shape next to every colour: the level is never told by colour alone.
  const LEVEL_ICON = { red: "▲", orange: "◆", yellow: "●", blue: "■" };
  const HOUSING = ["red", "yellow", "green"];
  const MAIN_STATES = ["reported", "registered", "dispatched", "handling", "handled", "verified",
    "closed", "evaluated"];
  const RESOLUTION = ["community", "street", "district"];

  // assets/draw.js: panels are drawn into the DOM, cards handed to Dash; both use its h().
  const h = (type, props, children) => window.cockpitDraw.h(type, props, children);
  const mount = (id, tree) => window.cockpitDraw.mount(id, tree);
  const div = (cls, children, extra) => h("Div", Object.assign({ className: cls }, extra), children);
  const span = (cls, children, extra) => h("Span", Object.assign({ className: cls }, extra), children);
  const noUpdate = () => window.dash_clientside.no_update;

  function fmt(v) {
    return v === null || v === undefined || Number.isNaN(v) ? "—" : Number(v).toLocaleString("en-US");
  }
  function share(part, whole) {
    return whole ? (100 * part) / whole : 0;
  }
  function tr(cfg, key) {
    return (cfg && cfg.t && cfg.t[key]) || key;
  }
  function groupPlaces(cfg, item, most) {
    // "安图路1号、安图路3号 等4处" / "No. 1, Antu Road; No. 3, Antu Road and 4 more".
    const places = item.places || [];
    const names = places.slice(0, most).map((p) => (cfg.lang === "en" ? p.en : p.zh) || "—");
    const more = places.length - names.length + (item.places_more || 0);
    return names.join(cfg.lang === "en" ? "; " : "、") +
      (more > 0 ? " " + tr(cfg, "group_more_places").replace("{n}", fmt(more)) : "");
  }
  function bi(cfg, obj) {
    // A bilingual pair from a view model ({zh, en}); never falls back to the other language.
    return (obj && (cfg.lang === "en" ? obj.en : obj.zh)) || "—";
  }
  function when(_cfg, value, opts) {
    // One way in both languages (assets/dates.js): 2026-12-02 05:31.
    return window.cockpitDates.stamp(value, opts);
  }
  function rate(value) {
    // Rates arrive as fractions (0..1) from the cases view model.
    if (value === null || value === undefined) return "—";
    return (value * 100).toFixed(1) + "%";
  }
  function devicesDetail(cfg, ok) {
    // "/ 9,558 · 97.1% · 离线 212 · 维护中 64": the denominator and what is not online.
    if (!ok.devices_total) return "";
    const parts = ["/ " + fmt(ok.devices_total) + " · " + share(ok.devices_online, ok.devices_total).toFixed(1) + "%"];
    if (ok.devices_offline !== undefined) parts.push(tr(cfg, "kpi_offline") + " " + fmt(ok.devices_offline));
    if (ok.devices_maintenance) parts.push(tr(cfg, "kpi_maintenance") + " " + fmt(ok.devices_maintenance));
    return parts.join(" · ");
  }
  function caseLine(cfg, c) {
    // An alert's case (data_adapters/alert_cases.py): "AL00000123 · 上报 · 时限 05:31" or "超时".
    const due = c.deadline_at ? new Date(c.deadline_at) : null;
    const overdue = c.open && due && due.getTime() < Date.now();
    return [c.code || String(c.id), tr(cfg, "state_" + c.state),
      !c.open || !due ? null
        : overdue ? "⚠ " + tr(cfg, "case_overdue")
          : tr(cfg, "alert_case_due") + " " + when(cfg, c.deadline_at, { dayless: true })]
      .filter((x) => x).join(" · ");
  }
  function clearedCaseOpen(item) {
    // A cleared alert whose case is still open: not settled, whatever the sensor says now.
    return item.status === "resolved" && item.case && item.case.open;
  }
  function badge(cfg, level) {
    const known = LEVELS.indexOf(level) >= 0;
    return span("badge level-" + (known ? level : "none"),
      (known ? LEVEL_ICON[level] + " " : "") + (known ? tr(cfg, "level_" + level) : "—"));
  }

  // -- small drawing kit: stacked bars, value bars, sparkline columns ---------------------------
  function stack(parts) {
    const total = parts.reduce((s, p) => s + (p.value || 0), 0);
    return div("stack", parts.filter((p) => p.value > 0).map((p) =>
      span("seg " + p.cls, "", { style: { width: share(p.value, total) + "%" } })));
  }
  function legend(cfg, parts) {
    // An optional part (devices in maintenance) is named only when there are some.
    return div("legend", parts.filter((p) => !p.optional || p.value > 0).map((p) =>
      span("legend-item " + p.cls, [span("swatch " + p.cls, ""), p.label + " " + fmt(p.value)])));
  }
  function barRow(name, value, max, cls, text) {
    return div("bar-row", [
      span("bar-name", name),
      div("bar-track", span("bar-fill " + (cls || ""), "",
        { style: { width: Math.max(value > 0 ? 2 : 0, share(value, max)) + "%" } })),
      span("bar-value", text === undefined ? fmt(value) : text),
    ]);
  }
  function spark(values, cls) {
    const max = Math.max(1, ...values);
    return div("spark " + (cls || ""), values.map((v) =>
      span("spark-col", "", { style: { height: Math.max(2, share(v, max)) + "%" } })));
  }
  function bigNumber(label, value, cls) {
    return div("big " + (cls || ""), [div("big-value", fmt(value)), div("big-label", label)]);
  }
  function note(text) {
    return div("note", text);
  }

  // -- panels: each returns its detail pages; the wall shows one at a time, the tablet all -----
  function pager(cfg, n, pages) {
    if (cfg.mode === "tablet") {
      return pages.map((p) => div("panel-page", [h("H3", { className: "page-title" }, p.title)].concat(p.body)));
    }
    const i = (n || 0) % pages.length;
    const dots = pages.map((_, j) => (j === i ? "●" : "○")).join(" ");
    return [
      div("page-head", [
        h("H3", { className: "page-title" }, pages[i].title),
        span("page-dots", dots, { "aria-label": i + 1 + " / " + pages.length }),
      ]),
      div("panel-page", pages[i].body),
    ];
  }
  function waiting(cfg) {
    return note(tr(cfg, "waiting"));
  }

  // -- the wall never scrolls: a page keeps what fits its panel, at the wall's type size --------
  // Marked lists (data-fit="rows": ranked, so the first rows matter most) lose their last rows
  // down to FIT_MIN_ROWS; then blocks marked data-fit="optional" go, last first; then the lists
  // shrink to one row, and at last go (a table with them). Trimmed here, after drawing, because
  // only the browser knows the sizes.
  const ROWS = { "data-fit": "rows" };
  const OPTIONAL = { "data-fit": "optional" };
  const FIT_MIN_ROWS = 3;
  function trimRow(body, min) {
    const lists = Array.from(body.querySelectorAll("[data-fit=rows]")).filter((l) => l.children.length > min);
    if (!lists.length) return false;
    const list = lists.reduce((a, b) => (b.children.length > a.children.length ? b : a));
    list.lastElementChild.remove();
    if (!list.children.length) (list.closest("table") || list).remove();
    return true;
  }
  function fitPanel(body, cfg) {
    const box = cfg.mode !== "tablet" && body && body.closest(".panel");
    if (!box) return;
    const over = () => box.scrollHeight > box.clientHeight + 1;
    for (let guard = 0; guard < 200 && over(); guard += 1) {
      if (trimRow(body, FIT_MIN_ROWS)) continue;
      const optional = body.querySelectorAll("[data-fit=optional]");
      if (optional.length) optional[optional.length - 1].remove();
      else if (!trimRow(body, 1) && !trimRow(body, 0)) break;
    }
  }
  // Draw a panel and fit it. A page that no longer fits (its text reflowed after a font loaded)
  // loses more rows at the next call; when the panel's box changes size (a resized window, the
  // KPI strip or the demo's caption reflowing) its last tree is drawn again whole and fitted.
  function refit(body) {
    body.__drawn = null;
    mount(body, body.__fit.tree);
    fitPanel(body, body.__fit.cfg);
  }
  function drawPanel(id, tree, cfg) {
    const result = mount(id, tree);
    const body = document.getElementById(id);
    if (!body || cfg.mode === "tablet") return result;
    body.__fit = { tree: tree, cfg: cfg };
    fitPanel(body, cfg);
    if (!body.__sized && window.ResizeObserver) {
      const box = body.closest(".panel") || body;
      body.__size = box.clientWidth + "x" + box.clientHeight;
      body.__sized = new ResizeObserver(function () {
        const size = box.clientWidth + "x" + box.clientHeight;
        if (size === body.__size) return;
        body.__size = size;
        refit(body);
      });
      body.__sized.observe(box);
      if (document.fonts && document.fonts.ready) document.fonts.ready.then(() => refit(body));
    }
    return result;
  }

  function housingPage(cfg, housing) {
    const overall = housing.overall || {};
    const parts = HOUSING.map((c) => ({ cls: "c-" + c, value: overall[c] || 0, label: tr(cfg, "colour_" + c) }));
    const rows = (housing.communities || []).slice()
      .sort((a, b) => (b.red || 0) - (a.red || 0) || (a.id || 0) - (b.id || 0));
    const shown = cfg.mode === "tablet" ? rows : rows.slice(0, 12);
    const reasons = Object.entries(housing.red_reasons || {}).slice(0, 3);
    return [
      stack(parts), legend(cfg, parts),
      h("H4", {}, tr(cfg, "by_community")),
      div("community-list", shown.map((c) => div("community-row", [
        // Under the "by community" heading the word "Community" only takes room.
        span("community-name", cfg.lang === "en" ? (c.community_en || "—").replace(/ Community$/, "")
          : c.community || "—"),
        stack(HOUSING.map((k) => ({ cls: "c-" + k, value: c[k] || 0 }))),
        span("community-red", "▲ " + fmt(c.red)),
      ])), ROWS),
      reasons.length ? div("red-reasons", [h("H4", {}, tr(cfg, "top_red_reasons")), div("chips", reasons.map(([code, n]) =>
        span("chip", (cfg.t["reason_" + code] || code) + " " + fmt(n))))], OPTIONAL) : null,
    ];
  }
  function firePage(cfg, fire) {
    // Systems in a list the wall may shorten (the last ones go when the page has no room).
    return div("systems", (fire || []).map((s) => {
      const parts = [
        { cls: "d-alarm", value: s.alarm, label: tr(cfg, "dev_alarm") },
        { cls: "d-online", value: s.online, label: tr(cfg, "dev_online") },
        { cls: "d-offline", value: s.offline, label: tr(cfg, "dev_offline") },
        { cls: "d-maint", value: s.maintenance, label: tr(cfg, "dev_maintenance"), optional: true },
      ];
      return div("system" + (s.alarm > 0 ? " has-alarm" : ""), [
        div("system-head", [span("system-name", tr(cfg, "system_" + s.system)), span("system-total", fmt(s.total))]),
        stack(parts), legend(cfg, parts),
      ]);
    }), ROWS);
  }
  function caseLoopPage(cfg, cases, casesView) {
    // The cases view is republished the moment any screen acts on a case: prefer its counts.
    if (casesView && casesView.funnel && casesView.funnel.length && casesView.kpis) {
      cases = { funnel: casesView.funnel, open: casesView.kpis.open, overdue: casesView.kpis.overdue };
    }
    const funnel = (cases && cases.funnel) || [];
    const main = funnel.filter((r) => MAIN_STATES.indexOf(r.state) >= 0);
    const side = funnel.filter((r) => MAIN_STATES.indexOf(r.state) < 0 && r.count > 0);
    const max = Math.max(1, ...main.map((r) => r.count));
    const overdueList = casesView && Array.isArray(casesView.overdue) ? casesView.overdue.slice(0, 4) : [];
    return [
      div("big-pair", [
        bigNumber(tr(cfg, "open"), cases ? cases.open : null),
        bigNumber(tr(cfg, "overdue"), cases ? cases.overdue : null, cases && cases.overdue > 0 ? "is-bad" : ""),
      ]),
      div("bars", main.map((r) => barRow(tr(cfg, "state_" + r.state), r.count, max, "b-case"))),
      side.length ? div("chips", side.map((r) => span("chip", tr(cfg, "state_" + r.state) + " " + fmt(r.count))), OPTIONAL) : null,
      // A wall's view holds code and category only (no id, no title): a row, not a button.
      overdueList.length ? div("overdue-list", overdueList.map((c) => window.cockpitCases && c.id !== undefined
        ? window.cockpitCases.caseButton(cfg, c)
        : div("overdue-row", "⚠ " + (c.code || c.id || "") + " " + caseTitle(cfg, c))), ROWS) : null,
      window.cockpitCases ? div("case-ranking-slot", window.cockpitCases.ranking(cfg, casesView, 3), OPTIONAL) : null,
    ];
  }
  function caseTitle(cfg, c) {
    // Without a title (the wall's view), the category's word; in English never Chinese.
    if (c.title_zh === undefined && c.title_en === undefined) {
      return cfg.t["case_category_" + c.category] || cfg.t["category_" + c.category] ||
        String(c.category || "").replace(/[._]/g, " ");
    }
    if (cfg.lang !== "en") return c.title_zh || "";
    if (c.title_en && !/[\u3400-\u9fff]/.test(c.title_en)) return c.title_en;
    return cfg.t["category_" + c.category] || String(c.category || "").replace(/[._]/g, " ");
  }
  function resolutionPage(cfg, res) {
    res = res || {};
    const pct = res.pct || {}, target = res.target_pct || {}, counts = res.counts || {};
    return [
      div("resolution", RESOLUTION.map((k) => div("res-row", [
        span("bar-name", tr(cfg, "level_" + k)),
        div("bar-track", [
          span("bar-fill b-res", "", { style: { width: (pct[k] || 0) + "%" } }),
          span("target-mark", "", { style: { left: (target[k] || 0) + "%" }, title: tr(cfg, "target") }),
        ]),
        span("bar-value", (pct[k] || 0) + "% (" + fmt(counts[k]) + ")"),
        span("res-target", tr(cfg, "target") + " " + (target[k] || 0) + "%"),
      ]))),
      res.unrecorded ? note(tr(cfg, "unrecorded") + ": " + fmt(res.unrecorded)) : null,
    ];
  }
  function trendsPage(cfg, trends) {
    trends = trends || {};
    const d7 = trends.d7 || {}, d30 = trends.d30 || {};
    return [
      div("trend-totals", [
        div("trend-box", [div("trend-title", tr(cfg, "last_7")),
          div("trend-line", tr(cfg, "reported") + " " + fmt(d7.reported)),
          div("trend-line", tr(cfg, "closed") + " " + fmt(d7.closed))]),
        div("trend-box", [div("trend-title", tr(cfg, "last_30")),
          div("trend-line", tr(cfg, "reported") + " " + fmt(d30.reported)),
          div("trend-line", tr(cfg, "closed") + " " + fmt(d30.closed))]),
      ]),
      div("spark-label", tr(cfg, "reported") + " · " + tr(cfg, "last_30")),
      spark(trends.reported || [], "s-reported"),
      div("spark-label", tr(cfg, "closed") + " · " + tr(cfg, "last_30")),
      spark(trends.closed || [], "s-closed"),
    ];
  }
  function governancePages(cfg, v, casesView) {
    return [
      { title: tr(cfg, "housing"), body: housingPage(cfg, v.housing || {}) },
      { title: tr(cfg, "fire"), body: firePage(cfg, v.fire) },
      { title: tr(cfg, "case_loop"), body: caseLoopPage(cfg, v.cases, casesView) },
      {
        title: tr(cfg, "resolution") + " · " + tr(cfg, "trends"),
        body: resolutionPage(cfg, v.resolution).concat(trendsPage(cfg, v.trends)),
      },
    ];
  }

  function enterpriseName(cfg, id, industry) {
    // Its trade and number (软件科技 #12): the view models carry no company's name.
    const trade = industry && cfg.t["industry_" + industry];
    const number = id === null || id === undefined ? "—" : id;
    return trade ? trade + " #" + number : tr(cfg, "enterprise_no").replace("{id}", number);
  }
  function sourceChips(cfg, sources) {
    return div("chips", Object.entries(sources || {}).map(([code, n]) =>
      span("chip", (cfg.t["complaint_" + code] || code) + " ×" + fmt(n))));
  }
  function smokePage(cfg, smoke) {
    smoke = smoke || {};
    const byGrade = smoke.by_grade || {};
    const rows = (smoke.watch || []).slice(0, cfg.mode === "tablet" ? 20 : 4);
    return [
      div("grade-row", LEVELS.map((l) => div("grade", [badge(cfg, l), span("grade-count", fmt(byGrade[l]))]))),
      rows.length ? div("watch-list", rows.map((r) => h("Button", {
        pick: { kind: "enterprise", id: r.enterprise_id }, className: "watch-row",
      }, [badge(cfg, r.level), span("watch-name", enterpriseName(cfg, r.enterprise_id, r.industry)),
        span("watch-signals", tr(cfg, "signals") + " " + fmt(r.signals)), sourceChips(cfg, r.sources)])), ROWS)
        : note(tr(cfg, "nothing_on_watch")),
      // With room to spare, say how an enterprise gets on the list (visitors ask).
      rows.length < 3 ? div("note", tr(cfg, "smoke_how"), OPTIONAL) : null,
    ];
  }
  function visitsPage(cfg, visits) {
    visits = visits || {};
    const triggers = visits.by_trigger || [];
    const max = Math.max(1, ...triggers.map((r) => r.count));
    const due = cfg.mode === "tablet" ? visits.due || [] : [];
    return [
      div("big-pair", [
        bigNumber(tr(cfg, "visits"), visits.total, visits.total > 0 ? "is-warn" : ""),
        bigNumber(tr(cfg, "enterprises"), visits.enterprises),
      ]),
      triggers.length ? div("bars", triggers.slice(0, cfg.mode === "tablet" ? 8 : 4).map((r) => barRow(bi(cfg, r), r.count, max, "b-visit")), ROWS)
        : note(tr(cfg, "no_visits")),
      due.length ? div("watch-list", due.map((r) => h("Button", {
        pick: { kind: "enterprise", id: r.enterprise_id }, className: "watch-row",
      }, [span("watch-name", enterpriseName(cfg, r.enterprise_id, r.industry)), span("watch-trigger", bi(cfg, triggers[r.trigger])),
        span("watch-since", when(cfg, r.since))]))) : null,
    ];
  }
  function economyPage(cfg, b) {
    b = b || {};
    const tablet = cfg.mode === "tablet";
    const all = b.top || [];
    // Vacancy and the tax trend show once a source provides them; until then the columns
    // would only hold dashes. A row without a figure (no unit count, no last year) shows "—".
    const trendKnown = all.some((r) => r.tax_change_pct !== undefined);
    const vacancyKnown = all.some((r) => r.vacancy_pct !== undefined);
    // The wall has room for five columns and, under the street's line, three buildings.
    const top = all.slice(0, tablet ? 20 : trendKnown || vacancyKnown ? 3 : 6);
    // Column keys name their (short) heads; see col_* in cockpit/i18n.py.
    const columns = ["building", "col_enterprises", "col_tax_wan"];
    if (trendKnown) columns.push("tax_trend");
    if (tablet || !(trendKnown || vacancyKnown)) columns.push("prepaid");
    if (vacancyKnown) columns.push("vacancy");
    // The arrow says the direction, so colour is never the only sign.
    const trend = (pct) => (pct === null || pct === undefined ? "—"
      : (pct > 0 ? "▲ " : pct < 0 ? "▼ " : "= ") + Math.abs(pct).toFixed(1) + "%");
    const cell = {
      building: (r) => (cfg.lang === "en" ? r.label_en : r.label) || "—", col_enterprises: (r) => fmt(r.enterprises),
      col_tax_wan: (r) => fmt(Math.round(r.tax_wan)), prepaid: (r) => fmt(r.prepaid),
      tax_trend: (r) => trend(r.tax_change_pct),
      vacancy: (r) => (r.vacancy_pct === undefined || r.vacancy_pct === null ? "—" : r.vacancy_pct + "%"),
    };
    const street = [];
    if (b.tax_change_pct !== null && b.tax_change_pct !== undefined) {
      street.push(tr(cfg, "tax_vs_last_year") + " " + trend(b.tax_change_pct));
    }
    if (b.units_known && b.vacancy_pct !== null && b.vacancy_pct !== undefined) {
      street.push(tr(cfg, "vacancy_known").replace("{pct}", b.vacancy_pct + "%").replace("{n}", fmt(b.units_known)));
    }
    return [
      div("big-trio", [
        bigNumber(tr(cfg, "office_buildings"), b.buildings),
        bigNumber(tr(cfg, "enterprises"), b.enterprises),
        bigNumber(tr(cfg, "tax_wan"), Math.round(b.tax_wan || 0)),
      ]),
      street.length ? div("trend-line", street.join(" · "), OPTIONAL) : null,
      h("Table", { className: "table" }, [
        h("Thead", {}, h("Tr", {}, columns.map((k) => h("Th", {}, tr(cfg, k))))),
        // A long address gives way (an ellipsis on the wall, whole in its title), never the numbers.
        h("Tbody", ROWS, top.map((r) => h("Tr", {}, columns.map((k, i) =>
          h("Td", i ? {} : { className: "cell-name", title: cell[k](r) }, cell[k](r)))))),
      ]),
    ];
  }
  function enterprisePages(cfg, v) {
    return [
      { title: tr(cfg, "smoke_watch"), body: smokePage(cfg, v.smoke) },
      { title: tr(cfg, "visits_due"), body: visitsPage(cfg, v.visits) },
      { title: tr(cfg, "building_economy"), body: economyPage(cfg, v.buildings) },
    ];
  }

  function eldersPage(cfg, elders) {
    elders = elders || {};
    const signals = Object.entries(elders.by_signal || {});
    const max = Math.max(1, ...signals.map(([, n]) => n));
    return [
      div("big-pair", [
        bigNumber(tr(cfg, "due_visit"), elders.due_visit, elders.due_visit > 0 ? "is-bad" : ""),
        bigNumber(tr(cfg, "living_alone"), elders.living_alone),
      ]),
      div("bars", signals.map(([code, n]) => barRow(tr(cfg, "signal_" + code), n, max, "b-visit")), ROWS),
      div("note", tr(cfg, "elders_privacy"), OPTIONAL),
    ];
  }
  function devicesPage(cfg, elevators, taxi) {
    elevators = elevators || {};
    taxi = taxi || {};
    const lift = [
      { cls: "d-alarm", value: elevators.trapped, label: tr(cfg, "elev_trapped") },
      { cls: "d-online", value: elevators.running, label: tr(cfg, "elev_running") },
      { cls: "d-offline", value: elevators.offline, label: tr(cfg, "dev_offline") },
      { cls: "d-maint", value: elevators.maintenance, label: tr(cfg, "dev_maintenance"), optional: true },
      { cls: "d-unknown", value: elevators.unknown, label: tr(cfg, "dev_unknown") },
    ];
    const kiosk = [
      { cls: "d-alarm", value: taxi.fault, label: tr(cfg, "kiosk_fault") },
      { cls: "d-online", value: taxi.online, label: tr(cfg, "dev_online") },
      { cls: "d-offline", value: taxi.offline, label: tr(cfg, "dev_offline") },
      { cls: "d-maint", value: taxi.maintenance, label: tr(cfg, "dev_maintenance"), optional: true },
      { cls: "d-unknown", value: taxi.unknown, label: tr(cfg, "dev_unknown") },
    ];
    return div("systems", [
      div("system" + (elevators.trapped > 0 ? " has-alarm" : ""), [
        div("system-head", [span("system-name", tr(cfg, "elevators")), span("system-total", fmt(elevators.total))]),
        stack(lift), legend(cfg, lift.filter((p) => p.value > 0 || p.cls !== "d-unknown")),
      ]),
      div("system", [
        div("system-head", [span("system-name", tr(cfg, "taxi")), span("system-total", fmt(taxi.total))]),
        stack(kiosk), legend(cfg, kiosk.filter((p) => p.value > 0 || p.cls !== "d-unknown")),
        div("trend-line", tr(cfg, "recent_calls") + " " + fmt(taxi.recent_calls), OPTIONAL),
      ]),
    ], ROWS);
  }
  // A long category name may wrap (tables keep numbers on one line): English names would
  // otherwise push the table past a wall panel's edge and the tablet's two columns of pages.
  const WRAP = { style: { whiteSpace: "normal" } };
  function requestsPage(cfg, req) {
    req = req || {};
    const tablet = cfg.mode === "tablet";
    const rows = (req.by_category || []).slice(0, tablet ? 12 : 4);
    // Mean revisit score (1-5) of the last 30 days; the tablet adds how many answered.
    const score = (value, n) => (value === null || value === undefined ? "—"
      : Number(value).toFixed(1) + (tablet && n ? " (" + fmt(n) + ")" : ""));
    const columns = ["category", "today", "closed_pct", "satisfaction"];
    const cell = {
      category: (r) => bi(cfg, r), today: (r) => fmt(r.total),
      closed_pct: (r) => (r.total ? r.closed_pct + "%" : "—"), satisfaction: (r) => score(r.satisfaction, r.answered),
    };
    return [
      div("big-trio", [
        bigNumber(tr(cfg, "requests_today"), req.total),
        div("big", [div("big-value", req.total ? req.closed_pct + "%" : "—"), div("big-label", tr(cfg, "closed_pct"))]),
        div("big", [div("big-value", score(req.satisfaction)), div("big-label", tr(cfg, "satisfaction"))]),
      ]),
      rows.length ? h("Table", { className: "table" }, [
        h("Thead", {}, h("Tr", {}, columns.map((k) => h("Th", {}, tr(cfg, k))))),
        h("Tbody", ROWS, rows.map((r) => h("Tr", {}, columns.map((k, i) => h("Td", i ? {} : WRAP, cell[k](r)))))),
      ]) : note(tr(cfg, "no_requests")),
      tablet ? note(tr(cfg, "satisfaction_note").replace("{n}", fmt(req.answered || 0))) : null,
    ];
  }
  function topicsPage(cfg, t) {
    // Hot topics (热点话题): categories only, never what anyone wrote; rising ones come first.
    t = t || {};
    const tablet = cfg.mode === "tablet";
    const rows = (t.topics || []).slice(0, tablet ? 8 : 4);
    const signed = (n) => (n > 0 ? "▲ +" + fmt(n) : n < 0 ? "▼ " + fmt(n) : "= 0");
    const change = (r) => (r.trend === "new" ? "▲ " + tr(cfg, "trend_new") : signed(r.change) +
      (tablet && r.change_pct !== null && r.change_pct !== undefined ? " (" + (r.change_pct > 0 ? "+" : "") + Math.round(r.change_pct) + "%)" : ""));
    const where = (r) => (!r.community ? "—" : (cfg.lang === "en"
      ? (r.community_en || "—").replace(/ Community$/, "") : r.community) + " " + r.community_pct + "%");
    const columns = ["topic", "col_last_7", "col_change", "topic_where"];
    const cell = { topic: (r) => bi(cfg, r), col_last_7: (r) => fmt(r.count), col_change: change, topic_where: where };
    return [
      div("trend-line", tr(cfg, "topics_week") + " " + fmt(t.total) + " · " + tr(cfg, "vs_last_week") + " " +
        signed((t.total || 0) - (t.previous || 0))),
      rows.length ? h("Table", { className: "table" }, [
        h("Thead", {}, h("Tr", {}, columns.map((k) => h("Th", {}, tr(cfg, k))))),
        h("Tbody", ROWS, rows.map((r) => h("Tr", {}, columns.map((k, i) => h("Td", i ? {} : WRAP, cell[k](r)))))),
      ]) : note(tr(cfg, "no_topics")),
      tablet ? note(tr(cfg, "topics_note")) : null,
    ];
  }
  function livelihoodPages(cfg, v) {
    return [
      { title: tr(cfg, "elders"), body: eldersPage(cfg, v.elders) },
      { title: tr(cfg, "elevators") + " · " + tr(cfg, "taxi"), body: devicesPage(cfg, v.elevators, v.taxi) },
      { title: tr(cfg, "requests"), body: requestsPage(cfg, v.requests) },
      { title: tr(cfg, "hot_topics"), body: topicsPage(cfg, v.topics) },
    ];
  }

  // -- cards in the shared overlay -------------------------------------------------------------
  function picked(data, kind) {
    // The pick store also carries buildings, devices and cases: those cards are drawn elsewhere.
    return data && data.kind === kind && data.id !== null && data.id !== undefined ? String(data.id) : null;
  }
  function field(name, value) {
    return div("card-field", [span("card-key", name), span("card-val", value)]);
  }

  function freshness(_n, heartbeat, view, cfg) {
    const now = Date.now();
    const memo = (window.__cockpitHeartbeat = window.__cockpitHeartbeat || {});
    if (heartbeat !== memo.heartbeat) {
      memo.heartbeat = heartbeat;
      memo.receivedAt = now;
    }
    if (memo.receivedAt === undefined) memo.receivedAt = now;
    const clock = window.cockpitDates.stamp(new Date(now), { seconds: true });
    const sources = (view && view.sources) || [];
    const lost = now - memo.receivedAt > cfg.lost_after_ms;
    recoverWhenBack(cfg, lost, now, memo);
    // A source's dot is green only while the data it describes is fresh: the server judges the
    // age on its own clock (heartbeat.stale); the browser adds only time since it last heard.
    const dots = function (dataStale) {
      return cfg.sources.map(function (name) {
        const s = sources.find((x) => x.name === name);
        const state = s ? s.state : "down";
        return "source source-" + (dataStale && state === "ok" ? "stale" : state);
      });
    };
    if (!heartbeat || heartbeat.age_s === null || heartbeat.age_s === undefined) {
      const waitingText = tr(cfg, "waiting");
      return [waitingText, lost ? tr(cfg, "stale").replace("{names}", tr(cfg, "source_live")) : waitingText,
        !lost, clock].concat(dots(true), ["freshness" + (lost ? " freshness-stale" : "")]);
    }
    const age = Math.round(heartbeat.age_s + (now - memo.receivedAt) / 1000);
    const limit = heartbeat.limit_s !== undefined && heartbeat.limit_s !== null ? heartbeat.limit_s : cfg.fresh_limit_s;
    const old = heartbeat.stale === true || (limit !== undefined && limit !== null && heartbeat.age_s > limit);
    const dataStale = old || lost || age > cfg.stale_after_s;
    const fresh = tr(cfg, dataStale ? "fresh_stale" : "fresh").replace("{age}", age);
    const bad = sources.filter((s) => s.state !== "ok").map((s) => cfg.t["source_" + s.name] || s.name);
    if (old && !lost) bad.unshift(tr(cfg, "source_worker"));
    if (lost) bad.unshift(tr(cfg, "source_live"));
    const stale = dataStale || bad.length > 0;
    const banner = tr(cfg, "stale").replace("{names}", bad.join(cfg.lang === "zh" ? "、" : ", ") || fresh);
    return [fresh, stale ? banner : "", !stale, clock].concat(dots(dataStale),
      ["freshness" + (dataStale ? " freshness-stale" : "")]);
  }

  function recoverWhenBack(cfg, lost, now, memo) {
    // Refreshes resume by themselves when the server answers again; if they have not after a
    // long outage (say the server came back with a new build), reload once it answers.
    if (!lost || now - memo.receivedAt < cfg.lost_after_ms * 4 || memo.probing) return;
    if (memo.lastProbe && now - memo.lastProbe < 10000) return;
    memo.probing = true;
    memo.lastProbe = now;
    fetch(cfg.health_url, { cache: "no-store" })
      .then((r) => {
        if (!r.ok) return;
        // Back: the refreshes resume by themselves within a refresh or two (no reload, so the
        // wall keeps its place); reload only when they still do not.
        const heard = memo.receivedAt;
        window.setTimeout(function () {
          if (memo.receivedAt === heard) window.location.reload();
        }, cfg.lost_after_ms);
      })
      .catch(() => {})
      .finally(() => { memo.probing = false; });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      const close = document.getElementById("card-close");
      if (close && document.querySelector("#card-overlay > *")) close.click();
    }
  });

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    cockpit: {
      fillKpis: function (overview, gov, ent, liv, cases, cfg) {
        const ok = (overview && overview.kpis) || {};
        const ck = (cases && cases.kpis) || {};
        // Open red alerts and cleared ones whose case is not closed (cockpit/panels.py).
        const red = gov && gov.alerts
          ? (gov.alerts.red_unsettled !== undefined ? gov.alerts.red_unsettled : gov.alerts.open_by_level.red)
          : null;
        const elders = liv && liv.elders ? liv.elders : {};
        const values = {
          cases_today: fmt(ck.cases_today !== undefined ? ck.cases_today : ok.cases_today),
          closure_rate: rate(ck.closure_rate),
          on_time_rate: rate(ck.on_time_rate),
          devices_online: fmt(ok.devices_online),
          open_red_alerts: fmt(red),
          enterprises_watch: fmt(ent && ent.smoke ? ent.smoke.total : null),
          elders_due: fmt(elders.due_visit),
        };
        const details = {
          devices_online: devicesDetail(cfg, ok),
          // 按期办结率 is on-time closure; on-time handling is told beside it, by its own name.
          on_time_rate: ck.on_time_handling !== undefined && ck.on_time_handling !== null
            ? tr(cfg, "kpi_on_time_handling") + " " + rate(ck.on_time_handling) : "",
        };
        const alerting = {
          open_red_alerts: red > 0,
          elders_due: elders.due_visit > 0,
          enterprises_watch: ent && ent.smoke && ent.smoke.by_grade && ent.smoke.by_grade.red > 0,
        };
        const names = Object.keys(values);
        return names.map((n) => values[n])
          .concat(names.map((n) => details[n] || ""))
          .concat(names.map((n) => "kpi" + (alerting[n] ? " kpi-alert" : "")));
      },
      // Each panel is drawn into its body; the output only says what happened (tests read it).
      fill_governance: function (view, n, cases, cfg) {
        return drawPanel("panel-governance-body",
          view ? pager(cfg, n, governancePages(cfg, view, cases)) : waiting(cfg), cfg);
      },
      fill_enterprise: function (view, n, cfg) {
        return drawPanel("panel-enterprise-body", view ? pager(cfg, n, enterprisePages(cfg, view)) : waiting(cfg), cfg);
      },
      fill_livelihood: function (view, n, cfg) {
        return drawPanel("panel-livelihood-body", view ? pager(cfg, n, livelihoodPages(cfg, view)) : waiting(cfg), cfg);
      },
      fillTicker: function (ticker, cfg) {
        const items = (ticker && ticker.items) || [];
        const box = document.getElementById("alert-ticker");
        if (!items.length) return mount(box, div("ticker-empty", tr(cfg, "no_alerts")));
        const newest = String(items[0].id);
        const memo = (window.__cockpitTicker = window.__cockpitTicker || {});
        // The track stays and only its items change, so the scroll goes on where it was...
        let track = box && box.querySelector(":scope > .ticker-track");
        if (box && !track) {
          track = document.createElement("div");
          track.className = "ticker-track";
          box.replaceChildren(track);
          box.__drawn = undefined;
        }
        if (!track) return "missing";
        track.style.setProperty("--ticker-duration", Math.max(20, items.length * cfg.ticker_s_per_item) + "s");
        if (memo.newest !== undefined && memo.newest !== newest) {
          // ...unless a new alert leads it: start the scroll again so it enters the screen at once.
          window.requestAnimationFrame(function () {
            track.getAnimations().forEach(function (a) { a.cancel(); a.play(); });
          });
        }
        memo.newest = newest;
        return mount(track, items.map((item) => h("Button", {
          pick: { kind: "alert", id: String(item.id) },
          className: "ticker-item level-" + item.level
            + (clearedCaseOpen(item) ? " is-cleared-case-open" : item.status === "resolved" ? " is-resolved" : ""),
          title: tr(cfg, "tap_for_detail"),
        }, [
          badge(cfg, item.level),
          span("ticker-title", (cfg.lang === "en" ? item.title_en : item.title_zh) || item.kind || "—"),
          // A group (cockpit/alert_groups.py) says how many and where, in the first two places.
          item.group ? span("ticker-count", "×" + fmt(item.count)) : null,
          item.group && (item.places || []).length ? span("ticker-places", groupPlaces(cfg, item, 2)) : null,
          span("ticker-time", when(cfg, item.ts, { dayless: true })),
          clearedCaseOpen(item)
            ? span("ticker-status ticker-case", "✓ " + tr(cfg, "status_cleared_case_open") + " (" + caseLine(cfg, item.case) + ")")
            : item.status === "resolved" ? span("ticker-status", "✓ " + tr(cfg, "status_resolved")) : null,
        ])));
      },
      freshness: freshness,
      alertCard: function (pick, ticker, cfg) {
        const id = picked(pick, "alert");
        const item = id && ((ticker && ticker.items) || []).find((a) => String(a.id) === id);
        if (!item) return noUpdate();
        if (item.group) {
          // Many alerts told once: each one stays on the case desk, acknowledged there.
          return div("card card-alert level-" + item.level, [
            h("H2", { className: "card-title" }, [badge(cfg, item.level), " ",
              ((cfg.lang === "en" ? item.title_en : item.title_zh) || "—") + " ×" + fmt(item.count)]),
            field(tr(cfg, "group_count"), fmt(item.count)),
            field(tr(cfg, "level"), tr(cfg, "level_" + item.level) + (item.escalated ? " · " + tr(cfg, "escalated") : "")),
            field(tr(cfg, "raised_at"), when(cfg, item.ts)),
            field(tr(cfg, "group_since"), when(cfg, item.since)),
            (item.places || []).length ? field(tr(cfg, "group_places"), groupPlaces(cfg, item, 10)) : null,
            h("H3", {}, tr(cfg, "reasons")),
            h("Ul", { className: "card-reasons" }, (item.reasons || []).map((r) =>
              h("Li", {}, cfg.lang === "en" ? r.text_en : r.text_zh))),
          ]);
        }
        const reasons = item.reasons || [];
        // Named by its kind and place (烟感 · 安图路3号 · 5楼), a building by its address: never by
        // a row number. The worker spells `where` (cockpit/places.py), masked for every screen.
        const where = item.where || null;
        const said = where ? (cfg.lang === "en" ? where.en : where.zh) || {} : {};
        const object = said.device || said.headline || tr(cfg, "object_" + item.object_type);
        const status = clearedCaseOpen(item) ? "status_cleared_case_open"
          : item.status === "resolved" ? "status_resolved"
            : item.acknowledged_at ? "status_acknowledged" : "status_new";
        return div("card card-alert level-" + item.level, [
          h("H2", { className: "card-title" }, [badge(cfg, item.level), " ",
            (cfg.lang === "en" ? item.title_en : item.title_zh) || "—"]),
          field(tr(cfg, "level"), tr(cfg, "level_" + item.level) + (item.escalated ? " · " + tr(cfg, "escalated") : "")),
          field(tr(cfg, "object"), object),
          window.cockpitCases ? window.cockpitCases.whereBlock(cfg, where) : null,
          field(tr(cfg, "raised_at"), when(cfg, item.ts)),
          field(tr(cfg, "acknowledged_at"), item.acknowledged_at ? when(cfg, item.acknowledged_at) : tr(cfg, "not_acknowledged")),
          field(tr(cfg, "status"), tr(cfg, status)),
          item.case ? field(tr(cfg, "alert_case"), caseLine(cfg, item.case)) : null,
          h("H3", {}, tr(cfg, "reasons")),
          reasons.length ? h("Ul", { className: "card-reasons" }, reasons.map((r) =>
            h("Li", {}, cfg.lang === "en" ? r.text_en || r.en : r.text_zh || r.zh))) : note(tr(cfg, "no_reasons")),
          // Acknowledging registers the alert's case; the case card (assets/cases.js) takes over.
          // Only a role that may act sees the button; the server checks the tap again.
          // A cleared alert whose case nobody registered yet: acknowledging registers the case.
          cfg.mode === "tablet" && cfg.can && cfg.can.act && window.cockpitCases
            && (item.status !== "resolved" || (item.case && item.case.state === "reported"))
            ? window.cockpitCases.acknowledgeButton(cfg, item) : null,
        ]);
      },
      enterpriseCard: function (pick, view, cfg) {
        const enterprise = picked(pick, "enterprise");
        if (!enterprise || !view) return noUpdate();
        const smoke = ((view.smoke || {}).watch || []).find((r) => String(r.enterprise_id) === enterprise);
        const visits = view.visits || {};
        const due = (visits.due || []).filter((r) => String(r.enterprise_id) === enterprise);
        const lastVisit = (smoke || due[0] || {}).last_visit;
        return div("card card-enterprise", [
          h("H2", { className: "card-title" }, [smoke ? badge(cfg, smoke.level) : null, " ", enterpriseName(cfg, enterprise, (smoke || due[0] || {}).industry)]),
          h("H3", {}, tr(cfg, "smoke_watch")),
          smoke ? div("", [
            field(tr(cfg, "signals"), fmt(smoke.signals)),
            field(tr(cfg, "since"), when(cfg, smoke.since)),
            sourceChips(cfg, smoke.sources),
          ]) : note(tr(cfg, "not_on_watch")),
          h("H3", {}, tr(cfg, "visits_due")),
          due.length ? h("Ul", { className: "card-reasons" }, due.map((r) =>
            h("Li", {}, bi(cfg, (visits.by_trigger || [])[r.trigger]) + " · " + when(cfg, r.since))))
            : note(tr(cfg, "no_visits")),
          field(tr(cfg, "last_visit"), lastVisit ? lastVisit.slice(0, 10) : tr(cfg, "never_visited")),
        ]);
      },
      closeCard: function () {
        return [];
      },
    },
  });
})();
