// Cairn review workspace: the queue's keyboard (grading, moving, revealing, flagging, undo).
// Served from the package; no other script is loaded. Every request that changes anything
// carries the session's CSRF token in X-CSRF-Token.
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf || "";

  function post(url, body) {
    const options = { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options);
  }

  // The item page: one picture, revealed with R or its button, hidden again the same way.
  function itemPage(item) {
    const base = "/cases/" + encodeURIComponent(item.dataset.case) + "/items/" + item.dataset.sha256;
    const img = document.getElementById("item-thumb");
    const button = document.getElementById("reveal");
    const status = document.getElementById("status");
    const gate = document.getElementById("gate");
    let shown = null;
    if (!img || !button) { return; }
    function hide() {
      if (!shown) { return; }
      img.src = base + "/protected.jpg";
      URL.revokeObjectURL(shown.url);
      post("/exposure/" + shown.exposure + "/end");
      shown = null;
      button.textContent = "Reveal (R)";
    }
    async function reveal(violentOk) {
      if (shown) { hide(); status.textContent = "Hidden again."; return; }
      const response = await post(base + "/reveal" + (violentOk ? "?violent_ok=true" : ""));
      if (response.status === 409) { gate.hidden = false; document.getElementById("gate-no").focus(); return; }
      if (!response.ok) { status.textContent = "Cannot reveal this item."; return; }
      const url = URL.createObjectURL(await response.blob());
      shown = { url: url, exposure: response.headers.get("X-Exposure-Id") };
      img.src = url;
      button.textContent = "Hide (R)";
      status.textContent = "Revealed.";
    }
    function closeGate(yes) { gate.hidden = true; button.focus(); if (yes) { reveal(true); } }
    button.addEventListener("click", function () { reveal(false); });
    document.getElementById("gate-yes").addEventListener("click", function () { closeGate(true); });
    document.getElementById("gate-no").addEventListener("click", function () { closeGate(false); });
    document.addEventListener("keydown", function (event) {
      if (!gate.hidden) {
        if (event.key === "y" || event.key === "Y") { event.preventDefault(); closeGate(true); }
        else if (event.key === "Escape") { event.preventDefault(); closeGate(false); }
        return;
      }
      if (event.target.closest && event.target.closest("input, select, textarea")) { return; }
      if (event.key === "r" && !event.ctrlKey && !event.metaKey && !event.altKey) { event.preventDefault(); reveal(false); }
    });
    window.addEventListener("pagehide", hide);
  }

  const item = document.getElementById("item");
  if (item) { itemPage(item); }
  const queue = document.getElementById("queue");
  const keysNode = document.getElementById("hotkeys");
  if (!queue || !keysNode) { return; }
  const caseRef = queue.dataset.case;
  const base = "/cases/" + encodeURIComponent(caseRef);
  const keys = JSON.parse(keysNode.textContent);
  const byKey = new Map(keys.map(function (k) { return [k.key, k]; }));
  const status = document.getElementById("status");
  const gate = document.getElementById("gate");
  const undoStack = [];
  const reveals = new Map(); // sha256 -> {url, exposure}
  let gateFor = null;

  function cards() { return Array.from(queue.querySelectorAll("li.card")); }
  function current() { return queue.querySelector('li.card[aria-current="true"]'); }
  function say(text) { status.textContent = text; }

  function conceal(card) {
    const shown = reveals.get(card.dataset.sha256);
    if (!shown) { return; }
    reveals.delete(card.dataset.sha256);
    const img = card.querySelector("img.thumb");
    if (img) {
      img.src = base + "/items/" + card.dataset.sha256 + "/protected.jpg";
      img.classList.add("protected");
    }
    URL.revokeObjectURL(shown.url);
    post("/exposure/" + shown.exposure + "/end");
  }

  function select(card) {
    const was = current();
    if (was === card || !card) { return; }
    if (was) { was.removeAttribute("aria-current"); conceal(was); }
    card.setAttribute("aria-current", "true");
    card.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const all = cards();
    const at = all.indexOf(current());
    const next = all[Math.min(all.length - 1, Math.max(0, at + step))];
    select(next);
  }

  function nextUngraded(from) {
    const all = cards();
    const at = all.indexOf(from);
    for (let i = at + 1; i < all.length; i++) {
      if (!all[i].classList.contains("graded")) { return all[i]; }
    }
    return null;
  }

  function mark(card, category) {
    if (category) {
      card.classList.add("graded");
      card.dataset.grade = category;
    } else {
      card.classList.remove("graded");
      delete card.dataset.grade;
    }
    card.querySelector(".grade").textContent = category || "";
  }

  function pageDone() {
    const nextPage = queue.dataset.next;
    if (nextPage) {
      say("Page graded: loading the next page.");
      window.location.assign(nextPage);
    } else {
      say("Queue cleared: every item on the last page is graded.");
    }
  }

  async function grade(targets, category) {
    if (targets.length === 0) { return; }
    const response = await post(base + "/grade", {
      items: targets.map(function (c) { return c.dataset.sha256; }),
      category: category,
    });
    if (!response.ok) { say("Not graded: " + (await response.text())); return; }
    const result = await response.json();
    undoStack.push(targets.map(function (c) { return [c, c.dataset.grade || ""]; }));
    targets.forEach(function (c) { mark(c, category); });
    say("Graded " + result.votes + " item(s) as " + category + ".");
    const last = targets[targets.length - 1];
    const next = nextUngraded(last);
    if (next) { select(next); } else { pageDone(); }
  }

  async function undo() {
    const last = undoStack.pop();
    if (!last) { say("Nothing to undo."); return; }
    const response = await post(base + "/grade/undo", {
      items: last.map(function (pair) { return pair[0].dataset.sha256; }),
    });
    if (!response.ok) { undoStack.push(last); say("Undo failed."); return; }
    last.forEach(function (pair) { mark(pair[0], ""); });
    select(last[0][0]);
    say("Undone.");
  }

  async function reveal(card, violentOk) {
    if (reveals.has(card.dataset.sha256)) { conceal(card); say("Hidden again."); return; }
    const url = base + "/items/" + card.dataset.sha256 + "/reveal" + (violentOk ? "?violent_ok=true" : "");
    const response = await post(url);
    if (response.status === 409) { openGate(card); return; }
    if (!response.ok) { say("Cannot reveal this item."); return; }
    const blob = await response.blob();
    const objectUrl = URL.createObjectURL(blob);
    reveals.set(card.dataset.sha256, { url: objectUrl, exposure: response.headers.get("X-Exposure-Id") });
    const img = card.querySelector("img.thumb");
    img.src = objectUrl;
    img.classList.remove("protected");
    card.classList.add("revealed");
    say("Revealed. Press R again to hide it.");
  }

  function openGate(card) {
    gateFor = card;
    gate.hidden = false;
    document.getElementById("gate-no").focus();
  }

  function closeGate(reveal_) {
    const card = gateFor;
    gateFor = null;
    gate.hidden = true;
    queue.focus();
    if (reveal_ && card) { reveal(card, true); } else { say("Kept hidden."); }
  }

  async function flag(card) {
    const response = await post(base + "/items/" + card.dataset.sha256 + "/flag");
    say(response.ok ? "Flagged as violent for the other reviewers." : "Not flagged.");
  }

  document.getElementById("gate-yes").addEventListener("click", function () { closeGate(true); });
  document.getElementById("gate-no").addEventListener("click", function () { closeGate(false); });
  queue.setAttribute("tabindex", "-1");
  queue.addEventListener("click", function (event) {
    const card = event.target.closest("li.card");
    if (card && event.target.tagName !== "A") { select(card); }
  });

  document.addEventListener("keydown", function (event) {
    if (gateFor) {
      if (event.key === "y" || event.key === "Y") { event.preventDefault(); closeGate(true); }
      else if (event.key === "Escape") { event.preventDefault(); closeGate(false); }
      return;
    }
    const target = event.target;
    if (target.closest && target.closest("input, select, textarea")) { return; }
    if (event.key === "Enter" && target.closest && target.closest("a, button")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    const key = byKey.get(event.key);
    if (!key) { return; }
    event.preventDefault();
    const card = current();
    switch (key.action) {
      case "grade": if (card) { grade([card], key.category); } break;
      case "grade-page": grade(cards().filter(function (c) { return !c.classList.contains("graded"); }), key.category); break;
      case "undo": undo(); break;
      case "next": move(1); break;
      case "previous": move(-1); break;
      case "reveal": if (card) { reveal(card, false); } break;
      case "flag": if (card) { flag(card); } break;
      case "open": if (card) { window.location.assign(card.querySelector("a.open").href); } break;
      case "next-page": if (queue.dataset.next) { window.location.assign(queue.dataset.next); } break;
    }
  });
  window.addEventListener("pagehide", function () { cards().forEach(conceal); });
})();
