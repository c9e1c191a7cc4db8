// Polls the session status while waiting for the transfer; reloads when bound (or the session is gone).
// With Keychain present, offers the instant sign-in: the wallet signs the session's challenge.
(function () {
  "use strict";
  var main = document.querySelector("[data-poll]");
  var latest = null;   // the last status: its challenge is what the wallet signs
  // The ask page polls the login's status; the fresh-proof page, the fresh proof's.
  var statusURL = (main && main.getAttribute("data-poll")) || "/steemauth/status";

  function keychain() { return window.steem_keychain || window.hive_keychain || null; }

  function status() {
    return fetch(statusURL, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { window.location.replace("/steemauth"); return null; }
      return r.ok ? r.json() : null;
    });
  }

  function setupSignIn() {
    var form = document.getElementById("signin");
    if (!form || !keychain() || !form.classList.contains("hidden")) return;
    var input = document.getElementById("signin-account");
    var error = document.getElementById("signin-error");
    var button = document.getElementById("signin-button");
    form.classList.remove("hidden");
    document.getElementById("signin-or").classList.remove("hidden");
    try { input.value = window.localStorage.getItem("steemauth.account") || ""; } catch (e) {}
    function fail(text) { error.textContent = text; error.classList.remove("hidden"); button.disabled = false; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var account = input.value.trim().replace(/^@/, "").toLowerCase();
      if (!account) { fail("Type your account name."); return; }
      error.classList.add("hidden");
      button.disabled = true;
      try { window.localStorage.setItem("steemauth.account", account); } catch (e) {}
      status().then(function (s) {
        if (!s) return;
        if (s.bound) { window.location.replace("/steemauth"); return; }
        latest = s;
        keychain().requestSignBuffer(account, s.challenge, form.getAttribute("data-key") || "Posting", function (reply) {
          if (!reply || !reply.success) { fail((reply && reply.message) || "The wallet did not sign."); return; }
          fetch("/steemauth/signin", {
            method: "POST", credentials: "same-origin", cache: "no-store",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ account: account, signature: reply.result })
          }).then(function (r) {
            return r.json().catch(function () { return {}; }).then(function (body) {
              if (r.ok && body.bound) { window.location.replace("/steemauth"); return; }
              fail(body.error || ("The sign-in failed (HTTP " + r.status + ")."));
            });
          }).catch(function () { fail("The sign-in could not be sent: check your connection."); });
        });
      }).catch(function () { fail("The page could not reach the server: check your connection."); });
    });
  }
  setupSignIn();
  // Keychain injects its API when the page has loaded, sometimes a little later.
  window.addEventListener("load", setupSignIn);
  setTimeout(setupSignIn, 500);
  var keychainButton = document.getElementById("keychain");
  if (keychainButton) {
    var kc = window.steem_keychain || window.hive_keychain;
    if (kc) {
      keychainButton.classList.remove("hidden");
      keychainButton.addEventListener("click", function () {
        var d = keychainButton.dataset;
        kc.requestTransfer("", d.to, d.amount, d.memo, d.asset, function () {}, false);
      });
    }
  }
  if (!main) return;
  var url = main.getAttribute("data-poll");
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { window.location.replace("/steemauth"); return null; }
      return r.ok ? r.json() : null;
    }).then(function (s) {
      if (!s) return;
      if (s.bound) { window.location.replace("/steemauth"); return; }
      var memo = document.getElementById("memo");
      if (memo && s.memo && memo.textContent !== s.memo) { window.location.replace("/steemauth"); return; }
      var lag = document.getElementById("lag");
      if (lag && typeof s.behind_seconds === "number") lag.textContent = " (the watcher is " + Math.round(s.behind_seconds) + " s behind the chain)";
      var exp = document.getElementById("expires");
      if (exp && typeof s.expires_in === "number") exp.textContent = Math.max(1, Math.ceil(s.expires_in / 60));
    }).catch(function () {}).then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();

// The ask page's copy button; the report's filter, sorting and unfollow controls. Without
// JavaScript the report is the plain table and each "Unfollow" is a link to the signer's page.
(function () {
  "use strict";
  function keychain() { return window.steem_keychain || window.hive_keychain || null; }

  var copy = document.getElementById("copy-memo");
  if (copy && navigator.clipboard) {
    copy.classList.remove("hidden");
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () { copy.textContent = "Copied"; },
        function () { copy.textContent = "Select and copy the memo"; });
    });
  }

  var tools = document.getElementById("report-tools");
  if (!tools) return;
  tools.classList.remove("hidden");
  var follower = tools.getAttribute("data-follower");
  var status = document.getElementById("unfollow-status");
  // Each row is named by its unfollow control; stale rows carry their days in the second cell.
  Array.prototype.forEach.call(document.querySelectorAll("table.stale tbody tr, ul.never li"), function (row) {
    var control = row.querySelector("a.unfollow");
    if (!control) return;
    row.setAttribute("data-name", control.getAttribute("data-unfollow"));
    row.setAttribute("data-days", row.tagName === "TR" ? row.children[1].textContent : "never");
  });
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-name]")); }

  document.getElementById("report-filter").addEventListener("input", function (e) {
    var q = e.target.value.trim().replace(/^@/, "").toLowerCase();
    rows().forEach(function (r) { r.classList.toggle("hidden", q !== "" && r.getAttribute("data-name").indexOf(q) < 0); });
  });
  Array.prototype.forEach.call(tools.querySelectorAll("[data-sort]"), function (button) {
    button.addEventListener("click", function () {
      var key = button.getAttribute("data-sort");
      var body = document.querySelector("table.stale tbody");
      if (!body) return;
      var list = Array.prototype.slice.call(body.children);
      list.sort(function (a, b) {
        if (key === "name") return a.getAttribute("data-name") < b.getAttribute("data-name") ? -1 : 1;
        return Number(b.getAttribute("data-days")) - Number(a.getAttribute("data-days"));
      });
      list.forEach(function (r) { body.appendChild(r); });
    });
  });

  function op(name) {
    return ["custom_json", { required_auths: [], required_posting_auths: [follower], id: "follow",
      json: JSON.stringify(["follow", { follower: follower, following: name, what: [] }]) }];
  }
  function done(names) {
    names.forEach(function (name) {
      rows().forEach(function (r) {
        if (r.getAttribute("data-name") !== name) return;
        r.classList.add("unfollowed");
        var link = r.querySelector("a.unfollow");
        if (link) link.textContent = "unfollowed";
        var box = r.querySelector("input.pick");
        if (box) { box.checked = false; box.disabled = true; }
      });
    });
    status.textContent = "Unfollowed " + names.length + (names.length === 1 ? " account." : " accounts.") +
      " The list updates at the next refresh.";
    // Drops the cached report (at most once a minute), so the next view asks the chain again.
    fetch("/steemauth/refresh", { method: "POST", credentials: "same-origin", redirect: "manual" }).catch(function () {});
  }
  function failed(reply) { status.textContent = "The wallet did not unfollow: " + ((reply && reply.message) || "cancelled") + "."; }

  var kc = keychain();
  if (!kc) return;    // without Keychain, each row links to the signer's page
  Array.prototype.forEach.call(document.querySelectorAll("a.unfollow"), function (link) {
    link.addEventListener("click", function (e) {
      e.preventDefault();
      var name = link.getAttribute("data-unfollow");
      var json = JSON.stringify(["follow", { follower: follower, following: name, what: [] }]);
      kc.requestCustomJson(follower, "follow", "Posting", json, "Unfollow @" + name, function (reply) {
        if (reply && reply.success) done([name]); else failed(reply);
      });
    });
  });
  // Many at once: one requestBroadcast per batch of ops, a size every wallet and node accepts.
  var BATCH = 50;
  document.getElementById("bulk").classList.remove("hidden");
  var head = document.querySelector("table.stale thead tr");
  if (head) head.insertBefore(document.createElement("th"), head.firstChild);
  rows().forEach(function (row) {
    var box = document.createElement("input");
    box.type = "checkbox"; box.className = "pick"; box.value = row.getAttribute("data-name");
    box.setAttribute("aria-label", "select @" + box.value);
    if (row.tagName === "TR") {
      var cell = document.createElement("td"); cell.className = "pick"; cell.appendChild(box);
      row.insertBefore(cell, row.firstChild);
    } else {
      row.insertBefore(document.createTextNode(" "), row.firstChild);
      row.insertBefore(box, row.firstChild);
    }
  });
  document.getElementById("select-all").addEventListener("change", function (e) {
    rows().forEach(function (r) {
      var box = r.querySelector("input.pick");
      if (box && !box.disabled && !r.classList.contains("hidden")) box.checked = e.target.checked;
    });
  });
  document.getElementById("unfollow-selected").addEventListener("click", function () {
    var names = Array.prototype.slice.call(document.querySelectorAll("input.pick:checked")).map(function (b) { return b.value; });
    if (names.length === 0) { status.textContent = "Select the accounts to unfollow first."; return; }
    (function next(start) {
      if (start >= names.length) return;
      var batch = names.slice(start, start + BATCH);
      kc.requestBroadcast(follower, batch.map(op), "Posting", function (reply) {
        if (reply && reply.success) { done(batch); next(start + BATCH); } else failed(reply);
      });
    })(0);
  });
})();
