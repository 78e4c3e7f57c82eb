/* The board page's 24-hour charts, drawn here from the JSON block the page
   carries (<script type="application/json" id="board-charts">): small SVG
   line charts, the line broken where the data holds a null (the board was
   silent), the time axis in the board's local time (the block's "offset",
   seconds east of UTC). Without this script the page shows each chart's
   lowest, highest and latest value. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var W = 320, H = 110, LEFT = 40, RIGHT = W - 6, TOP = 8, BOTTOM = H - 20;

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function short(v) {
    return Math.abs(v) >= 100 || v === Math.round(v) ? v.toFixed(0) : v.toFixed(1);
  }

  function range(chart) {
    var values = chart.v.filter(function (v) { return typeof v === "number" && isFinite(v); });
    if (!values.length) { return null; }
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    if (typeof chart.floor === "number") { low = Math.min(low, chart.floor); }
    if (typeof chart.ceiling === "number") { high = Math.max(high, chart.ceiling); }
    if (!isFinite(high - low) || high - low < 1e-9) { low -= 1; high += 1; }
    return isFinite(high - low) ? [low, high] : null;
  }

  function draw(figure, chart, data) {
    var span = range(chart);
    if (!span || data.until <= data.since) { return; }
    var low = span[0], high = span[1];
    var x = function (t) { return LEFT + (RIGHT - LEFT) * (t - data.since) / (data.until - data.since); };
    var y = function (v) { return BOTTOM - (BOTTOM - TOP) * (v - low) / (high - low); };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "class": "chart-drawn" });
    svg.setAttribute("aria-label", figure.getAttribute("data-label") || "");
    svg.appendChild(el("line", { x1: LEFT, y1: BOTTOM, x2: RIGHT, y2: BOTTOM, "class": "axis" }));
    svg.appendChild(el("line", { x1: LEFT, y1: TOP, x2: RIGHT, y2: TOP, "class": "gridline" }));
    svg.appendChild(el("text", { x: LEFT - 4, y: BOTTOM + 4, "class": "tick", "text-anchor": "end" }, short(low)));
    svg.appendChild(el("text", { x: LEFT - 4, y: TOP + 4, "class": "tick", "text-anchor": "end" }, short(high)));
    // Local hours 00, 06, 12 and 18 along the time axis.
    var first = Math.ceil((data.since + data.offset) / 21600) * 21600 - data.offset;
    for (var t = first; t <= data.until; t += 21600) {
      var hour = Math.round(((t + data.offset) % 86400) / 3600);
      svg.appendChild(el("text", { x: x(t).toFixed(1), y: H - 4, "class": "tick", "text-anchor": "middle" },
        (hour < 10 ? "0" : "") + hour + ":00"));
    }
    svg.appendChild(el("text", { x: RIGHT, y: TOP + 4, "class": "tick unit", "text-anchor": "end" }, chart.unit));
    var run = [];
    function flush() {
      if (run.length > 1) {
        svg.appendChild(el("polyline", { points: run.join(" "), "class": "series" }));
      } else if (run.length === 1) {
        var p = run[0].split(",");
        svg.appendChild(el("circle", { cx: p[0], cy: p[1], r: 2, "class": "series-dot" }));
      }
      run = [];
    }
    for (var i = 0; i < chart.t.length; i++) {
      var v = chart.v[i];
      if (typeof v !== "number" || !isFinite(v)) { flush(); continue; }
      run.push(x(chart.t[i]).toFixed(1) + "," + y(v).toFixed(1));
    }
    flush();
    figure.insertBefore(svg, figure.querySelector(".chart-summary"));
  }

  var block = document.getElementById("board-charts");
  if (!block) { return; }
  var data;
  try { data = JSON.parse(block.textContent); } catch (e) { return; }
  Array.prototype.forEach.call(document.querySelectorAll("figure[data-chart]"), function (figure) {
    var chart = data.charts && data.charts[parseInt(figure.getAttribute("data-chart"), 10)];
    if (chart && chart.t && chart.v) { draw(figure, chart, data); }
  });
})();
