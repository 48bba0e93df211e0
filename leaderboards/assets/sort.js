// Sortable tables: a click on a header button sorts the rows by that column's data-v values
// (numbers when every value parses as one, text otherwise); a second click reverses the order.
"use strict";
document.querySelectorAll("table.sortable").forEach(function (table) {
  var headers = table.querySelectorAll("thead th");
  headers.forEach(function (th, column) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var values = rows.map(function (row) { return row.cells[column].getAttribute("data-v") || ""; });
      var numeric = values.every(function (v) { return v === "" || !isNaN(parseFloat(v)); });
      var order = rows.map(function (row, i) { return i; });
      order.sort(function (a, b) {
        var x = values[a], y = values[b], result;
        if (numeric) {
          x = x === "" ? Infinity : parseFloat(x);
          y = y === "" ? Infinity : parseFloat(y);
          result = x - y;
        } else {
          result = x < y ? -1 : (x > y ? 1 : 0);
        }
        return (ascending ? result : -result) || a - b;
      });
      order.forEach(function (i) { body.appendChild(rows[i]); });
    });
  });
});
