// Keeps the overview current: polls the JSON API and copies its ready-formatted text into the
// table. The server formats every value (in the user's language); this script never does.
(function () {
  "use strict";

  var status = document.getElementById("updated");
  if (!status) {
    return;
  }
  var url = status.getAttribute("data-url");
  var every = Math.max(2, parseInt(status.getAttribute("data-poll-seconds"), 10) || 5) * 1000;
  var stale = document.getElementById("stale");
  var stamp = document.getElementById("generated-at");
  var table = document.getElementById("overview");

  function setText(node, text) {
    var value = text === null || text === undefined ? "" : String(text);
    if (node.textContent !== value) {
      node.textContent = value;
      node.classList.remove("changed");
      void node.offsetWidth; // restart the highlight animation
      node.classList.add("changed");
    }
  }

  function sameCampaigns(campaigns) {
    var rows = table.querySelectorAll("tbody tr[data-campaign]");
    if (rows.length !== campaigns.length) {
      return false;
    }
    for (var i = 0; i < rows.length; i += 1) {
      if (rows[i].getAttribute("data-campaign") !== campaigns[i].id) {
        return false;
      }
    }
    return true;
  }

  function sameConfig(data) {
    var shown = JSON.parse(status.getAttribute("data-config") || "null");
    return JSON.stringify(shown) === JSON.stringify([data.config_ok, data.config_problems]);
  }

  function render(data) {
    if (!sameCampaigns(data.campaigns) || !sameConfig(data)) {
      // A campaign was added or removed, or campaigns.yaml's state changed (an edit refused or
      // mended): redraw the whole page, whose alert says so.
      window.location.reload();
      return;
    }
    data.campaigns.forEach(function (campaign) {
      var row = table.querySelector('tr[data-campaign="' + CSS.escape(campaign.id) + '"]');
      row.setAttribute("data-state", campaign.state);
      row.querySelectorAll("[data-field]").forEach(function (cell) {
        setText(cell, campaign.display[cell.getAttribute("data-field")]);
      });
      row.querySelectorAll("form[data-show]").forEach(function (form) {
        var wanted = form.getAttribute("data-show") === "paused";
        form.hidden = wanted !== campaign.paused;
      });
    });
    document.querySelectorAll("[data-total-field]").forEach(function (cell) {
      setText(cell, data.totals.display[cell.getAttribute("data-total-field")]);
    });
    stamp.textContent = data.display.generated_at;
    stamp.setAttribute("datetime", data.generated_at);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          window.location.reload(); // logged out: the page sends us to the login form
          throw new Error("logged out");
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        stale.hidden = true;
        status.classList.remove("is-stale");
        render(data);
      })
      .catch(function () {
        stale.hidden = false;
        status.classList.add("is-stale");
      })
      .finally(function () {
        window.setTimeout(poll, every);
      });
  }

  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  window.setTimeout(poll, every);
})();
