// Dash 4's dcc.Checklist and dcc.RadioItems draw a role="listbox" with no name whose role="option"
// labels each wrap a real checkbox or radio: an interactive control inside another (axe-core's
// nested-interactive and aria-input-field-name, both serious), and a screen reader announces
// "option" instead of "checkbox, checked". The components take no ARIA props, so this gives the
// native controls their own semantics back: the list becomes a group (radiogroup for radios)
// named by its parent's data-options-name, and the labels lose the option role.
(function () {
  "use strict";
  function repair(list) {
    const radios = list.querySelector("input[type='radio']") !== null;
    const role = radios ? "radiogroup" : "group";
    if (list.getAttribute("role") !== role) list.setAttribute("role", role);
    const name = list.parentElement && list.parentElement.dataset.optionsName;
    if (name && list.getAttribute("aria-label") !== name) list.setAttribute("aria-label", name);
    list.querySelectorAll(".dash-options-list-option").forEach(function (option) {
      // React sets aria-selected again when a choice changes; the observer takes it off again.
      if (option.hasAttribute("role")) option.removeAttribute("role");
      if (option.hasAttribute("aria-selected")) option.removeAttribute("aria-selected");
    });
  }
  function repairAll(root) {
    if (root.matches && root.matches(".dash-options-list")) repair(root);
    if (root.querySelectorAll) root.querySelectorAll(".dash-options-list").forEach(repair);
  }
  function start() {
    repairAll(document.body);
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        if (record.type === "attributes") {
          const list = record.target.closest && record.target.closest(".dash-options-list");
          if (list) repair(list);
        } else {
          record.addedNodes.forEach(function (node) {
            if (node.nodeType === 1) {
              repairAll(node);
              const list = node.closest && node.closest(".dash-options-list");
              if (list) repair(list);
            }
          });
        }
      });
    }).observe(document.body, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["role", "aria-selected"],
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
