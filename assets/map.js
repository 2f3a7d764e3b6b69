// Live map: dash-leaflet draws each static layer once; this file keeps a handle on every Leaflet
// layer and restyles it in place when a view model changes. No refresh ever touches GeoJSON
// `data`, `url` or `hideout` (that would rebuild thousands of layers).
(function () {
  "use strict";
  const RISK = { red: "#e53935", yellow: "#fdd835", green: "#43a047" };
  const LEVEL = { red: "#c62828", orange: "#f57c00", yellow: "#fdd835", blue: "#1565c0" };
  const LEVEL_RANK = { red: 4, orange: 3, yellow: 2, blue: 1 };
  const CASE_STAGE = {
    reported: "new", registered: "new",
    dispatched: "work", handling: "work", rework: "work", supervised: "work", escalated: "work",
    parked: "work", handled: "done", verified: "done",
  };
  const CASE_COLOUR = { new: "#4fc3f7", work: "#ffb74d", done: "#81c784" };
  // Stacking: fills at the bottom, outlines above them, then one shared canvas (overlayPane) for
  // everything clickable, because a canvas in a higher pane would swallow the clicks below it.
  const PANES = [["cm-ground", 300], ["cm-basemap", 350]];
  const OVERLAY_ORDER = ["map-buildings", "map-enterprises", "map-devices", "cases"];
  const SWITCH_TO_GROUP = {
    buildings: "map-buildings", devices: "map-devices", enterprises: "map-enterprises",
    alerts: "alerts", cases: "cases",
  };

  function fresh() {
    return {
      map: null,
      buildings: new Map(), // building id -> L.Polygon
      devices: new Map(), // device id -> L.CircleMarker
      deviceProps: new Map(), // device id -> feature properties (for the device card)
      groups: {}, // group id -> Leaflet layer group
      alertMarkers: new Map(), // alert id -> {marker, level}
      caseMarkers: new Map(), // case id -> {marker, key}
      colours: {}, // building id -> risk colour, the latest map_colours
      alarm: new Set(),
      offline: new Set(),
      visible: null, // the switch's value, once known
      views: {}, // the latest alerts and cases views, redrawn when a new map appears
    };
  }
  const reg = fresh();

  function wallScale(hideout) {
    return hideout && hideout.interactive === false ? 1.4 : 1.0;
  }

  // -- the map appears -------------------------------------------------------------------------
  function attach(map) {
    if (!map || reg.map === map) return;
    const keep = { colours: reg.colours, alarm: reg.alarm, offline: reg.offline,
      visible: reg.visible, views: reg.views };
    Object.assign(reg, fresh(), keep);
    reg.map = map;
    PANES.forEach(function (pane) {
      if (!map.getPane(pane[0])) map.createPane(pane[0]).style.zIndex = pane[1];
    });
    reg.groups.alerts = L.layerGroup().addTo(map);
    reg.groups.cases = L.layerGroup().addTo(map);
    if (reg.views.alerts) drawAlerts(reg.views.alerts);
    if (reg.views.cases) drawCases(reg.views.cases);
    applyVisibility();
  }

  // -- static layers: styles and handles ------------------------------------------------------
  function groundStyle(feature, ctx) {
    attach(ctx.map);
    const k = feature.properties.k;
    const base = { pane: "cm-ground", interactive: false };
    if (k === "water") return Object.assign(base, { stroke: false, fillColor: "#103a5c", fillOpacity: 1 });
    if (k === "block") return Object.assign(base, { color: "#1f2e45", weight: 1, fillColor: "#142033", fillOpacity: 1 });
    if (k === "road_main") return Object.assign(base, { color: "#3d5273", weight: 6, opacity: 1 });
    if (k === "road_minor") return Object.assign(base, { color: "#2c3e5a", weight: 2.5, opacity: 1 });
    return Object.assign(base, { color: "#2c3e5a", weight: 1, fillOpacity: 0.2 });
  }
  function basemapStyle(feature, ctx) {
    attach(ctx.map);
    const k = feature.properties.k;
    const base = { pane: "cm-basemap", interactive: false, fill: false };
    if (k === "boundary") return Object.assign(base, { color: "#7fb3ff", weight: 4, opacity: 0.95 });
    if (k === "community") return Object.assign(base, { color: "#6b88b5", weight: 2, opacity: 0.8 });
    return Object.assign(base, { color: "#4b6287", weight: 1, opacity: 0.7, dashArray: "4 4" });
  }
  function riskStyle(colour, interactive) {
    // Colour is not the only signal: red is drawn with a solid heavy outline, yellow dashed.
    const fill = RISK[colour] || "#4b5d78";
    return {
      fillColor: fill, fillOpacity: colour ? 0.8 : 0.45,
      color: colour === "red" ? "#ffffff" : colour === "yellow" ? "#fff3b0" : "#0b1320",
      weight: colour === "red" ? 2.5 : colour === "yellow" ? 1.5 : 0.8,
      dashArray: colour === "yellow" ? "3 3" : null,
      interactive: interactive,
    };
  }
  function buildingStyle(feature, ctx) {
    attach(ctx.map);
    const interactive = !(ctx.hideout && ctx.hideout.interactive === false);
    return riskStyle(reg.colours[feature.properties.id], interactive);
  }
  function onEachBuilding(feature, layer, ctx) {
    attach(ctx.map);
    reg.buildings.set(feature.properties.id, layer);
  }
  function deviceStyle(id, scale) {
    if (reg.alarm.has(id)) {
      return { radius: 6.5 * scale, color: "#ffffff", weight: 2, fillColor: "#ff3b30", fillOpacity: 1 };
    }
    if (reg.offline.has(id)) {
      // Hollow: offline reads as an empty ring, not just as grey.
      return { radius: 3.5 * scale, color: "#8a9bb0", weight: 1.5, fillOpacity: 0 };
    }
    // Online is the quiet normal: a small dot that leaves the building colours readable.
    return { radius: 1.4 * scale, stroke: false, fillColor: "#2fb39a", fillOpacity: 0.6 };
  }
  function devicePoint(feature, latlng, ctx) {
    attach(ctx.map);
    const id = feature.properties.id;
    const scale = wallScale(ctx.hideout);
    const marker = L.circleMarker(latlng, Object.assign(
      { interactive: scale === 1.0, bubblingMouseEvents: false }, deviceStyle(id, scale)));
    marker._cmScale = scale;
    reg.devices.set(id, marker);
    reg.deviceProps.set(id, feature.properties);
    return marker;
  }
  function enterprisePoint(feature, latlng, ctx) {
    attach(ctx.map);
    const n = feature.properties.n || 1;
    return L.circleMarker(latlng, {
      radius: Math.min(14, 3 + Math.sqrt(n)), color: "#e1d0ff", weight: 1,
      fillColor: "#9c6ade", fillOpacity: 0.7, interactive: false,
    });
  }
  function onLayerAdd(e, props) {
    const id = props && props.id;
    if (!id || reg.groups[id] === e.target) return;
    attach(e.target._map || reg.map);
    reg.groups[id] = e.target;
    if (id === "map-buildings") {
      // Buildings load in their own time; keep them under the points in the shared canvas.
      Promise.resolve().then(function () { e.target.eachLayer(function (l) { l.bringToBack(); }); });
    }
    applyVisibility();
  }

  // -- layer switch ----------------------------------------------------------------------------
  function applyVisibility() {
    const map = reg.map;
    if (!map || !reg.visible) return;
    const wanted = new Set(reg.visible.map(function (v) { return SWITCH_TO_GROUP[v]; }));
    // Re-adding in a fixed order keeps points drawn over buildings in the shared canvas.
    let reorder = false;
    OVERLAY_ORDER.forEach(function (id) {
      const group = reg.groups[id];
      if (group && wanted.has(id) && !map.hasLayer(group)) reorder = true;
    });
    OVERLAY_ORDER.concat(["alerts"]).forEach(function (id) {
      const group = reg.groups[id];
      if (!group) return;
      if (!wanted.has(id) || (reorder && OVERLAY_ORDER.indexOf(id) >= 0)) map.removeLayer(group);
    });
    OVERLAY_ORDER.concat(["alerts"]).forEach(function (id) {
      const group = reg.groups[id];
      if (group && wanted.has(id) && !map.hasLayer(group)) map.addLayer(group);
    });
  }

  // -- live overlays ---------------------------------------------------------------------------
  function letter(level) {
    const labels = (window.__cockpitMapLabels || {});
    return labels["map_letter_" + level] || level.charAt(0).toUpperCase();
  }
  function alertIcon(level) {
    const size = reg.map && reg.map.dragging && !reg.map.dragging.enabled() ? 40 : 30;
    return L.divIcon({
      className: "cm-alert cm-alert-" + level,
      html: '<span class="cm-alert-ring"></span><b class="cm-alert-letter">' + letter(level) + "</b>",
      iconSize: [size, size],
    });
  }
  function pick(kind, id, extra) {
    window.cockpitDraw.pick(Object.assign({ kind: kind, id: id }, extra || {}));
  }
  function drawAlerts(view) {
    const group = reg.groups.alerts;
    if (!group) return;
    const seen = new Set();
    (view.items || []).forEach(function (a) {
      seen.add(a.id);
      const held = reg.alertMarkers.get(a.id);
      const title = (window.__cockpitMapLang === "en" ? a.title_en : a.title_zh) || "";
      // A folded marker's title carries its count ("×30"): a new count redraws it.
      if (held && held.title !== title) {
        group.removeLayer(held.marker);
        reg.alertMarkers.delete(a.id);
      } else if (held && held.level === a.level) return;
      else if (held) {
        held.marker.setIcon(alertIcon(a.level));
        held.level = a.level;
        return;
      }
      const marker = L.marker([a.lat, a.lon], {
        icon: alertIcon(a.level), title: title, keyboard: false,
        zIndexOffset: 100 * (LEVEL_RANK[a.level] || 0), riseOnHover: true,
      });
      marker.on("click", function () {
        if (a.device_id && reg.deviceProps.has(a.device_id)) pick("device", a.device_id, { props: reg.deviceProps.get(a.device_id) });
        else if (a.building_id) pick("building", a.building_id);
      });
      reg.alertMarkers.set(a.id, { marker: marker, level: a.level, title: title });
      group.addLayer(marker);
    });
    reg.alertMarkers.forEach(function (held, id) {
      if (!seen.has(id)) {
        group.removeLayer(held.marker);
        reg.alertMarkers.delete(id);
      }
    });
  }
  function caseStyle(c) {
    const stage = CASE_STAGE[c.state] || "work";
    const colour = CASE_COLOUR[stage];
    // Each stage has its own mark besides its colour: new ringed white, done hollow, overdue
    // larger with a red dashed ring; the legend says the words.
    if (c.overdue) {
      return { radius: 7, color: "#ff6b6b", weight: 3, dashArray: "4 3", fillColor: colour, fillOpacity: 0.9 };
    }
    if (stage === "new") return { radius: 5, color: "#ffffff", weight: 1.5, fillColor: colour, fillOpacity: 0.95, dashArray: null };
    if (stage === "done") return { radius: 5, color: colour, weight: 2.5, fillOpacity: 0, dashArray: null };
    return { radius: 5, stroke: false, fillColor: colour, fillOpacity: 0.95, dashArray: null };
  }
  function drawCases(view) {
    const group = reg.groups.cases;
    if (!group) return;
    const seen = new Set();
    (view.items || []).forEach(function (c) {
      seen.add(c.id);
      const key = c.state + (c.overdue ? "!" : "");
      const held = reg.caseMarkers.get(c.id);
      if (held) {
        if (held.key !== key) {
          held.marker.setStyle(caseStyle(c));
          held.key = key;
        }
        return;
      }
      const marker = L.circleMarker([c.lat, c.lon], caseStyle(c));
      marker.on("click", function () { pick("case", c.id); });
      reg.caseMarkers.set(c.id, { marker: marker, key: key });
      group.addLayer(marker);
    });
    reg.caseMarkers.forEach(function (held, id) {
      if (!seen.has(id)) {
        group.removeLayer(held.marker);
        reg.caseMarkers.delete(id);
      }
    });
  }

  // -- clientside callbacks (one per refreshed view; none returns anything) --------------------
  function remember(config) {
    if (!config) return;
    window.__cockpitMapLabels = config.labels || {};
    window.__cockpitMapLang = config.lang;
  }
  function recolour(view) {
    if (!view || !view.colours) return "none";
    const next = view.colours;
    const interactive = !reg.map || reg.map.dragging.enabled();
    let restyled = 0;
    Object.keys(next).forEach(function (key) {
      if (reg.colours[key] === next[key]) return;
      reg.colours[key] = next[key];
      const layer = reg.buildings.get(Number(key));
      if (layer) layer.setStyle(riskStyle(next[key], interactive));
      restyled += 1;
    });
    return view.version + " " + restyled;
  }
  function restate(view) {
    if (!view) return "none";
    maybeReload();
    const alarm = new Set(view.alarm || []);
    const offline = new Set(view.offline || []);
    const changed = new Set();
    [reg.alarm, alarm, reg.offline, offline].forEach(function (set) {
      set.forEach(function (id) { changed.add(id); });
    });
    const before = { alarm: reg.alarm, offline: reg.offline };
    reg.alarm = alarm;
    reg.offline = offline;
    changed.forEach(function (id) {
      if (before.alarm.has(id) === alarm.has(id) && before.offline.has(id) === offline.has(id)) return;
      const marker = reg.devices.get(id);
      if (marker) marker.setStyle(deviceStyle(id, marker._cmScale || 1));
    });
    return view.version + " " + alarm.size + " " + offline.size;
  }
  function maybeReload() {
    // The page was served before the worker's first map: reload once it is there (at most every 30 s).
    if (!document.querySelector("#street-map.street-map-waiting")) return;
    const last = Number(window.sessionStorage.getItem("cockpitMapReload") || 0);
    if (Date.now() - last < 30000) return;
    window.sessionStorage.setItem("cockpitMapReload", String(Date.now()));
    window.location.reload();
  }

  window.cockpitMap = {
    groundStyle: groundStyle,
    basemapStyle: basemapStyle,
    buildingStyle: buildingStyle,
    onEachBuilding: onEachBuilding,
    devicePoint: devicePoint,
    enterprisePoint: enterprisePoint,
    onLayerAdd: onLayerAdd,
    registry: reg, // for tests and for people debugging a wall from the console
  };
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    cockpitMap: {
      // Each returns a short report for #street-map-status (tests and people read it there).
      colours: function (view, config) {
        remember(config);
        return recolour(view);
      },
      devices: function (view) {
        return restate(view);
      },
      alerts: function (view, config) {
        remember(config);
        if (!view) return "none";
        reg.views.alerts = view;
        drawAlerts(view);
        return (view.items || []).map(function (a) { return a.id; }).join(" ");
      },
      cases: function (view) {
        if (!view) return "none";
        reg.views.cases = view;
        drawCases(view);
        return String((view.items || []).length);
      },
      layers: function (value) {
        reg.visible = value || [];
        applyVisibility();
        return reg.visible.join(" ");
      },
    },
  });
})();
