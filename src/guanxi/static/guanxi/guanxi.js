// Small behaviours shared by every page. Library code comes from build/vendor (npm), never a CDN.
(function () {
  "use strict";

  function enhanceSelects(root) {
    if (!window.TomSelect) return;
    root.querySelectorAll("select[data-gx-select]:not(.tomselected)").forEach(function (el) {
      var options = { maxOptions: 200, plugins: el.multiple ? ["remove_button"] : [] };
      if (el.dataset.gxSelect === "create") options.create = true;
      if (el.dataset.gxSelectUrl) {
        options.valueField = "id"; options.labelField = "label"; options.searchField = ["label"];
        options.load = function (query, callback) {
          fetch(el.dataset.gxSelectUrl + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
            .then(function (r) { return r.json(); }).then(function (j) { callback(j.results); })
            .catch(function () { callback(); });
        };
      }
      new window.TomSelect(el, options);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhanceSelects(document); });
  document.addEventListener("htmx:afterSwap", function (e) { enhanceSelects(e.target); });

  // Bulk selection on list pages: "select all" toggles and the count badge.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("[data-gx-select-all]")) {
      document.querySelectorAll("input[name=ids]").forEach(function (cb) { cb.checked = t.checked; });
    }
    if (t.matches("[data-gx-select-all], input[name=ids]")) {
      var n = document.querySelectorAll("input[name=ids]:checked").length;
      // The label comes translated from the page in two plural forms ("__n__" stands for the number).
      document.querySelectorAll("[data-gx-selected-count]").forEach(function (el) {
        var label = n === 1 ? el.dataset.gxOne : el.dataset.gxOther;
        el.textContent = label ? label.replace("__n__", n) : n;
      });
      document.querySelectorAll("[data-gx-bulkbar]").forEach(function (el) { el.classList.toggle("d-none", n === 0); });
    }
  });

  // Server-sent toasts: views set HX-Trigger {"gx:toast": {"message": "...", "level": "success"}}.
  document.addEventListener("gx:toast", function (e) {
    var box = document.getElementById("gx-toasts");
    if (!box || !window.bootstrap) return;
    var el = document.createElement("div");
    el.className = "toast align-items-center text-bg-" + (e.detail.level || "success") + " border-0";
    el.setAttribute("role", "status");
    el.innerHTML = '<div class="d-flex"><div class="toast-body"></div><button type="button" class="btn-close btn-close-white me-2 m-auto" data-bs-dismiss="toast"></button></div>';
    el.querySelector(".toast-body").textContent = e.detail.message || e.detail.value || "";
    box.appendChild(el);
    new window.bootstrap.Toast(el).show();
  });
})();
