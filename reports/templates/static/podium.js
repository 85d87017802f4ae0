/* Podium leaderboard pages: sort a table by clicking a column header (numbers by value, text
   numeric-aware, missing values last; a second click reverses), narrow it with its filter box.
   Rows are reordered by appending them once in their new order, so a few thousand stay quick. */
(function () {
  "use strict";
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function sortKey(cell, numeric) {
    if (!cell) return null;
    var v = cell.getAttribute("data-v");
    if (v === null) v = cell.textContent.trim();
    if (v === "") return null;
    if (!numeric) return v;
    var x = parseFloat(v);
    return isNaN(x) ? null : x;
  }

  function sortTable(table, th) {
    var column = th.cellIndex;
    var numeric = th.getAttribute("data-type") === "num";
    var direction = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var headers = table.tHead.rows[0].cells;
    for (var h = 0; h < headers.length; h++) headers[h].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = body.rows, keyed = new Array(rows.length);
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (row.podiumIndex === undefined) row.podiumIndex = i;  // the page's own order breaks ties
      keyed[i] = { row: row, key: sortKey(row.cells[column], numeric), index: row.podiumIndex };
    }
    keyed.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) return a.index - b.index;
        return a.key === null ? 1 : -1;
      }
      var c = numeric ? a.key - b.key : collator.compare(a.key, b.key);
      return c !== 0 ? direction * c : a.index - b.index;
    });
    var fragment = document.createDocumentFragment();
    for (var k = 0; k < keyed.length; k++) fragment.appendChild(keyed[k].row);
    body.appendChild(fragment);
  }

  function filterTable(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    if (!table) return;
    var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = table.tBodies[0].rows, shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (row.podiumText === undefined) row.podiumText = row.textContent.toLowerCase();
      var match = true;
      for (var t = 0; t < terms.length && match; t++) match = row.podiumText.indexOf(terms[t]) !== -1;
      if (row.hidden === match) row.hidden = !match;
      if (match) shown++;
    }
    var count = document.getElementById(table.id + "-count");
    if (count) {
      var unit = count.getAttribute(rows.length === 1 ? "data-one" : "data-many");
      count.textContent = (terms.length ? shown + " of " : "") + rows.length + " " + unit;
    }
  }

  document.addEventListener("click", function (event) {
    var th = event.target.closest("table.sortable thead th");
    if (th) sortTable(th.closest("table"), th);
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches("input.filter")) filterTable(event.target);
  });
})();
