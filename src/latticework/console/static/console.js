// Latticework console: weight sliders that post through the console's actions, and the live request tail.
"use strict";

function showOutcome(text, isError) {
  const box = document.getElementById("outcome");
  if (!box) return;
  box.textContent = text;
  box.className = isError ? "error" : "message";
  box.hidden = false;
}

async function postForm(form) {
  const response = await fetch(form.action, {
    method: "POST",
    headers: { "accept": "application/json", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(new FormData(form)).toString(),
  });
  const result = await response.json();
  showOutcome(result.message || result.error, !response.ok);
  return response.ok;
}

function linkSliders(form) {
  const sliders = Array.from(form.querySelectorAll("input.weight"));
  sliders.forEach((slider) => {
    slider.addEventListener("input", () => {
      // Two target groups: the other one gets the rest of 100, so the slider reads as a traffic split.
      if (sliders.length === 2) {
        const other = sliders[0] === slider ? sliders[1] : sliders[0];
        other.value = String(Math.max(0, 100 - Number(slider.value)));
      }
      sliders.forEach((s) => { s.nextElementSibling.textContent = s.value; });
    });
    slider.addEventListener("change", () => { slider.dispatchEvent(new Event("input")); postForm(form); });
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); postForm(form); });
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  return td;
}

async function refreshTail() {
  const live = document.getElementById("live");
  if (live && !live.checked) return;
  const filters = new URLSearchParams(new FormData(document.getElementById("filters")));
  const response = await fetch("/console/api/requests?" + filters.toString());
  if (!response.ok) return;
  const records = (await response.json()).records;
  const body = document.querySelector("#tail tbody");
  body.replaceChildren(...records.reverse().map((r) => {
    const row = document.createElement("tr");
    row.className = "s" + String(r.responseCode || "").charAt(0);
    ["startTime", "requestMethod", "hostHeader", "requestPath", "responseCode", "duration", "targetIpPort",
     "failureReason"].forEach((name) => row.appendChild(cell(r[name])));
    return row;
  }));
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form.weights").forEach(linkSliders);
  if (document.getElementById("tail")) {
    refreshTail();
    setInterval(refreshTail, 1000);
    document.getElementById("filters").addEventListener("input", refreshTail);
  }
});
