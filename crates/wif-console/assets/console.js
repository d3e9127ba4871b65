// wif console: live rows on the token exchanges page, and the credential form's scenario
// switch. Values are set with textContent only: nothing from the server becomes markup.
"use strict";

function cell(row, label, text, className) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function link(parent, href, text) {
  // Only the console's own pages: the server builds these under /_console/.
  if (!href || !href.startsWith("/_console/")) return;
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  const p = document.createElement("div");
  p.appendChild(a);
  parent.appendChild(p);
}

function addRow(body, r) {
  if (body.querySelector('tr[data-seq="' + String(Number(r.seq)) + '"]')) return;
  const row = document.createElement("tr");
  row.dataset.seq = String(Number(r.seq));
  row.dataset.outcome = r.outcome === "issued" ? "issued" : "refused";
  row.className = row.dataset.outcome;
  cell(row, "Time", r.time);
  cell(row, "Tenant", r.tenant, "id");
  cell(row, "Client", r.client_id, "id");
  cell(row, "Issuer", r.issuer);
  const subject = cell(row, "Subject", r.subject);
  if (!r.verified && r.subject) {
    const mark = document.createElement("span");
    mark.className = "hint";
    mark.textContent = " (unverified)";
    subject.appendChild(mark);
  }
  cell(row, "Audience", r.audience);
  cell(row, "Outcome", r.outcome_label, "outcome");
  const why = cell(row, "Diagnosis", r.diagnosis);
  link(why, r.fix_href, "Fix the credential");
  link(why, r.add_href, "Add the credential this token needs");
  body.insertBefore(row, body.firstChild);
  const empty = document.getElementById("no-exchanges");
  if (empty) empty.hidden = true;
}

function liveExchanges() {
  const table = document.getElementById("exchanges");
  if (!table || !window.EventSource) return;
  const body = table.tBodies[0];
  const status = document.getElementById("live-status");
  const after = Number(table.dataset.lastSeq || "0");
  const events = new EventSource("/_console/exchanges/events?after=" + after);
  events.addEventListener("open", function () { if (status) status.textContent = "Live: new exchanges appear here as they happen."; });
  events.addEventListener("error", function () { if (status) status.textContent = "Live updates paused; reconnecting…"; });
  events.addEventListener("exchange", function (e) {
    try { addRow(body, JSON.parse(e.data)); } catch (_) { /* a malformed event is skipped */ }
  });
}

function scenarioSwitch() {
  const select = document.getElementById("scenario");
  if (!select) return;
  const update = function () {
    const kubernetes = select.value === "kubernetes";
    document.querySelectorAll("[data-scenario]").forEach(function (el) {
      el.hidden = el.dataset.scenario !== (kubernetes ? "kubernetes" : "other");
    });
    const label = document.getElementById("issuer-label");
    if (label) label.textContent = kubernetes ? label.dataset.kubernetes : label.dataset.other;
    const ns = document.getElementById("namespace");
    const sa = document.getElementById("service_account");
    const subject = document.getElementById("subject");
    if (subject) {
      subject.readOnly = kubernetes;
      if (kubernetes && ns && sa) subject.value = "system:serviceaccount:" + ns.value.trim() + ":" + sa.value.trim();
    }
  };
  select.addEventListener("change", update);
  ["namespace", "service_account"].forEach(function (id) {
    const el = document.getElementById(id);
    if (el) el.addEventListener("input", update);
  });
  update();
}

document.addEventListener("DOMContentLoaded", function () {
  liveExchanges();
  scenarioSwitch();
});
