// ECharts of the contract statistics page. Data comes from a json_script element (#gx-chart-data);
// each <div data-gx-chart="name"> is drawn by the builder of that name and follows its card's width.
(function () {
  "use strict";

  function num(values) { return (values || []).map(function (v) { return v === null ? null : Number(v); }); }

  function compact(value) {
    try { return new Intl.NumberFormat(document.documentElement.lang || undefined, { notation: "compact" }).format(Number(value)); }
    catch (e) { return String(value); }
  }

  var builders = {
    status: function (d, el) {
      return {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
        grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
        yAxis: { type: "category", inverse: true, data: d.status.labels.map(function (l, i) { return d.status.counts[i] + " · " + l; }),
                 axisLabel: { width: el.clientWidth < 500 ? 110 : 180, overflow: "truncate" } },
        xAxis: { type: "value", axisLabel: { formatter: compact } },
        series: [{ name: el.dataset.labelValue, type: "bar", data: num(d.status.values), itemStyle: { color: "#4f46e5" } }]
      };
    },
    months: function (d, el) {
      return {
        color: ["#0891b2", "#f59e0b"],
        tooltip: { trigger: "axis", confine: true },
        legend: { bottom: 0 },
        grid: { left: 8, right: 8, top: 24, bottom: 36, containLabel: true },
        xAxis: { type: "category", data: d.months.labels },
        yAxis: [{ type: "value", axisLabel: { formatter: compact } }, { type: "value", minInterval: 1, splitLine: { show: false } }],
        series: [
          { name: el.dataset.labelValue, type: "bar", data: num(d.months.values) },
          { name: el.dataset.labelCount, type: "line", yAxisIndex: 1, data: d.months.counts }
        ]
      };
    },
    renewal: function (d, el) {
      return {
        tooltip: { trigger: "item", confine: true },
        legend: { bottom: 0 },
        series: [{
          type: "pie", radius: ["45%", "72%"], label: { position: "inside", formatter: "{c}", color: "#fff" },
          data: [
            { name: el.dataset.labelRenewed, value: d.renewal.renewed, itemStyle: { color: "#16a34a" } },
            { name: el.dataset.labelExpired, value: d.renewal.expired, itemStyle: { color: "#64748b" } },
            { name: el.dataset.labelTerminated, value: d.renewal.terminated, itemStyle: { color: "#dc2626" } }
          ]
        }]
      };
    }
  };

  function draw() {
    var source = document.getElementById("gx-chart-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-gx-chart]").forEach(function (el) {
      var build = builders[el.dataset.gxChart];
      if (!build) { return; }
      if (el.dataset.gxChart === "renewal" && !(data.renewal.renewed + data.renewal.expired + data.renewal.terminated)) {
        el.style.minHeight = "0";
        el.innerHTML = '<div class="gx-empty"><i class="bi bi-pie-chart"></i></div>';
        el.querySelector(".gx-empty").append(el.dataset.empty || "");
        return;
      }
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
      chart.setOption(build(data, el), true);
      if (window.ResizeObserver) { new ResizeObserver(function () { chart.resize(); }).observe(el); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
