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
  // Names sit above the canvases and under the alert markers, and never take a tap.
  // Where WebGL draws the buildings (assets/buildings_gl.js), its canvas sits just under that one.
  const PANES = [["cm-ground", 300], ["cm-basemap", 350], ["cm-buildings", 390], ["cm-labels", 450]];
  const NO_DRAW = function () {}; // a building's canvas draw while WebGL draws it
  const OVERLAY_ORDER = ["map-buildings", "map-enterprises", "device-groups", "device-dots", "cases"];
  const OTHER_SWITCHED = ["alerts", "map-grids"];
  const SWITCH_TO_GROUP = {
    buildings: ["map-buildings"], devices: ["device-groups", "device-dots"],
    enterprises: ["map-enterprises"], alerts: ["alerts"], cases: ["cases"], grids: ["map-grids"],
  };
  // Closer than this every device is its own dot; farther out (the wall) one mark per building
  // says how its devices are, so the buildings' colours stay readable; an alarm also has its
  // alert marker. Zoom 17 is about 1 m a pixel: a building is some 20 px across.
  const DETAIL_ZOOM = 17;
  const MAX_CELLS = 64; // cells asked for at once (a 4K view at zoom 17 touches about 40)
  const KEEP_CELLS = 100; // cells held in all (~1,500 dots each at the densest): a few views' worth
  // When each kind of name shows, in zoom levels from the street's fitted zoom (the wall's
  // default): communities at it and wider, main roads from just below it, minor roads closer.
  const LABEL_ZOOMS = {
    community: [-Infinity, 1.5], grid: [-Infinity, Infinity],
    road_main: [-0.5, Infinity], road_minor: [1, Infinity],
  };
  const LABEL_GAP = 6; // px kept clear around every name

  function fresh() {
    return {
      map: null,
      buildings: new Map(), // building id -> L.Polygon
      gl: null, // the WebGL building layer, or null where the canvas draws them
      glLost: false, // true once WebGL was lost and the canvas took the buildings over
      glBuild: null, // the pending (re)build of the WebGL buffers
      devices: new Map(), // device id -> L.CircleMarker
      deviceProps: new Map(), // device id -> feature properties (for the device card)
      deviceGroups: new Map(), // building ("b12") or place key -> {marker, ids}
      groupOf: new Map(), // device id -> its key in deviceGroups
      cellSpec: null, // {url, size} of the device cells (the server's CELL_DEGREES)
      cells: new Map(), // "column/row" -> {ids} (null while loading), oldest asked first
      scale: 1.0,
      detail: null, // true while zoomed in: the dots of the cells in view are drawn
      labels: [], // {kind, text, code, angle, metres, latlng, marker}, in the server's rank order
      labelBounds: null,
      pending: {},
      timings: {}, // ms the last device grouping and label placing took
      groups: {}, // group id -> Leaflet layer group
      alertMarkers: new Map(), // alert id -> {marker, level}
      caseMarkers: new Map(), // case id -> {marker, key}
      colours: {}, // building id -> risk colour, the latest map_colours
      alarm: new Set(),
      offline: new Set(),
      maintenance: new Set(),
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
      maintenance: reg.maintenance, visible: reg.visible, views: reg.views };
    Object.assign(reg, fresh(), keep);
    reg.map = map;
    // The corner names the tile source alone (COCKPIT_TILE_ATTRIBUTION), not the map library.
    if (map.attributionControl) map.attributionControl.setPrefix(false);
    PANES.forEach(function (pane) {
      if (!map.getPane(pane[0])) map.createPane(pane[0]).style.zIndex = pane[1];
    });
    reg.gl = window.cockpitBuildingsGL ? window.cockpitBuildingsGL.create(map, "cm-buildings", riskStyle) : null;
    if (reg.gl) reg.gl.onLost = drawBuildingsOnCanvas;
    reg.groups.alerts = L.layerGroup().addTo(map);
    reg.groups.cases = L.layerGroup().addTo(map);
    reg.groups["device-groups"] = L.featureGroup();
    reg.groups["device-dots"] = L.featureGroup();
    reg.groups.labels = L.layerGroup().addTo(map);
    map.on("zoomend", function () { placeDevices(false); placeLabels(); });
    map.on("moveend resize", placeLabels);
    map.on("moveend", loadCells);
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
    if (k === "green") return Object.assign(base, { stroke: false, fillColor: "#13301f", fillOpacity: 1 });
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
  function gridStyle(feature, ctx) {
    attach(ctx.map);
    return { pane: "cm-basemap", interactive: false, fill: false, color: "#9ab8e6", weight: 2,
      opacity: 0.9, dashArray: "6 4" };
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
    if (!reg.gl) return;
    // Leaflet keeps the polygon for taps and bounds; WebGL draws it, built once all have come.
    layer._updatePath = NO_DRAW;
    if (!reg.glBuild) reg.glBuild = window.setTimeout(buildBuildingsGL, 0);
  }
  function buildBuildingsGL() {
    reg.glBuild = null;
    if (!reg.gl) return;
    const group = reg.groups["map-buildings"];
    const held = new Map();
    reg.buildings.forEach(function (layer, id) {
      if (!group || group.hasLayer(layer)) held.set(id, layer);
    });
    reg.gl.build(held, function (id) { return reg.colours[id]; });
  }
  function mapTakesTaps() {
    // The wall's map never pans and its buildings take no taps; a tablet's do.
    return !reg.map || reg.map.dragging.enabled();
  }
  function drawBuildingsOnCanvas() {
    // WebGL was lost (a wall's GPU reset): the canvas draws the buildings from now on.
    const gl = reg.gl;
    reg.gl = null;
    reg.glLost = true;
    if (gl && reg.map) reg.map.removeLayer(gl);
    const interactive = mapTakesTaps();
    reg.buildings.forEach(function (layer, id) {
      delete layer._updatePath;
      layer.setStyle(riskStyle(reg.colours[id], interactive));
    });
  }
  function deviceStyle(id, scale) {
    if (reg.alarm.has(id)) {
      return { radius: 6.5 * scale, color: "#ffffff", weight: 2, dashArray: null, fillColor: "#ff3b30", fillOpacity: 1 };
    }
    if (reg.offline.has(id)) {
      // Hollow: offline reads as an empty ring, not just as grey.
      return { radius: 3.5 * scale, color: "#8a9bb0", weight: 1.5, dashArray: null, fillOpacity: 0 };
    }
    if (reg.maintenance.has(id)) {
      // Out for service: a dashed ring, neither the quiet dot of online nor offline's empty one.
      return { radius: 3.5 * scale, color: "#7e8fd6", weight: 1.5, dashArray: "2 2", fillOpacity: 0 };
    }
    // Online is the quiet normal: a small dot that leaves the building colours readable.
    return { radius: 1.4 * scale, stroke: false, dashArray: null, fillColor: "#2fb39a", fillOpacity: 0.6 };
  }
  function devicePoint(feature, latlng, ctx) {
    // One feature per building (or ~100 m square outside any): its devices' ids at their mean
    // position. The GeoJSON layer keeps an empty placeholder; the marks live in this file's own
    // group, and the dots of the cells in view are fetched when zoomed in (loadCells).
    attach(ctx.map);
    const props = feature.properties;
    const scale = wallScale(ctx.hideout);
    const key = props.b !== null && props.b !== undefined ? "b" + props.b : "p" + latlng.lat + ":" + latlng.lng;
    const entry = { ids: props.ids || [], scale: scale, marker: null };
    entry.marker = L.circleMarker(latlng, Object.assign({ interactive: false }, groupStyle(entry)));
    reg.deviceGroups.set(key, entry);
    entry.ids.forEach(function (id) { reg.groupOf.set(id, key); });
    reg.groups["device-groups"].addLayer(entry.marker);
    reg.cellSpec = (ctx.hideout && ctx.hideout.cells) || null;
    reg.scale = scale;
    later("devices", function () { placeDevices(true); });
    return L.layerGroup();
  }
  function later(what, fn) {
    // pointToLayer runs once per feature in one go: act once they are all in.
    if (reg.pending[what]) return;
    reg.pending[what] = true;
    setTimeout(function () { reg.pending[what] = false; fn(); }, 0);
  }
  function timed(what, fn) {
    // What the last cell drawing and label placing cost, for `cockpit bench` probes and people.
    const started = performance.now();
    fn();
    reg.timings[what] = Math.round(performance.now() - started);
  }
  function cellsInView() {
    // The cells the view touches, and a ring around it so a short pan finds its dots there.
    const spec = reg.cellSpec;
    const b = reg.map.getBounds();
    const out = [];
    const x0 = Math.floor(b.getWest() / spec.size) - 1, x1 = Math.floor(b.getEast() / spec.size) + 1;
    const y0 = Math.floor(b.getSouth() / spec.size) - 1, y1 = Math.floor(b.getNorth() / spec.size) + 1;
    for (let x = x0; x <= x1 && out.length < MAX_CELLS; x += 1) {
      for (let y = y0; y <= y1 && out.length < MAX_CELLS; y += 1) out.push(x + "/" + y);
    }
    return out;
  }
  function loadCells() {
    if (!reg.map || !reg.cellSpec || !reg.detail) return;
    const wanted = cellsInView();
    wanted.forEach(function (cell) {
      if (reg.cells.has(cell)) {
        const held = reg.cells.get(cell);
        reg.cells.delete(cell); // seen again: the newest, the last to be dropped
        reg.cells.set(cell, held);
        return;
      }
      reg.cells.set(cell, null);
      fetch(reg.cellSpec.url + cell + ".json", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (data) {
          if (!reg.cells.has(cell)) return; // dropped while it was on its way
          timed("devices", function () { reg.cells.set(cell, { ids: drawDots(data.features || []) }); });
        })
        .catch(function () { reg.cells.delete(cell); }); // asked again at the next move
    });
    dropCells(wanted.length);
  }
  function dropCells(keep) {
    // A tablet panning a whole district would end up holding every device: keep the cells seen
    // last, a few views' worth, and let the others go (they come back if panned to again).
    const dots = reg.groups["device-dots"];
    const limit = Math.max(keep, window.cockpitMap.keepCells || KEEP_CELLS);
    for (const [cell, held] of reg.cells) {
      if (reg.cells.size <= limit) break;
      if (!held) continue;
      held.ids.forEach(function (id) {
        const marker = reg.devices.get(id);
        if (marker) dots.removeLayer(marker);
        reg.devices.delete(id);
        reg.deviceProps.delete(id);
      });
      reg.cells.delete(cell);
    }
  }
  function drawDots(features) {
    // Return the ids drawn, so the cell can take its dots away when it is dropped.
    const scale = reg.scale;
    const dots = reg.groups["device-dots"];
    const drawn = [];
    features.forEach(function (feature) {
      const id = feature.properties.id;
      if (reg.devices.has(id)) return;
      drawn.push(id);
      const c = feature.geometry.coordinates;
      const marker = L.circleMarker([c[1], c[0]], Object.assign(
        { interactive: scale === 1.0, bubblingMouseEvents: false }, deviceStyle(id, scale)));
      marker._cmScale = scale;
      if (scale === 1.0) {
        marker.on("click", function () { pick("device", id, { props: feature.properties }); });
      }
      reg.devices.set(id, marker);
      reg.deviceProps.set(id, feature.properties);
      if (reg.detail) dots.addLayer(marker);
    });
    return drawn;
  }
  function groupStyle(entry) {
    // One mark per building: a small dot when all is well, a grey ring when some are silent,
    // a red ring when one is in alarm (its alert marker sits on top as well).
    let alarm = 0;
    let silent = 0;
    entry.ids.forEach(function (id) {
      if (reg.alarm.has(id)) alarm += 1;
      else if (reg.offline.has(id)) silent += 1;
    });
    const s = entry.scale;
    if (alarm) return { radius: 5.5 * s, color: "#ff3b30", weight: 2.5, dashArray: null, fillColor: "#ff3b30", fillOpacity: 0.25 };
    if (silent) return { radius: 3 * s, color: "#c9d4e3", weight: 1.5, dashArray: null, fillColor: "#2fb39a", fillOpacity: 0.5 };
    return { radius: 1.8 * s, stroke: false, dashArray: null, fillColor: "#2fb39a", fillOpacity: 0.9 };
  }
  function placeDevices(force) {
    const map = reg.map;
    if (!map || !reg.deviceGroups.size) return;
    const detail = map.getZoom() >= DETAIL_ZOOM;
    if (detail !== reg.detail || force) {
      reg.detail = detail;
      const dots = reg.groups["device-dots"];
      dots.clearLayers();
      if (detail) reg.devices.forEach(function (marker) { dots.addLayer(marker); });
      setGroupShown(reg.groups["device-groups"], !detail);
    }
    loadCells();
  }
  function setGroupShown(group, shown) {
    // Kept off the map while zoomed in; the layer switch decides the rest.
    group._cmHidden = !shown;
    applyVisibility();
  }
  function restyleDevice(id) {
    const marker = reg.devices.get(id);
    if (marker) marker.setStyle(deviceStyle(id, marker._cmScale || 1));
    const entry = reg.deviceGroups.get(reg.groupOf.get(id));
    if (entry) entry.marker.setStyle(groupStyle(entry));
  }

  // -- names: roads, communities, grids ---------------------------------------------------------
  function labelPoint(feature, latlng, ctx) {
    attach(ctx.map);
    const p = feature.properties;
    const hideout = ctx.hideout || {};
    if (hideout.bounds) reg.labelBounds = hideout.bounds;
    reg.labels.push({
      kind: p.k, text: (hideout.lang === "en" ? p.en : p.zh) || p.zh || "", code: p.c,
      angle: p.a || 0, metres: p.m || 0, latlng: latlng, lang: hideout.lang, marker: null,
    });
    later("labels", function () { timed("labels", placeLabels); });
    return L.layerGroup();
  }
  function labelMarker(spec) {
    if (spec.marker) return spec.marker;
    const road = spec.kind === "road_main" || spec.kind === "road_minor";
    // Chinese names of upright roads are set upright, one character under the other; a Latin
    // name (an imported street's, or the English page's pinyin) turns with its road instead.
    const upright = road && /[\u3400-\u9fff]/.test(spec.text) && Math.abs(spec.angle) > 60;
    const text = document.createElement("span");
    text.className = "map-label-text";
    text.style.transform = "translate(-50%, -50%)" + (upright ? "" : " rotate(" + spec.angle + "deg)");
    text.appendChild(document.createTextNode(spec.text));
    if (spec.code) {
      const code = document.createElement("small");
      code.className = "map-label-code";
      code.textContent = spec.code;
      text.appendChild(code);
    }
    const kind = road ? "road map-label-" + spec.kind.replace("_", "-") : spec.kind;
    spec.marker = L.marker(spec.latlng, {
      icon: L.divIcon({ className: "map-label map-label-" + kind + (upright ? " map-label-upright" : ""),
        html: text, iconSize: null }),
      pane: "cm-labels", interactive: false, keyboard: false,
    });
    return spec.marker;
  }
  function shown(name) {
    return (reg.visible || []).indexOf(name) >= 0;
  }
  function placeLabels() {
    const map = reg.map;
    const group = reg.groups.labels;
    if (!map || !group || !reg.labels.length) return;
    const zoom = map.getZoom();
    const fit = reg.labelBounds ? map.getBoundsZoom(L.latLngBounds(reg.labelBounds)) : zoom;
    const wanted = reg.labels.filter(function (spec) {
      const range = LABEL_ZOOMS[spec.kind];
      if (!range || !spec.text) return false;
      if (spec.kind === "grid" && !shown("grids")) return false;
      return zoom >= fit + range[0] && zoom <= fit + range[1];
    });
    wanted.forEach(function (spec) { group.addLayer(labelMarker(spec)); });
    // Measure all first (one layout), then keep in rank order whatever does not overlap.
    const boxes = wanted.map(function (spec) {
      return spec.marker.getElement().firstChild.getBoundingClientRect();
    });
    const frame = map.getContainer().getBoundingClientRect();
    const metresPerPixel = 40075016.686 * Math.cos(map.getCenter().lat * Math.PI / 180) / Math.pow(2, zoom + 8);
    const kept = [];
    const keep = new Set();
    wanted.forEach(function (spec, i) {
      const b = boxes[i];
      const box = { l: b.left - LABEL_GAP, t: b.top - LABEL_GAP, r: b.right + LABEL_GAP, b: b.bottom + LABEL_GAP };
      if (b.left < frame.left || b.top < frame.top || b.right > frame.right || b.bottom > frame.bottom) return;
      // A road's name fits on its stretch, or it waits for a closer zoom.
      if (spec.kind.indexOf("road") === 0 && Math.max(b.width, b.height) > spec.metres / metresPerPixel) return;
      const clash = kept.some(function (o) { return box.l < o.r && o.l < box.r && box.t < o.b && o.t < box.b; });
      if (clash) return;
      kept.push(box);
      keep.add(spec);
    });
    reg.labels.forEach(function (spec) {
      if (spec.marker && !keep.has(spec) && group.hasLayer(spec.marker)) group.removeLayer(spec.marker);
    });
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
    const wanted = new Set();
    reg.visible.forEach(function (v) {
      (SWITCH_TO_GROUP[v] || []).forEach(function (id) {
        if (reg.groups[id] && !reg.groups[id]._cmHidden) wanted.add(id);
      });
    });
    // Re-adding in a fixed order keeps points drawn over buildings in the shared canvas.
    let reorder = false;
    OVERLAY_ORDER.forEach(function (id) {
      const group = reg.groups[id];
      if (group && wanted.has(id) && !map.hasLayer(group)) reorder = true;
    });
    OVERLAY_ORDER.concat(OTHER_SWITCHED).forEach(function (id) {
      const group = reg.groups[id];
      if (!group) return;
      if (!wanted.has(id) || (reorder && OVERLAY_ORDER.indexOf(id) >= 0)) map.removeLayer(group);
    });
    OVERLAY_ORDER.concat(OTHER_SWITCHED).forEach(function (id) {
      const group = reg.groups[id];
      if (group && wanted.has(id) && !map.hasLayer(group)) map.addLayer(group);
    });
    if (reg.gl) reg.gl.show(!!reg.groups["map-buildings"] && map.hasLayer(reg.groups["map-buildings"]));
  }

  // -- live overlays ---------------------------------------------------------------------------
  function letter(level) {
    const labels = (window.__cockpitMapLabels || {});
    return labels["map_letter_" + level] || level.charAt(0).toUpperCase();
  }
  function alertIcon(level) {
    // A blue alert (a device offline, a low battery) is a note, not a call to act: drawn smaller
    // and still, so a fleet's faults never bury the buildings, names and red alarms.
    const full = reg.map && reg.map.dragging && !reg.map.dragging.enabled() ? 40 : 30;
    const size = level === "blue" ? Math.round(full * 0.65) : full;
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
    const interactive = mapTakesTaps();
    let restyled = 0;
    Object.keys(next).forEach(function (key) {
      if (reg.colours[key] === next[key]) return;
      reg.colours[key] = next[key];
      restyled += 1;
      if (reg.gl) {
        reg.gl.setColour(Number(key), next[key]);
        return;
      }
      const layer = reg.buildings.get(Number(key));
      if (layer) layer.setStyle(riskStyle(next[key], interactive));
    });
    if (reg.gl && restyled) reg.gl.draw();
    return view.version + " " + restyled;
  }
  function restate(view) {
    if (!view) return "none";
    maybeReload();
    const alarm = new Set(view.alarm || []);
    const offline = new Set(view.offline || []);
    const maintenance = new Set(view.maintenance || []);
    const changed = new Set();
    [reg.alarm, alarm, reg.offline, offline, reg.maintenance, maintenance].forEach(function (set) {
      set.forEach(function (id) { changed.add(id); });
    });
    const before = { alarm: reg.alarm, offline: reg.offline, maintenance: reg.maintenance };
    reg.alarm = alarm;
    reg.offline = offline;
    reg.maintenance = maintenance;
    changed.forEach(function (id) {
      if (before.alarm.has(id) === alarm.has(id) && before.offline.has(id) === offline.has(id) &&
          before.maintenance.has(id) === maintenance.has(id)) return;
      restyleDevice(id);
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
    gridStyle: gridStyle,
    labelPoint: labelPoint,
    buildingStyle: buildingStyle,
    onEachBuilding: onEachBuilding,
    devicePoint: devicePoint,
    enterprisePoint: enterprisePoint,
    onLayerAdd: onLayerAdd,
    registry: reg, // for tests and for people debugging a wall from the console
    keepCells: null, // how many device cells to hold (KEEP_CELLS unless set; tests set fewer)
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
        placeLabels();
        return reg.visible.join(" ");
      },
    },
  });
})();
