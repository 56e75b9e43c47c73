// Draws the three charts from /api/charts with the vendored Chart.js, and refreshes them
// every minute. Labels come from the server in the user's language.
(function () {
  "use strict";

  var root = document.getElementById("charts");
  if (!root || !window.Chart) {
    return;
  }
  var COLORS = {
    human: "#2f7d4f",
    machine: "#8a6fb3",
    busy: "#d18b2c",
    "no-answer": "#9aa3ad",
    failed: "#c0453a",
    live: "#3b7dd8"
  };
  var REFRESH_MS = 60000;
  var charts = {};
  var font = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.family = font;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#4b5563";
  Chart.defaults.animation = false;

  function hourLabel(hour) {
    return root.getAttribute("data-label-hour").replace("%(h)s", String(hour));
  }

  function stacked(labels, categories, rowFor) {
    return {
      labels: labels,
      datasets: categories.map(function (category) {
        return {
          label: category.label,
          data: rowFor(category.code),
          backgroundColor: COLORS[category.code] || "#777",
          borderWidth: 0,
          stack: "calls"
        };
      })
    };
  }

  function draw(id, config) {
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].update();
      return;
    }
    charts[id] = new Chart(document.getElementById(id), config);
  }

  // Chart.js keeps and changes the options it is given: each chart gets its own object.
  function stackedOptions(indexAxis) {
    var counts = { stacked: true, beginAtZero: true, ticks: { precision: 0 } };
    var labels = { stacked: true, grid: { display: false } };
    return {
      indexAxis: indexAxis,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      scales: indexAxis === "y" ? { x: counts, y: labels } : { x: labels, y: counts }
    };
  }

  // The hours worth showing: the working day (8時-20時) and any hour with calls.
  function shownHours(data) {
    var first = 8;
    var last = 20;
    data.contact_by_hour.forEach(function (row, hour) {
      if (row.dialled > 0) {
        first = Math.min(first, hour);
        last = Math.max(last, hour);
      }
    });
    return function (rows) { return rows.slice(first, last + 1); };
  }

  function render(data) {
    var shown = shownHours(data);
    var today = shown(data.today_by_hour);
    draw("chart-today", {
      type: "bar",
      data: stacked(today.map(function (row) { return hourLabel(row.hour); }), data.categories,
        function (code) { return today.map(function (row) { return row[code]; }); }),
      options: stackedOptions("x")
    });

    var contact = shown(data.contact_by_hour);
    draw("chart-contact", {
      type: "bar",
      data: {
        labels: contact.map(function (row) { return hourLabel(row.hour); }),
        datasets: [
          {
            type: "line",
            label: root.getAttribute("data-label-rate"),
            data: contact.map(function (row) {
              return row.contact_rate === null ? null : Math.round(row.contact_rate * 1000) / 10;
            }),
            borderColor: COLORS.human,
            backgroundColor: COLORS.human,
            yAxisID: "rate",
            spanGaps: true,
            tension: 0.25,
            pointRadius: 3
          },
          {
            type: "bar",
            label: root.getAttribute("data-label-calls"),
            data: contact.map(function (row) { return row.dialled; }),
            backgroundColor: "#cfd6de",
            yAxisID: "calls"
          }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { grid: { display: false } },
          rate: { position: "left", beginAtZero: true, suggestedMax: 100,
                  ticks: { callback: function (value) { return value + "%"; } } },
          calls: { position: "right", beginAtZero: true, grid: { display: false },
                   ticks: { precision: 0 } }
        }
      }
    });

    var campaigns = data.outcomes_by_campaign;
    draw("chart-campaigns", {
      type: "bar",
      data: stacked(campaigns.map(function (row) { return row.name; }), data.categories,
        function (code) { return campaigns.map(function (row) { return row[code]; }); }),
      options: stackedOptions("y")
    });

    document.getElementById("generated-at").textContent = data.display.generated_at;
  }

  function load() {
    fetch(root.getAttribute("data-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload();
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(render)
      .catch(function () { /* keep the last charts; the next refresh retries */ })
      .finally(function () { window.setTimeout(load, REFRESH_MS); });
  }

  load();
})();
