/* MGD help chat: new messages without a reload, waited for (long poll) or asked every 2 s (the page works
   without it: it refreshes itself). */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector("[data-chat-news]");
  var status = document.getElementById("chat-status");
  var desk = document.querySelector("[data-chat-desk]");
  if (desk) {
    // The desk's queue: reloaded every 10 s while the advisor is not in the middle of something.
    window.setInterval(function () {
      if (document.activeElement === document.body || !document.activeElement) window.location.reload();
    }, 10000);
  }
  if (!list) return;
  var last = parseInt(list.getAttribute("data-chat-last"), 10) || 0;
  var busy = false;

  function add(message) {
    if (message.id <= last) return;
    last = message.id;
    var item = document.createElement("li");
    item.className = "chat-message chat-" + message.author;
    item.setAttribute("data-id", message.id);
    if (message.author === "system") {
      var note = document.createElement("p");
      note.className = "hint";
      note.textContent = message.body + " " + message.at;
      item.appendChild(note);
    } else {
      var meta = document.createElement("p");
      meta.className = "chat-meta";
      var name = document.createElement("strong");
      name.textContent = message.name;
      meta.appendChild(name);
      meta.appendChild(document.createTextNode(" " + message.at));
      var body = document.createElement("p");
      body.className = "chat-body";
      if (message.file) {
        var link = document.createElement("a");
        link.href = message.file;
        link.setAttribute("download", "");
        link.textContent = message.body;
        body.appendChild(link);
      } else {
        body.textContent = message.body;
      }
      item.appendChild(meta);
      item.appendChild(body);
    }
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function apply(news) {
    if (!news) return;
    news.messages.forEach(add);
    if (news.state !== list.getAttribute("data-chat-state")) window.location.reload();
  }

  function ask(url) {
    return fetch(url + "?after=" + last, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    });
  }

  function poll() {
    if (busy) return;
    busy = true;
    ask(list.getAttribute("data-chat-news"))
      .then(apply)
      .catch(function () {})
      .finally(function () { busy = false; });
  }

  // Waiting for news (MGD_CHAT_LONG_POLL): the stream process answers when there is news or after ~25 s,
  // and the script asks again at once. On a failure, or answers that come back empty at once (a process that
  // does not hold requests), it polls every 2 s for a minute, then tries waiting again.
  var waitUrl = list.getAttribute("data-chat-wait");
  var polling = null;

  function fallBack() {
    if (!polling) polling = window.setInterval(poll, 2000);
    window.setTimeout(function () {
      window.clearInterval(polling);
      polling = null;
      wait();
    }, 60000);
  }

  function wait() {
    var started = Date.now();
    ask(waitUrl)
      .then(function (news) {
        apply(news);
        if (!news.messages.length && Date.now() - started < 1000) fallBack();
        else wait();
      })
      .catch(fallBack);
  }

  if (waitUrl) wait();
  else window.setInterval(poll, 2000);
  list.scrollTop = list.scrollHeight;

  // Sending without a reload: the same form, posted asking for JSON; on any failure the form posts as usual.
  var form = document.querySelector("form.chat-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      var text = form.querySelector("textarea");
      var canned = form.querySelector("select");
      if (!text || (!text.value.trim() && !(canned && canned.value))) return;
      event.preventDefault();
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) { form.submit(); return null; }
          return response.json();
        })
        .then(function (message) {
          if (!message) return;
          add(message);
          text.value = "";
          if (canned) canned.value = "";
          text.focus();
        })
        .catch(function () { form.submit(); });
    });
  }
});
