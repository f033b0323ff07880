// The review board's keyboard: one tab stop per card, and shortcuts that press the card's own buttons.
//
//   j / k next / previous card     K or a keep (restore a dropped one)     x drop     e edit
//   s swap in (on a kept card: pick the runner-up that replaces it)       m move     [ / ] up / down
//   o open the text     Enter into the card's controls, Esc back out     ? help
//
// Every shortcut clicks a button or submits a form the page already has, so the board without this file
// (or without script) is the same board. Served as a static file: the CSP allows it and nothing inline.
(function () {
  "use strict";

  var CONTROLS = "a[href], button, select, textarea, input, summary";
  var current = null; // the card the keys act on
  var replacing = null; // a kept card's id while the editor picks the runner-up that replaces it

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("article.story")); }
  function cardOf(el) { return el && el.closest ? el.closest("article.story") : null; }
  function act(card, name) { return card.querySelector('[data-act="' + name + '"]'); }

  var status = document.createElement("p");
  status.className = "kbd-status";
  status.setAttribute("role", "status");
  status.hidden = true;
  document.body.appendChild(status);

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  // A card's controls are tab stops only while the editor is inside it (Enter, e, m), never otherwise.
  function setOpen(card, open) {
    card.querySelectorAll(CONTROLS).forEach(function (el) {
      if (open) { el.removeAttribute("tabindex"); } else { el.tabIndex = -1; }
    });
    card.classList.toggle("open", open);
  }

  function focusCard(card) {
    if (!card) { return; }
    if (current && current !== card) { setOpen(current, false); }
    current = card;
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function step(delta) {
    var all = cards();
    var i = current ? all.indexOf(current) : -1;
    if (i < 0) { focusCard(all[delta > 0 ? 0 : all.length - 1]); return; }
    focusCard(all[Math.min(Math.max(i + delta, 0), all.length - 1)]);
  }

  // After the form posts, the board answers with the page at #story-<focus>: the card that makes sense next
  // (the following one after a drop), which the browser scrolls to and start() focuses.
  function submitThen(control, focusId) {
    if (!control || control.disabled) { return false; }
    var form = control.tagName === "FORM" ? control : control.form;
    var field = form.querySelector("input[name=focus]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "focus";
      form.appendChild(field);
    }
    field.value = String(focusId);
    if (control.tagName === "FORM") {
      form.requestSubmit(form.querySelector("button[type=submit]"));
    } else {
      control.click();
    }
    return true;
  }

  function neighbour(card) {
    var same = cards().filter(function (c) { return c.dataset.kind === card.dataset.kind; });
    var i = same.indexOf(card);
    var next = same[i + 1] || same[i - 1];
    return next ? next.dataset.story : card.dataset.story;
  }

  function edit(card) {
    var details = act(card, "edit");
    if (!details) { say("候选和已删除的条目不能编辑：先换入或恢复"); return; }
    details.open = true;
    setOpen(card, true);
    details.querySelector("textarea").focus();
  }

  function move(card) {
    var form = act(card, "move");
    if (!form) { say("只有已选的条目能移动栏目"); return; }
    setOpen(card, true);
    form.querySelector("select").focus();
    say("方向键选栏目，Enter 确定，Esc 取消");
  }

  function swap(card) {
    var form = act(card, "swap");
    if (form) {
      var pick = form.querySelector("select[name=replaces]");
      if (replacing && pick.querySelector('option[value="' + replacing + '"]')) { pick.value = replacing; }
      submitThen(form, card.dataset.story);
      return;
    }
    // A kept card: the runner-up the editor picks next takes its place.
    replacing = card.dataset.story;
    var runners = cards().filter(function (c) { return c.dataset.kind === "runner"; });
    if (!runners.length) { say("没有可换入的候选"); replacing = null; return; }
    focusCard(runners[0]);
    say("用 j / k 选一个候选，按 s 让它替换「" + card.querySelector(".title").textContent + "」；Esc 取消");
  }

  function toggleHelp(show) {
    var help = document.getElementById("keys");
    if (!help) { return; }
    help.hidden = show === undefined ? !help.hidden : !show;
    if (!help.hidden) { help.querySelector("[data-keys-close]").focus(); } else if (current) { focusCard(current); }
  }

  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && el.type !== "checkbox" && el.type !== "submit" && el.type !== "button"));
  }

  function onKey(ev) {
    var target = ev.target;
    // The keys act on the card holding the focus (or the last one, when the focus fell back to the page),
    // never on a card while the editor is in the header or the add form.
    var card = cardOf(target) || (target === document.body ? current : null);
    if (typing(target)) {
      if (ev.key === "Escape" && card) {
        var details = cardOf(target) && target.closest("details");
        if (details) { details.open = false; }
        say("");
        focusCard(card);
        ev.preventDefault();
      } else if (ev.key === "Enter" && target.form && (target.tagName === "SELECT" || ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        submitThen(target.form, card ? card.dataset.story : "");
      }
      return;
    }
    if (ev.ctrlKey || ev.altKey || ev.metaKey) { return; }
    if (ev.key === "?") { toggleHelp(); ev.preventDefault(); return; }
    if (ev.key === "Escape") {
      var help = document.getElementById("keys");
      if (help && !help.hidden) { toggleHelp(false); } else if (card) { replacing = null; say(""); setOpen(card, false); focusCard(card); }
      return;
    }
    if (ev.key === "j") { step(1); ev.preventDefault(); return; }
    if (ev.key === "k") { step(-1); ev.preventDefault(); return; }
    if (!card) { return; }
    var onCard = target === card;
    var handled = true;
    switch (ev.key) {
      case "K": case "a":
        if (!submitThen(act(card, "keep"), card.dataset.story)) { say("这一条已不在本期：用 s 换入"); }
        break;
      case "x":
        if (!submitThen(act(card, "drop"), neighbour(card))) { say("这一条不在本期，无需删除"); }
        break;
      case "e": edit(card); break;
      case "s": swap(card); break;
      case "m": move(card); break;
      case "[": submitThen(act(card, "up"), card.dataset.story); break;
      case "]": submitThen(act(card, "down"), card.dataset.story); break;
      case "o": var link = act(card, "open"); if (link) { link.click(); } break;
      case "Enter":
        if (!onCard) { handled = false; break; }
        setOpen(card, true);
        var first = Array.prototype.find.call(card.querySelectorAll(".actions " + "button, .actions select, .actions summary"),
          function (el) { return !el.disabled; });
        if (first) { first.focus(); }
        break;
      default: handled = false;
    }
    if (handled) { ev.preventDefault(); }
  }

  function start() {
    cards().forEach(function (card) { card.tabIndex = 0; setOpen(card, false); });
    document.addEventListener("keydown", onKey);
    document.addEventListener("focusin", function (ev) {
      var card = cardOf(ev.target);
      if (current && card !== current) { setOpen(current, false); }
      if (card) { current = card; }
    });
    document.querySelectorAll("[data-keys-open]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { toggleHelp(true); });
    });
    document.querySelectorAll("[data-keys-close]").forEach(function (b) {
      b.addEventListener("click", function () { toggleHelp(false); });
    });
    var hash = /^#story-(\d+)$/.exec(location.hash);
    var card = hash && document.getElementById("story-" + hash[1]);
    if (card) { focusCard(card); }
  }

  start();
}());
