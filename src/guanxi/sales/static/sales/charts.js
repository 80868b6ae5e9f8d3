// ECharts on the sales dashboard and the win/loss page. Data comes from a json_script element
// (#gx-chart-data); each <div data-gx-chart="name"> is drawn by the builder of that name. Charts
// follow the width of their card (ResizeObserver), so they fit phones.
(function () {
  "use strict";

  var PALETTE = ["#4f46e5", "#16a34a", "#f59e0b", "#dc2626", "#0891b2", "#9333ea", "#64748b"];

  function num(values) { return (values || []).map(function (v) { return v === null ? null : Number(v); }); }

  function compact(value) {
    var n = Number(value);
    try { return new Intl.NumberFormat(document.documentElement.lang || undefined, { notation: "compact" }).format(n); }
    catch (e) { return String(n); }
  }

  function base() {
    return {
      color: PALETTE,
      tooltip: { trigger: "axis", confine: true },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 8, right: 8, top: 24, bottom: 36, containLabel: true }
    };
  }

  var builders = {
    stages: function (d, el) {
      // Horizontal bars: stage names (often long, bilingual) read well on the category axis.
      var n = d.stages.labels.length;
      el.style.height = Math.max(260, 40 + n * 44) + "px";
      return Object.assign(base(), {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
        grid: { left: 8, right: 24, top: 8, bottom: 36, containLabel: true },
        yAxis: { type: "category", inverse: true, data: d.stages.labels.map(function (l, i) { return d.stages.counts[i] + " · " + l; }),
                 axisLabel: { width: el.clientWidth < 500 ? 110 : 200, overflow: "truncate" } },
        xAxis: { type: "value", axisLabel: { formatter: compact } },
        series: [
          { name: el.dataset.labelAmount, type: "bar", data: num(d.stages.amounts) },
          { name: el.dataset.labelWeighted, type: "bar", data: num(d.stages.weighted) }
        ]
      });
    },
    forecast: function (d, el) {
      return Object.assign(base(), {
        xAxis: { type: "category", data: d.forecast.labels },
        yAxis: { type: "value", axisLabel: { formatter: compact } },
        series: [
          { name: el.dataset.labelAmount, type: "bar", data: num(d.forecast.amounts), itemStyle: { opacity: 0.35 } },
          { name: el.dataset.labelWeighted, type: "bar", data: num(d.forecast.weighted), barGap: "-100%" }
        ]
      });
    },
    won: function (d, el) {
      return Object.assign(base(), {
        xAxis: { type: "category", data: d.won.labels },
        yAxis: [{ type: "value", axisLabel: { formatter: compact } }, { type: "value", minInterval: 1, splitLine: { show: false } }],
        series: [
          { name: el.dataset.labelAmount, type: "bar", data: num(d.won.amounts), itemStyle: { color: "#16a34a" } },
          { name: el.dataset.labelCount, type: "line", yAxisIndex: 1, data: d.won.counts }
        ]
      });
    },
    winloss: function (d, el) {
      return {
        tooltip: { trigger: "item", confine: true },
        legend: { bottom: 0 },
        series: [{
          type: "pie", radius: ["45%", "72%"], label: { position: "inside", formatter: "{c}", color: "#fff" },
          data: [
            { name: el.dataset.labelWon, value: d.winloss.won, itemStyle: { color: "#16a34a" } },
            { name: el.dataset.labelLost, value: d.winloss.lost, itemStyle: { color: "#dc2626" } }
          ]
        }]
      };
    },
    competitors: function (d, el) {
      return Object.assign(base(), {
        xAxis: { type: "category", data: d.labels, axisLabel: { interval: 0, rotate: d.labels.length > 4 ? 30 : 0 } },
        yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, splitLine: { show: false }, axisLabel: { formatter: "{value}%" } }],
        series: [
          { name: el.dataset.labelWon, type: "bar", stack: "deals", data: d.won, itemStyle: { color: "#16a34a" } },
          { name: el.dataset.labelLost, type: "bar", stack: "deals", data: d.lost, itemStyle: { color: "#dc2626" } },
          { name: el.dataset.labelRate, type: "line", yAxisIndex: 1, data: d.rates }
        ]
      });
    }
  };

  function init() {
    var source = document.getElementById("gx-chart-data");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-gx-chart]").forEach(function (el) {
      var build = builders[el.dataset.gxChart];
      if (!build) return;
      var option = build(data, el);  // may size the element first
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      if (window.ResizeObserver) new ResizeObserver(function () { chart.resize(); }).observe(el);
      else window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
