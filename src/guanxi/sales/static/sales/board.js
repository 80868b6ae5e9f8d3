// The pipeline board: drag cards between stage columns (SortableJS) or use a card's "Move to" menu.
// Every move is posted to the server, which checks the permission and the move and records the stage
// change; a refused move puts the card back where it was and shows the server's message.
(function () {
  "use strict";

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function toast(message, level) {
    document.dispatchEvent(new CustomEvent("gx:toast", { detail: { message: message, level: level || "success" } }));
  }

  function init() {
    var board = document.querySelector("[data-gx-board]");
    if (!board || !window.Sortable) return;
    var moveUrl = board.dataset.moveUrl;
    var busy = false;

    function post(id, data) {
      data.owner = board.dataset.owner || "";
      return fetch(moveUrl.replace("/0/", "/" + id + "/"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json" },
        body: JSON.stringify(data)
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok || !body.ok) {
            var message = body.message || (response.status === 404 ? board.dataset.notFound : "") || response.statusText;
            throw new Error(message);
          }
          return body;
        });
      });
    }

    function updateColumns(columns) {
      Object.keys(columns || {}).forEach(function (stageId) {
        var col = board.querySelector('.gx-board-col[data-stage="' + stageId + '"]');
        if (!col) return;
        var count = col.querySelector("[data-count]");
        var totals = col.querySelector("[data-totals]");
        if (count) count.textContent = columns[stageId].count;
        if (totals) totals.textContent = columns[stageId].totals;
      });
    }

    function refreshMenus(card, stageId) {
      var select = card.querySelector("[data-move-select]");
      if (!select) return;
      select.value = "";
      Array.prototype.forEach.call(select.options, function (opt) {
        if (!opt.value) return;
        opt.hidden = opt.value === String(stageId);
      });
      // The current column is not in the menu: add the previous one back.
      var present = Array.prototype.map.call(select.options, function (o) { return o.value; });
      board.querySelectorAll(".gx-board-col").forEach(function (col) {
        if (present.indexOf(col.dataset.stage) === -1 && col.dataset.stage !== String(stageId)) {
          var opt = document.createElement("option");
          opt.value = col.dataset.stage;
          opt.textContent = col.getAttribute("aria-label");
          select.appendChild(opt);
        }
      });
    }

    // Won / lost need a reason: ask in the modal; resolves null when cancelled.
    var modalEl = document.getElementById("gx-close-modal");
    function askReason(kind) {
      return new Promise(function (resolve) {
        if (!modalEl || !window.bootstrap) { resolve(null); return; }
        var form = modalEl.querySelector("[data-close-form]");
        var title = modalEl.querySelector(".modal-title");
        title.textContent = kind === "won" ? title.dataset.wonTitle : title.dataset.lostTitle;
        form.reset();
        var lostOnly = form.querySelector("[data-lost-only]");
        if (lostOnly) lostOnly.classList.toggle("d-none", kind !== "lost");
        var modal = window.bootstrap.Modal.getOrCreateInstance(modalEl);
        var answered = false;
        function onSubmit(e) {
          e.preventDefault();
          var reason = form.elements.reason.value.trim();
          if (!reason) { form.elements.reason.classList.add("is-invalid"); return; }
          answered = true;
          resolve({ reason: reason, lost_to: form.elements.lost_to ? form.elements.lost_to.value : "" });
          modal.hide();
        }
        function onHidden() {
          form.removeEventListener("submit", onSubmit);
          modalEl.removeEventListener("hidden.bs.modal", onHidden);
          form.elements.reason.classList.remove("is-invalid");
          if (!answered) resolve(null);
        }
        form.addEventListener("submit", onSubmit);
        modalEl.addEventListener("hidden.bs.modal", onHidden);
        modalEl.addEventListener("shown.bs.modal", function focus() {
          form.elements.reason.focus();
          modalEl.removeEventListener("shown.bs.modal", focus);
        });
        modal.show();
      });
    }

    // Move ``card`` to the column of ``list``; ``undo`` puts it back when the move is refused.
    function move(card, list, undo) {
      var stageId = list.dataset.stage;
      var kind = list.dataset.kind;
      busy = true;
      var ask = kind === "open" ? Promise.resolve({}) : askReason(kind);
      return ask.then(function (extra) {
        if (extra === null) { undo(); return; }
        card.classList.add("opacity-50");
        var data = { stage: stageId };
        if (extra.reason) data.reason = extra.reason;
        if (extra.lost_to) data.lost_to = extra.lost_to;
        return post(card.dataset.id, data).then(function (body) {
          updateColumns(body.columns);
          refreshMenus(card, stageId);
          card.dataset.stage = stageId;
          toast(body.message, "success");
        }).catch(function (err) {
          undo();
          toast(err.message || board.dataset.refused || "", "danger");
        }).then(function () { card.classList.remove("opacity-50"); });
      }).then(function () { busy = false; }, function () { busy = false; });
    }

    board.querySelectorAll(".gx-board-cards").forEach(function (list) {
      window.Sortable.create(list, {
        group: "gx-board",
        draggable: "[data-editable]",
        filter: "[data-move-select]",
        preventOnFilter: false,
        forceFallback: true,
        fallbackTolerance: 4,
        delay: 250,
        delayOnTouchOnly: true,  // a touch scrolls the board; a long press picks the card up
        animation: 150,
        ghostClass: "gx-board-ghost",
        onEnd: function (evt) {
          if (evt.from === evt.to) return;
          var from = evt.from, index = evt.oldIndex, card = evt.item;
          move(card, evt.to, function () {
            from.insertBefore(card, from.children[index] || null);
          });
        }
      });
    });

    board.addEventListener("change", function (e) {
      var select = e.target.closest("[data-move-select]");
      if (!select || !select.value || busy) return;
      var card = select.closest("[data-id]");
      var from = card.parentElement;
      var index = Array.prototype.indexOf.call(from.children, card);
      var target = board.querySelector('.gx-board-cards[data-stage="' + select.value + '"]');
      if (!target) return;
      target.insertBefore(card, target.firstChild);
      move(card, target, function () {
        from.insertBefore(card, from.children[index] || null);
        select.value = "";
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
