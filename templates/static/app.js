// Polls the session status while waiting for the transfer; reloads when bound (or the session is gone).
(function () {
  "use strict";
  var main = document.querySelector("[data-poll]");
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
