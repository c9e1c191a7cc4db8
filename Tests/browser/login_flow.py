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
a = p.parse_args()

# A stand-in for the Keychain extension's API, injected before the page's own scripts run: it
# records every call and hands requestSignBuffer's callback to the test, which answers it with a
# real signature made by beem.
KEYCHAIN_STANDIN = """
window.__keychainCalls = [];
window.steem_keychain = {
  requestSignBuffer: function (account, message, role, callback) {
    window.__keychainCalls.push({method: "requestSignBuffer", account: account, message: message, role: role});
    window.__keychainCallback = callback;
  },
  requestTransfer: function () { window.__keychainCalls.push({method: "requestTransfer", args: Array.prototype.slice.call(arguments)}); }
};
"""
os.makedirs(a.out, exist_ok=True)


driver = None


def fail(message):
    print("browser: FAILED: " + message)
    if driver is not None:
        driver.save_screenshot(os.path.join(a.out, "failure.png"))
        print("browser: at " + driver.current_url + "\n" + driver.page_source[:3000])
    sys.exit(1)


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
    days = [int(r.find_elements(By.TAG_NAME, "td")[1].text) for r in rows]
    if days != sorted(days, reverse=True):
        fail("stale accounts are not sorted most stale first: %s" % days)
    driver.save_screenshot(os.path.join(a.out, "2-report.png"))

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
        call = driver.execute_script("return window.__keychainCalls[0]")
        if call["method"] != "requestSignBuffer" or call["account"] != a.payer or call["role"] != "Posting":
            fail("the button should ask Keychain to sign with %s's posting key: %r" % (a.payer, call))
        if not call["message"].startswith("steemauth login to ") or "\ncode: " not in call["message"]:
            fail("the wallet should be asked to sign the challenge: %r" % call["message"])
        signature = subprocess.run([a.beem_python, os.path.join(os.path.dirname(__file__), "..", "clients", "sign.py"),
                                    "sign", a.wif, call["message"]], check=True, capture_output=True, text=True).stdout.strip()
        driver.execute_script("window.__keychainCallback({success: true, result: arguments[0], message: 'ok'})", signature)
        try:
            WebDriverWait(driver, 30, poll_frequency=0.2, ignored_exceptions=(WebDriverException,)).until(
                lambda d: "Logged in as @" + a.payer in d.find_element(By.TAG_NAME, "h1").text)
        except Exception as e:
            fail("the signed-in page did not turn into the report: %r" % e)
        if a.pubkey not in driver.page_source:
            fail("the report should show the key that proved the login")
        driver.save_screenshot(os.path.join(a.out, "5-signed-in.png"))
        driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
        WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(lambda d: d.find_elements(By.ID, "signin-account"))
        if driver.find_element(By.ID, "signin-account").get_attribute("value") != a.payer:
            fail("the account field should be prefilled with the last name used in this browser")
        print("browser: signed in with the Keychain stand-in")
    print("browser: ok (screenshots in %s)" % a.out)
finally:
    driver.quit()
