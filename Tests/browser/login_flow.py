"""A real browser through the whole login: headless Chromium over WebDriver (Debian's chromium,
chromium-driver, python3-selenium). Run by IntegrationTests/BrowserTests with the URLs of a live
cluster; exits non-zero with a message on the first thing that is wrong."""
import argparse, json, os, sys, time, urllib.request

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
a = p.parse_args()
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
    print("browser: ok (screenshots in %s)" % a.out)
finally:
    driver.quit()
