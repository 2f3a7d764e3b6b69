// Buildings drawn with WebGL: every footprint is triangulated once (earcut) into one vertex
// buffer, and a recolour rewrites one byte per vertex of the buildings that changed and draws
// again, so its cost does not grow with the paths a canvas would have to redraw. Leaflet keeps
// the building polygons for taps, bounds and the tests; assets/map.js stops the canvas from
// drawing them while this layer is live, and falls back to the canvas if WebGL is missing or lost.
(function () {
  "use strict";
  const Z = 16; // positions are kept in zoom-16 pixels from the street's first corner (float32-safe)
  const COLOURS = ["", "green", "yellow", "red"]; // the risk colours, in the order of the state byte

  const FILL_VS = [
    "attribute vec2 a_pos; attribute float a_state;",
    "uniform float u_scale; uniform vec2 u_offset; uniform vec2 u_size; uniform vec4 u_fill[4];",
    "varying vec4 v_colour;",
    "void main() {",
    "  vec2 s = a_pos * u_scale + u_offset;",
    "  gl_Position = vec4(s.x / u_size.x * 2.0 - 1.0, 1.0 - s.y / u_size.y * 2.0, 0.0, 1.0);",
    "  v_colour = u_fill[int(a_state + 0.5)];",
    "}",
  ].join("\n");
  const FILL_FS = [
    "precision mediump float; varying vec4 v_colour;",
    "void main() { gl_FragColor = v_colour; }",
  ].join("\n");
  // An outline edge is a quad pushed out from the edge by half the state's width in screen pixels,
  // plus half a pixel of feather faded in the fragment shader (cheaper than multisampling, which
  // a software GL pays for on every pixel), and past both ends so corners close; dashes follow
  // the distance along the ring.
  const LINE_VS = [
    "attribute vec2 a_pos; attribute vec2 a_out; attribute float a_side; attribute float a_dist;",
    "attribute float a_state;",
    "uniform float u_scale; uniform vec2 u_offset; uniform vec2 u_size;",
    "uniform vec4 u_line[4]; uniform vec2 u_width[4];",
    "varying vec4 v_colour; varying float v_dist; varying float v_dash; varying float v_across;",
    "varying float v_half;",
    "void main() {",
    "  int k = int(a_state + 0.5);",
    "  v_half = max(u_width[k].x, 1.0) * 0.5;",
    "  vec2 s = a_pos * u_scale + u_offset + a_out * (v_half + 0.5);",
    "  gl_Position = vec4(s.x / u_size.x * 2.0 - 1.0, 1.0 - s.y / u_size.y * 2.0, 0.0, 1.0);",
    // A line thinner than a pixel is drawn one pixel wide and fainter, as a canvas would.
    "  v_colour = u_line[k] * min(u_width[k].x, 1.0);",
    "  v_dist = a_dist * u_scale; v_dash = u_width[k].y; v_across = a_side * (v_half + 0.5);",
    "}",
  ].join("\n");
  const LINE_FS = [
    "precision mediump float;",
    "varying vec4 v_colour; varying float v_dist; varying float v_dash; varying float v_across;",
    "varying float v_half;",
    "void main() {",
    "  if (v_dash > 0.0 && mod(v_dist, 2.0 * v_dash) > v_dash) discard;",
    "  gl_FragColor = v_colour * clamp(v_half + 0.5 - abs(v_across), 0.0, 1.0);",
    "}",
  ].join("\n");

  function rgba(hex, alpha) {
    // Premultiplied, as the page composites a WebGL canvas.
    const n = parseInt(hex.slice(1), 16);
    const a = alpha == null ? 1 : alpha;
    return [((n >> 16) & 255) / 255 * a, ((n >> 8) & 255) / 255 * a, (n & 255) / 255 * a, a];
  }

  function compile(gl, vs, fs) {
    const program = gl.createProgram();
    [[gl.VERTEX_SHADER, vs], [gl.FRAGMENT_SHADER, fs]].forEach(function (pair) {
      const shader = gl.createShader(pair[0]);
      gl.shaderSource(shader, pair[1]);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
      gl.attachShader(program, shader);
    });
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
    return program;
  }

  function rings(latlngs) {
    // A Leaflet polygon's latlngs: [outer, hole...] or, for a multipolygon, [[outer, hole...]...].
    if (!latlngs.length) return [];
    return L.LineUtil.isFlat(latlngs[0]) ? [latlngs] : latlngs;
  }

  // What a building's outline and fill look like for each risk colour, from map.js's one style.
  function palette(styleOf) {
    const fill = [], line = [], width = [];
    COLOURS.forEach(function (colour) {
      const s = styleOf(colour || undefined);
      fill.push.apply(fill, rgba(s.fillColor, s.fillOpacity));
      line.push.apply(line, rgba(s.color, s.opacity == null ? 1 : s.opacity));
      const dash = s.dashArray ? Number(String(s.dashArray).split(/[ ,]+/)[0]) : 0;
      width.push(s.weight, dash);
    });
    return { fill: new Float32Array(fill), line: new Float32Array(line), width: new Float32Array(width) };
  }

  const Layer = L.Renderer.extend({
    options: { padding: 0.1 },

    initialize: function (options, styleOf) {
      L.Renderer.prototype.initialize.call(this, options);
      this._palette = palette(styleOf);
      this._index = new Map(); // building id -> [fill start, fill count, line start, line count]
      this.info = { renderer: "webgl", buildings: 0, vertices: 0, build_ms: 0, draws: 0, lost: false };
    },

    _initContainer: function () {
      const canvas = (this._container = document.createElement("canvas"));
      canvas.className = "cm-buildings-gl";
      canvas.style.pointerEvents = "none";
      // No multisampling: the outlines fade their own edges, and the fills lie under them.
      const gl = canvas.getContext("webgl", { antialias: false, premultipliedAlpha: true, alpha: true });
      if (!gl) throw new Error("no WebGL");
      this._gl = gl;
      this._fill = this._program(FILL_VS, FILL_FS, ["a_pos", "a_state"]);
      this._line = this._program(LINE_VS, LINE_FS, ["a_pos", "a_out", "a_side", "a_dist", "a_state"]);
      const self = this;
      canvas.addEventListener("webglcontextlost", function (event) {
        event.preventDefault();
        self.info.lost = true;
        if (self.onLost) self.onLost();
      });
    },

    _destroyContainer: function () {
      L.DomUtil.remove(this._container);
      delete this._container;
      this._gl = null;
    },

    _program: function (vs, fs, names) {
      const gl = this._gl;
      const program = compile(gl, vs, fs);
      const at = {};
      names.forEach(function (name) { at[name] = gl.getAttribLocation(program, name); });
      const uniforms = {};
      ["u_scale", "u_offset", "u_size", "u_fill", "u_line", "u_width"].forEach(function (name) {
        uniforms[name] = gl.getUniformLocation(program, name);
      });
      return { program: program, at: at, uniforms: uniforms, geometry: gl.createBuffer(),
        state: gl.createBuffer(), states: new Uint8Array(0), count: 0 };
    },

    // Triangulate and outline every building once; `colourOf(id)` gives its risk colour now.
    build: function (buildings, colourOf) {
      const started = performance.now();
      const crs = this._map.options.crs;
      const cut = window.earcut && (window.earcut.default || window.earcut);
      const k = Math.pow(2, Z);
      let origin = null;
      // First pass: project and triangulate, counting; second: write straight into typed arrays.
      const held = [];
      let fillCount = 0, edgeCount = 0;
      buildings.forEach(function (layer, id) {
        const polygons = rings(layer.getLatLngs()).map(function (polygon) {
          const flat = [], starts = [];
          polygon.forEach(function (ring) {
            starts.push(flat.length / 2);
            ring.forEach(function (ll) {
              const p = crs.latLngToPoint(ll, 0);
              if (!origin) origin = p;
              flat.push((p.x - origin.x) * k, (p.y - origin.y) * k);
            });
          });
          const triangles = cut ? cut(flat, starts.slice(1)) : [];
          fillCount += triangles.length;
          edgeCount += flat.length / 2;
          return { flat: flat, starts: starts, triangles: triangles };
        });
        held.push([id, Math.max(0, COLOURS.indexOf(colourOf(id) || "")), polygons]);
      });
      const fills = new Float32Array(fillCount * 2), fillStates = new Uint8Array(fillCount);
      const lines = new Float32Array(edgeCount * 6 * 6), lineStates = new Uint8Array(edgeCount * 6);
      const index = new Map();
      let f = 0, l = 0; // vertices written
      function corner(x, y, ox, oy, side, dist) {
        const at = l * 6;
        lines[at] = x; lines[at + 1] = y; lines[at + 2] = ox; lines[at + 3] = oy;
        lines[at + 4] = side; lines[at + 5] = dist;
        l += 1;
      }
      held.forEach(function (entry) {
        const fillStart = f, lineStart = l;
        entry[2].forEach(function (polygon) {
          const flat = polygon.flat, starts = polygon.starts, n = flat.length / 2;
          polygon.triangles.forEach(function (v) {
            fills[f * 2] = flat[v * 2];
            fills[f * 2 + 1] = flat[v * 2 + 1];
            f += 1;
          });
          starts.forEach(function (first, r) {
            const last = r + 1 < starts.length ? starts[r + 1] : n;
            let dist = 0;
            for (let i = first; i < last; i++) {
              const j = i + 1 < last ? i + 1 : first;
              const ax = flat[i * 2], ay = flat[i * 2 + 1], bx = flat[j * 2], by = flat[j * 2 + 1];
              const len = Math.hypot(bx - ax, by - ay);
              if (!len) continue;
              const ux = (bx - ax) / len, uy = (by - ay) / len, nx = -uy, ny = ux;
              // Two triangles, a+ a- b+ and a- b- b+: each corner pushed out sideways and past its end.
              corner(ax, ay, nx - ux, ny - uy, 1, dist);
              corner(ax, ay, -nx - ux, -ny - uy, -1, dist);
              corner(bx, by, nx + ux, ny + uy, 1, dist + len);
              corner(ax, ay, -nx - ux, -ny - uy, -1, dist);
              corner(bx, by, -nx + ux, -ny + uy, -1, dist + len);
              corner(bx, by, nx + ux, ny + uy, 1, dist + len);
              dist += len;
            }
          });
        });
        fillStates.fill(entry[1], fillStart, f);
        lineStates.fill(entry[1], lineStart, l);
        index.set(entry[0], [fillStart, f - fillStart, lineStart, l - lineStart]);
      });
      this._origin = origin || L.point(0, 0);
      this._index = index;
      this._upload(this._fill, fills, fillStates);
      this._upload(this._line, lines.subarray(0, l * 6), lineStates.subarray(0, l));
      this.info.buildings = index.size;
      this.info.vertices = f + l;
      this.info.build_ms = Math.round(performance.now() - started);
      this._draw();
    },

    _upload: function (part, geometry, states) {
      const gl = this._gl;
      gl.bindBuffer(gl.ARRAY_BUFFER, part.geometry);
      gl.bufferData(gl.ARRAY_BUFFER, geometry, gl.STATIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, part.state);
      gl.bufferData(gl.ARRAY_BUFFER, states, gl.DYNAMIC_DRAW);
      part.states = states;
      part.count = states.length;
      part.dirty = null;
    },

    // Give one building another risk colour; drawn at the next `draw()`. False if not held.
    setColour: function (id, colour) {
      const at = this._index.get(id);
      if (!at) return false;
      const state = Math.max(0, COLOURS.indexOf(colour || ""));
      this._mark(this._fill, at[0], at[1], state);
      this._mark(this._line, at[2], at[3], state);
      return true;
    },

    _mark: function (part, start, count, state) {
      if (!count) return;
      part.states.fill(state, start, start + count);
      const d = part.dirty;
      part.dirty = d ? [Math.min(d[0], start), Math.max(d[1], start + count)] : [start, start + count];
    },

    draw: function () {
      [this._fill, this._line].forEach(function (part) {
        if (!part.dirty) return;
        const gl = this._gl;
        gl.bindBuffer(gl.ARRAY_BUFFER, part.state);
        gl.bufferSubData(gl.ARRAY_BUFFER, part.dirty[0], part.states.subarray(part.dirty[0], part.dirty[1]));
        part.dirty = null;
      }, this);
      this._draw();
    },

    show: function (visible) {
      if (this._container) this._container.style.display = visible ? "" : "none";
    },

    // L.Renderer calls this after every pan and zoom: size the canvas to the padded view, redraw.
    _update: function () {
      if (this._map._animatingZoom && this._bounds) return;
      L.Renderer.prototype._update.call(this);
      const b = this._bounds, size = b.getSize();
      const ratio = window.devicePixelRatio || 1;
      L.DomUtil.setPosition(this._container, b.min);
      this._container.width = Math.round(ratio * size.x);
      this._container.height = Math.round(ratio * size.y);
      this._container.style.width = size.x + "px";
      this._container.style.height = size.y + "px";
      this._draw();
      this.fire("update");
    },

    _draw: function () {
      const gl = this._gl, map = this._map;
      if (!gl || !map || !this._bounds || !this._origin || gl.isContextLost()) return;
      const scale = map.options.crs.scale(map.getZoom()) / map.options.crs.scale(Z);
      const zoomScale = map.options.crs.scale(map.getZoom()) / map.options.crs.scale(0);
      const shift = map.getPixelOrigin().add(this._bounds.min);
      const offset = [this._origin.x * zoomScale - shift.x, this._origin.y * zoomScale - shift.y];
      const size = this._bounds.getSize();
      gl.viewport(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight);
      gl.clearColor(0, 0, 0, 0);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      const pal = this._palette;
      [[this._fill, [["a_pos", 2]]], [this._line, [["a_pos", 2], ["a_out", 2], ["a_side", 1], ["a_dist", 1]]]].forEach(function (pair) {
        const part = pair[0];
        if (!part.count) return;
        gl.useProgram(part.program);
        const u = part.uniforms;
        gl.uniform1f(u.u_scale, scale);
        gl.uniform2f(u.u_offset, offset[0], offset[1]);
        gl.uniform2f(u.u_size, size.x, size.y);
        if (u.u_fill) gl.uniform4fv(u.u_fill, pal.fill);
        if (u.u_line) gl.uniform4fv(u.u_line, pal.line);
        if (u.u_width) gl.uniform2fv(u.u_width, pal.width);
        gl.bindBuffer(gl.ARRAY_BUFFER, part.geometry);
        const stride = pair[1].reduce(function (n, a) { return n + a[1]; }, 0) * 4;
        let at = 0;
        pair[1].forEach(function (a) {
          const loc = part.at[a[0]];
          gl.enableVertexAttribArray(loc);
          gl.vertexAttribPointer(loc, a[1], gl.FLOAT, false, stride, at);
          at += a[1] * 4;
        });
        gl.bindBuffer(gl.ARRAY_BUFFER, part.state);
        gl.enableVertexAttribArray(part.at.a_state);
        gl.vertexAttribPointer(part.at.a_state, 1, gl.UNSIGNED_BYTE, false, 0, 0);
        gl.drawArrays(gl.TRIANGLES, 0, part.count);
        // Attribute slots are shared by both programs: leave none enabled for the next one.
        Object.keys(part.at).forEach(function (name) {
          if (part.at[name] >= 0) gl.disableVertexAttribArray(part.at[name]);
        });
      });
      this.info.draws += 1;
    },
  });

  window.cockpitBuildingsGL = {
    // A WebGL building layer for `map` in `pane`, or null where the browser has no WebGL.
    create: function (map, pane, styleOf) {
      if (!document.createElement("canvas").getContext("webgl")) return null;
      try {
        const layer = new Layer({ pane: pane }, styleOf);
        layer.addTo(map);
        return layer;
      } catch (error) {
        if (window.console) console.warn("buildings drawn on the canvas:", error.message);
        return null;
      }
    },
  };
})();
