"""The HTML report's own style sheet and script, inlined into the page.

Inline so the report is one file a trainer can mail or put on a USB stick and a student can open
with no network: no fonts, scripts or images are fetched. The script only reads the cells' data
attributes and writes text (textContent, never innerHTML), so nothing in a report's data can run.
"""

from __future__ import annotations

from labkit.report.html_markup import Html

CSS = Html("""
:root{--ink:#0f172a;--muted:#475569;--line:#cbd5e1;--bg:#f8fafc;--card:#fff;--ok:#15803d;--bad:#b91c1c;
--reach:#bbf7d0;--reach-ink:#14532d;--unreach:#e2e8f0;--unreach-ink:#1e293b;--error:#fde68a;--error-ink:#78350f;
--noaddr:#bae6fd;--noaddr-ink:#0c4a6e;--conflict:#e9d5ff;--conflict-ink:#581c87;--focus:#2563eb}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"DejaVu Sans",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:16px}
h1{font-size:1.55rem;margin:0 0 4px}h2{font-size:1.2rem;margin:0}h3{font-size:1.02rem;margin:0}
.sub{color:var(--muted);margin:0}
.banner{display:flex;flex-wrap:wrap;gap:8px 20px;align-items:center;margin:12px 0;padding:12px 16px;
border-radius:10px;border:2px solid var(--ok);background:#f0fdf4}
.banner.fail{border-color:var(--bad);background:#fef2f2}
.banner .big{font-size:1.15rem;font-weight:700;color:var(--ok)}.banner.fail .big{color:var(--bad)}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin:14px 0}
.legend{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:6px 16px;margin:8px 0 0;
padding:0;list-style:none}
.legend li{display:flex;gap:8px;align-items:center}
.swatch{flex:none;display:inline-flex;align-items:center;justify-content:center;width:2.1rem;height:1.7rem;
border-radius:5px;font-weight:700;border:2px solid transparent}
.notes{color:var(--muted);margin:8px 0 0;padding-left:1.2rem}
.toc{margin:6px 0 0;padding-left:1.4rem}.toc a{color:inherit}
.mark{font-weight:700}.mark.ok{color:var(--ok)}.mark.fail{color:var(--bad)}
.step{border-left:6px solid var(--ok)}.step.fail{border-left-color:var(--bad)}
.step-head{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:baseline}
.kind{color:var(--muted)}
.err{color:var(--bad);margin:6px 0}
table.vms{border-collapse:collapse;margin-top:8px;min-width:50%}
table.vms th,table.vms td{text-align:left;padding:4px 10px;border-bottom:1px solid var(--line);vertical-align:top}
.mx{display:grid;gap:14px;margin-top:10px}
@media (min-width:980px){.mx{grid-template-columns:minmax(0,1fr) 300px}.details{position:sticky;top:12px}}
.table-wrap{overflow-x:auto;padding:4px}
table.heatmap{border-collapse:separate;border-spacing:4px}
.heatmap th{font-weight:600;font-size:.9rem;padding:2px 6px;text-align:center;vertical-align:bottom}
.heatmap th.row{text-align:right;vertical-align:middle;white-space:nowrap}
.heatmap th.row,.heatmap th.corner{position:sticky;left:0;z-index:1;background:var(--card);
box-shadow:-8px 0 0 var(--card),4px 0 0 var(--card)}
.heatmap .corner{font-weight:400;color:var(--muted);font-size:.8rem;text-align:left}
.heatmap .addr{display:block;font-weight:400;color:var(--muted);font-size:.75rem}
.heatmap td{padding:0}
.heatmap td.self{text-align:center;color:#94a3b8;
background:repeating-linear-gradient(45deg,#f1f5f9 0 6px,#fff 6px 12px);
border-radius:6px}
button.cell{display:flex;flex-direction:column;align-items:center;justify-content:center;width:100%;min-width:5.6rem;
min-height:3.3rem;padding:4px;border:3px solid transparent;border-radius:7px;font:inherit;font-size:.85rem;
line-height:1.15;cursor:pointer}
button.cell .g{font-size:1.05rem;font-weight:700}
button.cell .w{font-weight:600}
button.cell .want{font-size:.72rem;font-weight:700;color:var(--bad)}
.o-reachable{background:var(--reach);color:var(--reach-ink)}
.o-unreachable{background:var(--unreach);color:var(--unreach-ink)}
.o-error{background:var(--error);color:var(--error-ink)}
.o-no_address{background:var(--noaddr);color:var(--noaddr-ink)}
.o-conflict{background:var(--conflict);color:var(--conflict-ink)}
button.cell.failed,.swatch.failed{border-color:var(--bad);box-shadow:inset 0 0 0 1px #fff}
button.cell:hover{filter:brightness(.95)}
button.cell:focus-visible,button.cell.selected{outline:3px solid var(--focus);outline-offset:2px}
.details{background:#fff;border:2px solid var(--line);border-radius:10px;padding:12px 14px;align-self:start}
.details h3{margin-bottom:6px}
.d-hint{color:var(--muted);margin:0}
.d-verdict{margin:0 0 8px;padding:6px 8px;border-radius:6px;font-weight:600;background:#f1f5f9}
.d-verdict.held{background:#dcfce7;color:#14532d}.d-verdict.failed{background:#fee2e2;color:#7f1d1d}
.d-verdict.conflict{background:var(--conflict);color:var(--conflict-ink)}
.details dl{margin:0}.details .row{display:grid;grid-template-columns:7.5rem 1fr;gap:6px;padding:3px 0;
border-top:1px solid #e2e8f0}
.details dt{color:var(--muted)}.details dd{margin:0;overflow-wrap:anywhere}
.counts{display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0 0;color:var(--muted)}
.failures{margin:10px 0 0;padding-left:1.2rem}.failures li{margin:3px 0}
button.goto{font:inherit;color:var(--focus);background:none;border:0;padding:0;text-decoration:underline;cursor:pointer}
details.topo{margin-top:12px}details.topo summary{cursor:pointer;font-weight:600}
.topo-wrap{overflow-x:auto}
svg.topology{width:100%;min-width:600px;height:auto;font-size:13px;display:block;margin:6px auto 0}
svg .box rect{fill:#fff;stroke:#475569;stroke-width:1.5}
svg .net.nat rect{fill:#ccfbf1;stroke:#0f766e}svg .net.hostonly rect{fill:#ffedd5;stroke:#c2410c}
svg .net.bridged rect,svg .net.lan rect{fill:#dbeafe;stroke:#1d4ed8}
svg .net.custom rect,svg .net.none rect{fill:#f1f5f9;stroke:#64748b;stroke-dasharray:5 4}
svg .host rect{fill:#1e293b;stroke:#0f172a}svg .host text{fill:#fff}
svg .router rect{fill:#e2e8f0}svg .ext rect{stroke-dasharray:4 3}
svg .vm.off rect{stroke-dasharray:5 4;fill:#f8fafc}svg .vm.off text{fill:#64748b}
svg text{fill:#0f172a}svg text.b{font-weight:700}svg text.lbl{font-size:12px}
svg .wire{stroke:#94a3b8;stroke-width:2}
svg .link.on{stroke:#16a34a;stroke-width:3}svg .link.off{stroke:#dc2626;stroke-width:2.5;stroke-dasharray:7 5}
svg .linklabel text{paint-order:stroke;stroke:#fff;stroke-width:5px;stroke-linejoin:round}
svg .linklabel.on text.b{fill:#166534}svg .linklabel.off text.b{fill:#b91c1c}
.caption{color:var(--muted);font-size:.85rem;margin:4px 0 0}
.changed{margin:6px 0 0;padding:6px 10px;border-radius:6px;background:#fef9c3}
#tip{position:fixed;z-index:10;max-width:280px;padding:6px 9px;border-radius:6px;background:#0f172a;color:#fff;
font-size:.82rem;pointer-events:none;box-shadow:0 4px 14px rgba(0,0,0,.25)}
#tip[hidden]{display:none}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
footer{color:var(--muted);font-size:.85rem;margin:24px 0 8px}
@media (max-width:600px){main{padding:8px}.card{padding:10px}button.cell{min-width:4.6rem;min-height:3rem;
font-size:.78rem}.heatmap th{font-size:.8rem}}
""")

JS = Html("""
(function () {
  "use strict";
  var FIELDS = ["address", "outcome", "expected", "loss", "rtt", "via", "why", "probe", "conflict"];
  var tip = document.getElementById("tip");

  function cellAt(table, r, c) {
    return table.querySelector('button.cell[data-r="' + r + '"][data-c="' + c + '"]');
  }

  function show(button) {
    var table = button.closest("table.heatmap");
    var panel = document.getElementById(table.getAttribute("data-panel"));
    table.querySelectorAll("button.cell.selected").forEach(function (b) {
      b.classList.remove("selected");
      b.setAttribute("aria-pressed", "false");
    });
    button.classList.add("selected");
    button.setAttribute("aria-pressed", "true");
    var d = button.dataset;
    panel.querySelector(".d-title").textContent = d.source + " \\u2192 " + d.target;
    panel.querySelector(".d-hint").hidden = true;
    var verdict = panel.querySelector(".d-verdict");
    verdict.textContent = d.judgement;
    verdict.className = "d-verdict " + d.state;
    FIELDS.forEach(function (key) {
      var dd = panel.querySelector('[data-f="' + key + '"]');
      var value = d[key] || "";
      dd.textContent = value;
      dd.parentNode.hidden = value === "";
    });
    panel.querySelector(".d-body").hidden = false;
  }

  function showTip(button) {
    var d = button.dataset;
    tip.textContent = "";
    var head = document.createElement("strong");
    head.textContent = d.source + " \\u2192 " + d.target + (d.address ? " (" + d.address + ")" : "");
    var line = document.createElement("div");
    line.textContent = d.judgement;
    var more = document.createElement("div");
    more.textContent = [d.loss, d.rtt, d.via ? "via " + d.via : ""].filter(Boolean).join(" \\u00b7 ");
    tip.appendChild(head);
    tip.appendChild(line);
    if (more.textContent) { tip.appendChild(more); }
    tip.hidden = false;
    var box = button.getBoundingClientRect();
    var width = tip.offsetWidth, height = tip.offsetHeight;
    var left = Math.min(Math.max(4, box.left + box.width / 2 - width / 2), window.innerWidth - width - 4);
    var top = box.top - height - 8;
    if (top < 4) { top = box.bottom + 8; }
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }

  function hideTip() { tip.hidden = true; }

  document.querySelectorAll("table.heatmap").forEach(function (table) {
    table.addEventListener("click", function (ev) {
      var b = ev.target.closest("button.cell");
      if (!b) { return; }
      hideTip();
      show(b);
      var panel = document.getElementById(table.getAttribute("data-panel")).getBoundingClientRect();
      if (panel.top > window.innerHeight - 80) {
        document.getElementById(table.getAttribute("data-panel")).scrollIntoView({block: "nearest"});
      }
    });
    table.addEventListener("mouseover", function (ev) {
      var b = ev.target.closest("button.cell");
      if (b) { showTip(b); }
    });
    table.addEventListener("mouseout", hideTip);
    table.addEventListener("focusin", function (ev) {
      var b = ev.target.closest("button.cell");
      if (b) { showTip(b); }
    });
    table.addEventListener("focusout", hideTip);
    table.addEventListener("keydown", function (ev) {
      var b = ev.target.closest("button.cell");
      var step = {ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0]}[ev.key];
      if (ev.key === "Escape") { hideTip(); return; }
      if (!b || !step) { return; }
      var r = Number(b.dataset.r), c = Number(b.dataset.c);
      for (var k = 0; k < 64; k++) {
        r += step[0]; c += step[1];
        if (r < 0 || c < 0) { return; }
        var next = cellAt(table, r, c);
        if (next) { ev.preventDefault(); next.focus(); return; }
      }
    });
  });

  document.querySelectorAll("button.goto").forEach(function (link) {
    link.addEventListener("click", function () {
      var cell = document.getElementById(link.getAttribute("data-cell"));
      if (cell) { cell.scrollIntoView({block: "center"}); cell.focus(); show(cell); }
    });
  });
  window.addEventListener("scroll", hideTip, {passive: true});
})();
""")
