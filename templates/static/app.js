// Polls the session status while waiting for the transfer; reloads when bound (or the session is gone).
// With Keychain present, offers the instant sign-in: the wallet signs the session's challenge.
(function () {
  "use strict";
  var main = document.querySelector("[data-poll]");
  var latest = null;   // the last status: its challenge is what the wallet signs

  function keychain() { return window.steem_keychain || window.hive_keychain || null; }

  function status() {
    return fetch("/steemauth/status", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
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
        keychain().requestSignBuffer(account, s.challenge, "Posting", function (reply) {
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
