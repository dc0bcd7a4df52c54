/* Live progress: polls the page's progress.json (data-url of #progress) and lists the queued and
   running audits; when one of them ends, the page reloads to show its results. No library. */
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || !window.fetch) { return; }
  var list = box.querySelector("ul");
  var seen = null; // ids active at the previous poll
  var idle = box.dataset.idle || "";

  function render(data) {
    list.textContent = "";
    data.audits.forEach(function (a) {
      var item = document.createElement("li");
      item.className = "audit-" + a.status;
      var link = document.createElement("a");
      link.href = a.host_url;
      link.textContent = a.host;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" · " + a.status_label + " · " + a.trigger));
      list.appendChild(item);
    });
    var more = data.count - data.audits.length;
    if (more > 0) {
      var rest = document.createElement("li");
      rest.textContent = "+" + more;
      list.appendChild(rest);
    }
    box.classList.toggle("active", data.count > 0);
    box.querySelector(".idle").textContent = data.count ? "" : idle;
  }

  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var now = data.audits.map(function (a) { return a.id; });
        var ended = seen && seen.some(function (id) { return now.indexOf(id) < 0; });
        seen = now;
        render(data);
        if (ended) { window.location.reload(); return; }
        window.setTimeout(poll, now.length ? 2000 : 5000);
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  poll();
})();
