"""The static style and script of the run page (no data in them, so nothing to escape).

The script takes the function key from the page's `code` query parameter and sends it in the
`x-functions-key` header; replies are written with `textContent`, never as markup.
"""

PAGE_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 16px;
       color: #1b1b1b; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 0 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 12px 0 4px; }
section, header { background: #fff; border: 1px solid #e2e2e2; border-radius: 6px;
                  padding: 12px 16px; margin: 0 0 14px; }
.state { display: inline-block; padding: 1px 10px; border-radius: 10px; background: #e7eefc;
         color: #1f4fb0; font-size: 15px; vertical-align: middle; }
.state-deployed, .state-succeeded { background: #e3f6e8; color: #17692e; }
.state-failed { background: #fde8e8; color: #a31d1d; }
.state-cancelled, .state-expired { background: #eee; color: #555; }
.delivery { display: inline-block; margin-right: .8em; }
.delivery-delivered strong { color: #17692e; } .delivery-failed strong { color: #a31d1d; }
.error { color: #a31d1d; } .warning { color: #8a5a00; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; }
dl.facts dt { color: #666; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.chart svg { max-width: 100%; height: auto; }
#timeline { padding-left: 20px; margin: 0; }
.timeline-entry { margin: 2px 0; } .timeline-entry.note { color: #666; }
.timeline-entry time, #events time { color: #666; font-size: 13px; }
.move { font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
tr.invalid td { color: #a31d1d; }
textarea { width: 100%; box-sizing: border-box; font: inherit; }
#chat-answer p { white-space: pre-wrap; background: #f3f6fb; padding: 8px; border-radius: 4px; }
#chat-answer p.base-reply { background: #f4f4f4; } #chat-answer p.error { background: #fde8e8; }
.hint { color: #777; font-size: 12px; }
"""

CHAT_SCRIPT = """
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  var answer = document.getElementById("chat-answer");
  var key = new URLSearchParams(window.location.search).get("code");
  var chatUrl = window.location.pathname.replace(/\\/view\\/?$/, "/chat");
  // Marks the form once the script runs (the CSP nonce let it), and whether a key was found.
  form.setAttribute("data-ready", key ? "with-key" : "without-key");
  function show(kind, label, text) {
    var line = document.createElement("p");
    line.className = kind;
    var strong = document.createElement("strong");
    strong.textContent = label;
    line.appendChild(strong);
    line.appendChild(document.createTextNode(" " + text));
    answer.appendChild(line);
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var message = document.getElementById("chat-message").value.trim();
    if (!message) { return; }
    var headers = { "Content-Type": "application/json" };
    if (key) { headers["x-functions-key"] = key; }
    var body = { message: message, compare: document.getElementById("chat-compare").checked };
    answer.textContent = "Waiting for the model...";
    fetch(chatUrl, { method: "POST", headers: headers, body: JSON.stringify(body) })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var parsed = type.indexOf("json") >= 0 ? response.json() : Promise.resolve({});
        return parsed.then(function (data) { return { response: response, data: data }; });
      })
      .then(function (result) {
        answer.textContent = "";
        var data = result.data;
        if (!result.response.ok) {
          var why = data.detail || ("HTTP " + result.response.status +
            (result.response.status === 401 ? ": open the page with ?code=<function key>" : ""));
          show("error", "Error:", why);
          return;
        }
        show("reply", data.model + ":", data.reply);
        if (data.base_reply !== undefined && data.base_reply !== null) {
          show("base-reply", data.base_model + " (base):", data.base_reply);
        }
      })
      .catch(function (error) {
        answer.textContent = "";
        show("error", "Error:", String(error));
      });
  });
})();
"""
