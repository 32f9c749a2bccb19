/* ratewire web widget: shows the visitor's satisfaction survey inline and sends their answer.
 * Embed with one tag:
 *   <script src="https://RATEWIRE/widget.js" data-tenant="acme" data-channel="ch_…"
 *           data-visitor="VISITOR_ID" data-visitor-token="HMAC" async></script>
 * Optional: data-target="element-id" (render inside it instead of a floating card, which has a
 *           close button),
 *           data-conversation="CONVERSATION_ID" (the conversation the page is about: text typed
 *           here is never the comment of another conversation's survey; lets the visitor rate on
 *           their own, if allowed).
 * The gateway sends the whole survey view whenever it changes, so the widget only draws, in a
 * shadow root of its own <ratewire-widget> element, out of the host page's styles' reach. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var data = script.dataset;
  // The socket sits next to the script, so a `public_url` with a path
  // (https://example.com/ratewire/widget.js) keeps its path: …/ratewire/widget/ws.
  var wsUrl = new URL("widget/ws", new URL(script.src, location.href));
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";
  wsUrl.search = new URLSearchParams({
    tenant: data.tenant || "", channel: data.channel || "", visitor: data.visitor || "",
    token: data.visitorToken || "", lang: (navigator.languages || [navigator.language]).join(","),
    conversation: data.conversation || ""
  }).toString();

  // The widget draws in a shadow root of its own element, so the host page's styles (its
  // `button {…}`, `* {font-family…}`) can't reach inside; `all: initial` on the host stops what
  // would still be inherited through it. Its fonts end with emoji fonts; the faces start with
  // them, or a text font's black-and-white faces would be drawn instead.
  var emoji = "'Apple Color Emoji','Segoe UI Emoji','Noto Color Emoji'";
  var font = "system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Helvetica Neue',Arial,sans-serif," + emoji;
  var css = ":host{all:initial !important;display:block !important}[hidden]{display:none !important}" +
    ".rw-card{position:relative;box-sizing:border-box;font:15px/1.45 " + font + ";color:#1d2330;background:#fff;text-align:start;" +
    "border:1px solid #d9dee8;border-radius:12px;padding:14px 16px;max-width:360px;box-shadow:0 6px 24px rgba(20,30,60,.12)}" +
    ".rw-card *{font-family:inherit;letter-spacing:normal;text-transform:none;box-sizing:border-box}" +
    ".rw-float{position:fixed;bottom:20px;right:20px;z-index:2147483000;padding-inline-end:40px}[dir=rtl].rw-float{right:auto;left:20px}" +
    ".rw-q{margin:0 0 10px;font-weight:600;color:#1d2330}.rw-levels{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 6px}" +
    ".rw-level{font:inherit;color:#1d2330;min-width:38px;min-height:38px;border:1px solid #c9d0dd;border-radius:8px;background:#f7f8fb;cursor:pointer;padding:4px 8px}" +
    ".rw-level:focus-visible,.rw-send:focus-visible,.rw-reason:focus-visible,.rw-close:focus-visible{outline:3px solid #2357d9;outline-offset:2px}" +
    ".rw-level:disabled{cursor:default;color:#1d2330}.rw-level[aria-pressed=true]{background:#2357d9;color:#fff;border-color:#2357d9}" +
    ".rw-stars .rw-level{font-size:24px;color:#c3c9d6;background:none;border:none;min-width:34px;padding:0}" +
    ".rw-stars .rw-level.rw-on{color:#f5a623}.rw-stars .rw-level[aria-pressed=true]{background:none;color:#f5a623}" +
    ".rw-faces .rw-level{font-size:24px;background:none;font-family:" + emoji + ",sans-serif}.rw-label{font-size:13px;color:#5b6475;min-height:1.2em;margin:0 0 8px}" +
    ".rw-say{margin:8px 0 0;color:#23683a}.rw-error{margin:8px 0 0;color:#b42318}" +
    ".rw-comment{display:flex;gap:6px;margin-top:8px}.rw-comment textarea{flex:1;font:inherit;color:#1d2330;background:#fff;border:1px solid #c9d0dd;border-radius:8px;padding:6px;min-height:54px}" +
    ".rw-send,.rw-reason{font:inherit;border-radius:8px;border:1px solid #2357d9;background:#2357d9;color:#fff;padding:6px 12px;cursor:pointer}" +
    ".rw-reason{background:#eef2fb;color:#1d2330;border-color:#d3dbee;margin:0 6px 6px 0}.rw-done{color:#5b6475;font-size:13px;margin-top:6px}" +
    ".rw-close{position:absolute;top:6px;inset-inline-end:6px;width:32px;height:32px;font:20px/1 " + font + ";color:#5b6475;" +
    "background:none;border:none;border-radius:8px;cursor:pointer;padding:0}.rw-close:hover{background:#eef2fb;color:#1d2330}";

  var target = data.target && document.getElementById(data.target);
  var holder = document.createElement("ratewire-widget");
  var shadow = holder.attachShadow({ mode: "open" });
  var root = document.createElement("div");
  root.className = "rw-card" + (target ? "" : " rw-float");
  root.setAttribute("role", "region");
  root.hidden = true;
  var style = document.createElement("style");
  style.textContent = css;
  shadow.appendChild(style);
  shadow.appendChild(root);
  (target || document.body).appendChild(holder);
  // The floating card the visitor closed: it stays closed until another survey comes.
  var closed = null;

  var socket = null, view = null, retry = 0, pinger = null, lastSay = "", lastError = "";
  // The survey last drawn, and the comment being typed for it.
  var drawn = null, draft = "";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function send(message) {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify(message));
  }

  function render() {
    // A redraw must not lose the visitor's place: the control they were on keeps the focus
    // (a keyboard rating redraws the card) and a comment being typed stays.
    var active = shadow.activeElement ? shadow.activeElement.getAttribute("data-rw") : null;
    root.textContent = "";
    if (!view || view.id !== drawn) { active = null; draft = ""; }
    drawn = view ? view.id : null;
    if (!view || view.id === closed) { root.hidden = true; return; }
    root.hidden = false;
    root.setAttribute("dir", view.rtl ? "rtl" : "ltr");
    root.setAttribute("lang", view.locale);
    root.setAttribute("aria-label", view.invitation);
    if (!target) {
      var close = el("button", "rw-close", "×");
      close.type = "button";
      close.setAttribute("aria-label", view.texts.close);
      close.setAttribute("data-rw", "close");
      close.addEventListener("click", function () { closed = view.id; render(); });
      root.appendChild(close);
    }
    if (view.state === "expired") {
      root.appendChild(el("p", "rw-q", view.texts.expiry_notice));
      return;
    }
    var question = el("p", "rw-q", view.invitation);
    question.id = "rw-q-" + view.id;
    root.appendChild(question);
    var levels = el("div", "rw-levels rw-" + view.kind);
    levels.setAttribute("role", "group");
    levels.setAttribute("aria-labelledby", question.id);
    var label = el("p", "rw-label", "");
    label.setAttribute("aria-live", "polite");
    var buttons = [];
    view.levels.forEach(function (level) {
      var button = el("button", "rw-level", level.title);
      button.type = "button";
      button.setAttribute("data-rw", "level-" + level.score);
      var name = view.kind === "stars" ? level.score + " / " + view.levels.length : String(level.score);
      button.setAttribute("aria-label", level.label ? name + " – " + level.label : name);
      button.setAttribute("aria-pressed", view.score === level.score ? "true" : "false");
      button.disabled = !view.can_change;
      if (view.kind === "stars" && view.score != null && level.score <= view.score) button.classList.add("rw-on");
      button.addEventListener("mouseenter", function () {
        label.textContent = level.label || "";
        if (view.kind === "stars") buttons.forEach(function (b, i) { b.classList.toggle("rw-on", i < level.score); });
      });
      button.addEventListener("focus", function () { label.textContent = level.label || ""; });
      button.addEventListener("click", function () { send({ type: "rate", survey: view.id, score: level.score }); });
      buttons.push(button);
      levels.appendChild(button);
    });
    levels.addEventListener("mouseleave", function () {
      label.textContent = "";
      if (view.kind === "stars") buttons.forEach(function (b, i) { b.classList.toggle("rw-on", view.score != null && i < view.score); });
    });
    // Arrow keys move between levels, as in a radio group.
    levels.addEventListener("keydown", function (event) {
      var index = buttons.indexOf(shadow.activeElement);
      if (index < 0) return;
      var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
      if (!step) return;
      if (view.rtl && (event.key === "ArrowRight" || event.key === "ArrowLeft")) step = -step;
      var next = buttons[Math.max(0, Math.min(buttons.length - 1, index + step))];
      if (next) { next.focus(); event.preventDefault(); }
    });
    root.appendChild(levels);
    root.appendChild(label);
    if (view.score != null) root.appendChild(el("p", "rw-say", view.texts.thank_you));
    if (view.awaits_reason) {
      root.appendChild(el("p", "rw-q", view.texts.reason_prompt));
      view.reasons.forEach(function (pair) {
        var reason = el("button", "rw-reason", pair[1]);
        reason.type = "button";
        reason.setAttribute("data-rw", "reason-" + pair[0]);
        reason.addEventListener("click", function () { send({ type: "reason", survey: view.id, reason: pair[0] }); });
        root.appendChild(reason);
      });
    }
    if (view.awaits_comment) {
      var form = el("form", "rw-comment");
      var box = el("textarea");
      box.setAttribute("aria-label", view.texts.comment_prompt);
      box.maxLength = 4000;
      box.value = draft;
      box.setAttribute("data-rw", "comment");
      box.addEventListener("input", function () { draft = box.value; });
      var submit = el("button", "rw-send", view.texts.send);
      submit.type = "submit";
      submit.setAttribute("data-rw", "send");
      form.appendChild(box);
      form.appendChild(submit);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (box.value.trim()) send({ type: "comment", survey: view.id, text: box.value });
      });
      root.appendChild(el("p", "rw-label", view.texts.comment_prompt));
      root.appendChild(form);
    }
    if (view.comment) root.appendChild(el("p", "rw-done", "“" + view.comment + "” — " + view.texts.comment_thanks));
    // What the gateway said, unless the card already shows it.
    var shown = [view.texts.thank_you, view.texts.comment_thanks];
    if (view.awaits_comment) shown.push(view.texts.comment_prompt);
    if (view.awaits_reason) shown.push(view.texts.reason_prompt);
    if (lastError) root.appendChild(el("p", "rw-error", lastError));
    else if (lastSay && shown.indexOf(lastSay) < 0) root.appendChild(el("p", "rw-say", lastSay));
    if (active) {
      var controls = root.querySelectorAll("[data-rw]");
      for (var i = 0; i < controls.length; i++) {
        if (controls[i].getAttribute("data-rw") === active && !controls[i].disabled) { controls[i].focus(); break; }
      }
    }
  }

  function connect() {
    socket = new WebSocket(wsUrl.href);
    socket.onopen = function () {
      retry = 0;
      clearInterval(pinger);
      pinger = setInterval(function () { send({ type: "ping" }); }, 25000);
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "survey") {
        if (!message.survey || !view || message.survey.id !== view.id) { lastSay = ""; lastError = ""; }
        view = message.survey;
        render();
      } else if (message.type === "say") {
        lastSay = message.text; lastError = ""; render();
      } else if (message.type === "error") {
        lastError = message.message; render();
      }
    };
    socket.onclose = function () {
      clearInterval(pinger);
      // Reconnect with backoff; the survey is redrawn from the gateway on reconnect.
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, Math.min(30000, 500 * Math.pow(2, retry)) * (0.8 + Math.random() * 0.4));
    };
  }

  window.ratewire = { say: function (text) { send({ type: "text", text: String(text) }); } };
  connect();
})();
