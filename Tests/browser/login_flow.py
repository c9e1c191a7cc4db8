"""A real browser through the whole login: headless Chromium over WebDriver (Debian's chromium,
chromium-driver, python3-selenium). Run by IntegrationTests/BrowserTests with the URLs of a live
cluster; exits non-zero with a message on the first thing that is wrong."""
import argparse, json, os, subprocess, sys, time, urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

p = argparse.ArgumentParser()
p.add_argument("--url", required=True)
p.add_argument("--node", required=True)
p.add_argument("--out", required=True)
p.add_argument("--payer", required=True)
p.add_argument("--service", required=True)
p.add_argument("--stale", type=int, required=True)
p.add_argument("--never", type=int, required=True)
p.add_argument("--beem-python", help="python with beem: signs the challenge for the Keychain stand-in")
p.add_argument("--wif", help="the payer's posting key (WIF), for the sign-in by signature")
p.add_argument("--pubkey", help="its public key as the chain writes it")
p.add_argument("--axe", help="axe-core's axe.min.js: each page is checked for serious and critical accessibility violations")
p.add_argument("--redis-port", type=int, help="the cluster's Redis: holds the report's claim as another request would")
a = p.parse_args()

# A stand-in for the Keychain extension's API, injected before the page's own scripts run: it
# records every call and hands requestSignBuffer's callback to the test, which answers it with a
# real signature made by beem.
KEYCHAIN_STANDIN = """
window.__keychainCalls = [];
window.__keychainCallbacks = [];
function __record(call, callback) { window.__keychainCalls.push(call); window.__keychainCallbacks.push(callback || null); }
window.steem_keychain = {
  requestSignBuffer: function (account, message, role, callback) {
    __record({method: "requestSignBuffer", account: account, message: message, role: role}, callback);
  },
  requestCustomJson: function (account, id, role, json, display, callback) {
    __record({method: "requestCustomJson", account: account, id: id, role: role, json: json, display: display}, callback);
  },
  requestBroadcast: function (account, operations, role, callback) {
    __record({method: "requestBroadcast", account: account, operations: operations, role: role}, callback);
  },
  requestTransfer: function () { __record({method: "requestTransfer", args: Array.prototype.slice.call(arguments)}, null); }
};
"""


def no_sideways_scroll(what):
    width = driver.execute_script("return document.documentElement.scrollWidth")
    inner = driver.execute_script("return document.documentElement.clientWidth")
    if width > inner:
        fail("%s scrolls sideways at 390 px: %d > %d" % (what, width, inner))


def accessible(what):
    """axe-core over the page as shown: no serious or critical violation (labels, contrast, landmarks, images' text)."""
    if not a.axe:
        return
    with open(a.axe) as f:
        driver.execute_script(f.read() + "\n;window.axe = axe;")
    driver.set_script_timeout(60)
    found = driver.execute_async_script("""
        var done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ["violations"]}).then(function (r) {
            done(r.violations.map(function (v) {
                return {id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(function (n) { return n.target.join(" "); })};
            }));
        }, function (e) { done({error: String(e)}); });""")
    if isinstance(found, dict):
        fail("axe-core did not run on %s: %r" % (what, found))
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    if bad:
        fail("%s has serious or critical accessibility violations: %r" % (what, bad))
    print("browser: %s: no serious or critical accessibility violations (%d minor or moderate: %s)"
          % (what, len(found), ", ".join(v["id"] for v in found) or "none"))


def unfollow_controls_whole_and_in_sight(where):
    """Each row's Unfollow is one line (never "Unfollo / w") and inside the window (never hidden or cut)."""
    seen = driver.execute_script("""
        return Array.prototype.slice.call(document.querySelectorAll("table.stale a.unfollow"), 0, 20).map(function (a) {
            var r = a.getBoundingClientRect();
            return {lines: a.getClientRects().length, left: r.left, right: r.right, width: r.width};
        });""")
    inner = driver.execute_script("return document.documentElement.clientWidth")
    if not seen:
        fail("the report has no Unfollow controls %s" % where)
    for s in seen:
        if s["lines"] != 1 or s["width"] == 0 or s["left"] < 0 or s["right"] > inner:
            fail("an Unfollow control is broken or out of sight %s: %r (window %d px)" % (where, s, inner))


def qr_text(png):
    out = subprocess.run(["zbarimg", "--raw", "-q", png], capture_output=True, text=True)
    if out.returncode != 0:
        fail("zbarimg found no QR code in %s: %s" % (png, out.stderr))
    return out.stdout.strip()


def last_call():
    return driver.execute_script("return window.__keychainCalls[window.__keychainCalls.length - 1]")


def answer_last_call(reply):
    driver.execute_script("window.__keychainCallbacks[window.__keychainCallbacks.length - 1](arguments[0])", reply)


def wait_calls(n):
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.__keychainCalls.length") >= n)
os.makedirs(a.out, exist_ok=True)


driver = None


def fail(message):
    print("browser: FAILED: " + message)
    if driver is not None:
        driver.save_screenshot(os.path.join(a.out, "failure.png"))
        print("browser: at " + driver.current_url + "\n" + driver.page_source[:3000])
    sys.exit(1)


def redis_cli(*args):
    subprocess.run(["redis-cli", "-p", str(a.redis_port)] + list(args), check=True, capture_output=True)


def push_transfer(memo):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "devchain.push_transfer",
                       "params": {"from": a.payer, "to": a.service, "amount": "0.001 STEEM", "memo": memo}}).encode()
    req = urllib.request.Request(a.node, data=body, headers={"Content-Type": "application/json"})
    reply = json.load(urllib.request.urlopen(req, timeout=10))
    if "error" in reply:
        fail("devchain refused the transfer: %s" % reply["error"])


options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1000,1400"):
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.set_page_load_timeout(20)
    driver.get(a.url + "/")
    if not driver.current_url.endswith("/steemauth"):
        fail("/ should land on /steemauth, got " + driver.current_url)
    memo = driver.find_element(By.ID, "memo").text.strip()
    if len(memo) != 16:
        fail("no 16-character memo on the ask page: %r" % memo)
    signer = driver.find_element(By.PARTIAL_LINK_TEXT, "Pay with").get_attribute("href")
    if "memo=" + memo not in signer or "to=" + a.service not in signer:
        fail("the pay link does not carry the memo and account: " + signer)
    driver.save_screenshot(os.path.join(a.out, "1-ask.png"))
    # The QR code, read back from the screenshot by zbar: the pay link with the current memo.
    link = qr_text(os.path.join(a.out, "1-ask.png"))
    if "memo=" + memo not in link or "to=" + a.service not in link:
        fail("the QR code should hold the pay link with the memo: %r" % link)
    qr = driver.find_element(By.CSS_SELECTOR, "svg.qr")
    if qr.size["width"] < 200 or qr.location["y"] + qr.size["height"] > 1400:
        fail("the QR code should be at least 200 px and visible without scrolling: %r at %r" % (qr.size, qr.location))
    print("browser: the QR code holds %s" % link)
    accessible("the ask page")
    driver.set_window_size(390, 844)
    driver.get(a.url + "/steemauth")
    no_sideways_scroll("the ask page")
    driver.save_screenshot(os.path.join(a.out, "1-ask-phone.png"))
    driver.set_window_size(1000, 1400)
    driver.get(a.url + "/steemauth")

    push_transfer(memo)
    started = time.time()
    # Nobody touches the page: its own script polls /steemauth/status and reloads when bound.
    try:
        WebDriverWait(driver, 30, poll_frequency=0.2, ignored_exceptions=(WebDriverException,)).until(
            lambda d: "Logged in as @" + a.payer in d.find_element(By.TAG_NAME, "h1").text)
    except Exception as e:
        fail("the page did not turn into the report by itself: %r" % e)
    print("browser: page turned into the report %.1f s after the transfer" % (time.time() - started))
    rows = driver.find_elements(By.CSS_SELECTOR, "table.stale tbody tr")
    never = driver.find_elements(By.CSS_SELECTOR, "ul.never li")
    if len(rows) != a.stale or len(never) != a.never:
        fail("expected %d stale and %d never-posted, saw %d and %d" % (a.stale, a.never, len(rows), len(never)))
    days = [int(r.get_attribute("data-days")) for r in rows]
    if days != sorted(days, reverse=True):
        fail("stale accounts are not sorted most stale first: %s" % days)
    driver.save_screenshot(os.path.join(a.out, "2-report.png"))
    unfollow_controls_whole_and_in_sight("at desktop width")
    accessible("the report page")
    driver.set_window_size(390, 844)
    no_sideways_scroll("the report page without Keychain")
    unfollow_controls_whole_and_in_sight("on a 390 px phone")
    driver.save_screenshot(os.path.join(a.out, "2-report-phone.png"))
    driver.set_window_size(1000, 1400)

    if a.redis_port:
        # Another request is computing the report (its claim held here, as another web host would
        # hold it): the page says so, then turns into the report by itself once that one is done.
        redis_cli("DEL", *["steemauth:%s:%s" % (k, a.payer) for k in ("r", "rh", "rz")])
        redis_cli("SET", "steemauth:rc:" + a.payer, "another-request", "PX", "600000")
        driver.get(a.url + "/steemauth")
        if "Your report is being prepared" not in driver.find_element(By.TAG_NAME, "h1").text:
            fail("while another request computes the report, the page should say so")
        driver.save_screenshot(os.path.join(a.out, "2-report-being-prepared.png"))
        redis_cli("DEL", "steemauth:rc:" + a.payer)
        try:
            WebDriverWait(driver, 30, poll_frequency=0.2, ignored_exceptions=(WebDriverException,)).until(
                lambda d: "Logged in as @" + a.payer in d.find_element(By.TAG_NAME, "h1").text)
        except Exception as e:
            fail("the page waiting for the report did not turn into it by itself: %r" % e)
        # Its 503s are the only failed loads the console may show so far (read, so the final check
        # of the console sees only what comes after).
        unexpected = [e for e in driver.get_log("browser")
                      if ("404" in e.get("message", "") or "Failed to load" in e.get("message", "")) and "503" not in e.get("message", "")]
        if unexpected:
            fail("the console shows failed loads: %r" % unexpected)
        print("browser: the page waiting for another request's report reloaded itself into the report")

    driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(lambda d: d.find_elements(By.ID, "memo"))
    new_memo = driver.find_element(By.ID, "memo").text.strip()
    if new_memo == memo or "Logged in" in driver.page_source:
        fail("after logout the visitor should be back on a fresh ask page")
    driver.save_screenshot(os.path.join(a.out, "3-after-logout.png"))

    if a.wif:
        # The instant sign-in, with Keychain present.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": KEYCHAIN_STANDIN})
        driver.get(a.url + "/steemauth")
        WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.find_element(By.ID, "signin").is_displayed())
        field = driver.find_element(By.ID, "signin-account")
        field.clear()
        field.send_keys("@" + a.payer.capitalize())
        driver.save_screenshot(os.path.join(a.out, "4-signin.png"))
        driver.find_element(By.ID, "signin-button").click()
        WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return window.__keychainCalls.length") > 0)
        call = last_call()
        if call["method"] != "requestSignBuffer" or call["account"] != a.payer or call["role"] != "Posting":
            fail("the button should ask Keychain to sign with %s's posting key: %r" % (a.payer, call))
        if not call["message"].startswith("steemauth login to ") or "\ncode: " not in call["message"]:
            fail("the wallet should be asked to sign the challenge: %r" % call["message"])
        signature = subprocess.run([a.beem_python, os.path.join(os.path.dirname(__file__), "..", "clients", "sign.py"),
                                    "sign", a.wif, call["message"]], check=True, capture_output=True, text=True).stdout.strip()
        answer_last_call({"success": True, "result": signature, "message": "ok"})
        try:
            WebDriverWait(driver, 30, poll_frequency=0.2, ignored_exceptions=(WebDriverException,)).until(
                lambda d: "Logged in as @" + a.payer in d.find_element(By.TAG_NAME, "h1").text)
        except Exception as e:
            fail("the signed-in page did not turn into the report: %r" % e)
        if a.pubkey not in driver.page_source:
            fail("the report should show the key that proved the login")
        driver.save_screenshot(os.path.join(a.out, "5-signed-in.png"))

        # Acting on the report: one row's control asks the wallet for exactly that follow op…
        calls = driver.execute_script("return window.__keychainCalls.length")
        first = driver.find_element(By.CSS_SELECTOR, "table.stale a.unfollow")
        name = first.get_attribute("data-unfollow")
        first.click()
        wait_calls(calls + 1)
        call = last_call()
        expected = json.dumps(["follow", {"follower": a.payer, "following": name, "what": []}], separators=(",", ":"))
        if (call["method"], call["account"], call["id"], call["role"], call["json"]) != ("requestCustomJson", a.payer, "follow", "Posting", expected):
            fail("the row's control should ask for exactly the follow op of @%s: %r" % (name, call))
        answer_last_call({"success": True, "message": "ok"})
        WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-name='%s'] a.unfollow" % name).text == "unfollowed")
        # …and "Unfollow selected" asks for one op per selected row, in one broadcast.
        boxes = [b for b in driver.find_elements(By.CSS_SELECTOR, "input.pick") if b.is_enabled()]
        chosen = [boxes[0], boxes[1], boxes[-1]]          # two stale rows and a never-posted one
        for box in chosen: box.click()
        names = [box.get_attribute("value") for box in chosen]
        calls = driver.execute_script("return window.__keychainCalls.length")
        driver.find_element(By.ID, "unfollow-selected").click()
        wait_calls(calls + 1)
        call = last_call()
        ops = call.get("operations") or []
        wanted = [["custom_json", {"required_auths": [], "required_posting_auths": [a.payer], "id": "follow",
                                   "json": json.dumps(["follow", {"follower": a.payer, "following": n, "what": []}], separators=(",", ":"))}]
                  for n in names]
        if call["method"] != "requestBroadcast" or call["role"] != "Posting" or ops != wanted:
            fail("Unfollow selected should broadcast one follow op per selected row: %r" % call)
        answer_last_call({"success": True, "message": "ok"})
        driver.save_screenshot(os.path.join(a.out, "6-unfollowed.png"))
        if "confirm(" in driver.execute_script("return document.documentElement.outerHTML"):
            fail("no blocking confirm() dialog")
        print("browser: unfollow controls asked the wallet for 1 op, then %d ops in one broadcast" % len(ops))
        driver.set_window_size(390, 844)
        no_sideways_scroll("the report page")
        driver.save_screenshot(os.path.join(a.out, "7-report-phone.png"))
        driver.set_window_size(1000, 1400)
        driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
        WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(lambda d: d.find_elements(By.ID, "signin-account"))
        if driver.find_element(By.ID, "signin-account").get_attribute("value") != a.payer:
            fail("the account field should be prefilled with the last name used in this browser")
        accessible("the ask page with the Keychain sign-in")
        print("browser: signed in with the Keychain stand-in")
    missing = [e for e in driver.get_log("browser") if "404" in e.get("message", "") or "Failed to load" in e.get("message", "")]
    if missing:
        fail("the console shows failed loads: %r" % missing)
    print("browser: ok (screenshots in %s)" % a.out)
finally:
    driver.quit()
