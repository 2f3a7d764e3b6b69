// Draw the panels, ticker and lists straight into the page, outside Dash's component tree.
//
// Why: every Dash component on a page is a React wrapper subscribed to Dash's store, and each
// store update walks them all. With the panels as Dash components (about 4,000 nodes on the
// tablet) a 4x-slowed tablet spent 70% of its time in Dash's renderer and froze for up to 4.6 s
// (`cockpit bench browser`). Drawn here, a panel costs what its DOM costs.
//
// The page functions build light trees with h(): {type, namespace, props: {children, ...}}, the
// same shape as a Dash component, so a card can still be handed to Dash (it needs real buttons
// wired to server callbacks) while panels go through mount(). A drawn item opens its card by
// carrying data-pick; one click listener writes it to the pick store of the callback that draws
// that kind of card (card-pick-map, card-pick-case, card-pick).
(function () {
  "use strict";
  // Each kind goes to the store of the callback drawing its card (layouts/map.py says why).
  const PICK_STORE = "card-pick";
  const STORE_OF_KIND = { building: "card-pick-map", device: "card-pick-map", case: "card-pick-case" };
  // React's names for the few attributes that differ from HTML's.
  const ATTRIBUTE = { className: "class", htmlFor: "for" };

  function h(type, props, children) {
    const p = Object.assign({}, props || {});
    if (children !== undefined) p.children = children;
    return { type: type, namespace: "dash_html_components", props: p };
  }

  function append(parent, node) {
    if (node === null || node === undefined || node === false || node === "") return;
    if (Array.isArray(node)) {
      node.forEach((child) => append(parent, child));
      return;
    }
    if (typeof node !== "object") {
      parent.appendChild(document.createTextNode(String(node)));
      return;
    }
    parent.appendChild(element(node));
  }

  function element(node) {
    const el = document.createElement(String(node.type || "div").toLowerCase());
    const props = node.props || {};
    Object.keys(props).forEach(function (key) {
      const value = props[key];
      if (key === "children" || key === "n_clicks" || value === null || value === undefined) return;
      if (key === "style") {
        Object.keys(value).forEach(function (name) {
          if (name.startsWith("--")) el.style.setProperty(name, value[name]);
          else el.style[name] = value[name];
        });
      } else if (key === "pick") {
        // What the item opens: {kind, id}; the click listener below reads it.
        el.setAttribute("data-pick", JSON.stringify(value));
      } else if (key === "hidden") {
        el.hidden = Boolean(value);
      } else {
        el.setAttribute(ATTRIBUTE[key] || key, typeof value === "object" ? JSON.stringify(value) : value);
      }
    });
    if (node.type === "Button" && !props.type) el.type = "button";
    append(el, props.children);
    return el;
  }

  function mount(target, tree) {
    // Redraw only when the tree changed: the wall's page timer and unchanged views come here too.
    const el = typeof target === "string" ? document.getElementById(target) : target;
    if (!el) return "missing";
    const text = JSON.stringify(tree);
    if (el.__drawn === text) return "same";
    el.__drawn = text;
    const fragment = document.createDocumentFragment();
    append(fragment, tree);
    el.replaceChildren(fragment);
    return "drawn";
  }

  function pick(data) {
    if (!window.dash_clientside || !window.dash_clientside.set_props) return;
    const store = STORE_OF_KIND[data.kind] || PICK_STORE;
    window.dash_clientside.set_props(store, { data: Object.assign({ at: Date.now() }, data) });
  }

  document.addEventListener("click", function (event) {
    const hit = event.target && event.target.closest ? event.target.closest("[data-pick]") : null;
    if (!hit) return;
    try {
      pick(JSON.parse(hit.getAttribute("data-pick")));
    } catch (err) {
      // A malformed attribute is a bug in a page function: say so where developers look.
      console.warn("cockpit: unreadable data-pick", hit.getAttribute("data-pick"), err);
    }
  });

  window.cockpitDraw = { h: h, mount: mount, pick: pick };
})();
