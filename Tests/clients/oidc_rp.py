#!/usr/bin/env python3
"""An OpenID Connect relying party that no one here wrote: Authlib's OAuth2Session runs the
authorization code flow with PKCE against steemauth, a plain requests.Session plays the browser,
and PyJWT checks the ID token against the published JWKS. The devchain's control method makes the
login transfer. Each scenario prints what it checked; any failure exits 1 with the reason.

  oidc_rp.py SCENARIO --base URL --devchain URL --client-id ID [--secret S] [--auth-method M] [--redirect URI]
"""
import argparse
import html
import http.cookiejar
import json
import re
import sys
import time
import urllib.parse
from http.cookiejar import DefaultCookiePolicy

import jwt
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey

args = None


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok: " + message)


def discover():
    r = requests.get(args.base + "/.well-known/openid-configuration", timeout=30)
    check(r.status_code == 200, "discovery answers 200")
    d = r.json()
    check(d["issuer"] == args.base, "discovery names the issuer %s" % args.base)
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint"):
        check(d[key].startswith(args.base + "/"), "discovery has %s under the issuer" % key)
    check(d["code_challenge_methods_supported"] == ["S256"], "discovery: PKCE S256 only")
    check(d["id_token_signing_alg_values_supported"] == ["RS256"], "discovery: RS256")
    check(d["response_types_supported"] == ["code"], "discovery: the code flow only")
    return d


def client(d):
    return OAuth2Session(args.client_id, args.secret, scope="openid profile", redirect_uri=args.redirect,
                         code_challenge_method="S256", token_endpoint_auth_method=args.auth_method)


_return_ok_secure = http.cookiejar.DefaultCookiePolicy.return_ok_secure


def _loopback_is_secure(policy, cookie, request):
    """Like Chromium and Firefox, send Secure cookies (the flow cookie) to loopback over plain http.
    Patched on the class: requests builds a fresh cookie jar for every request it prepares."""
    host = urllib.parse.urlparse(request.get_full_url()).hostname
    return host in ("127.0.0.1", "::1", "localhost") or _return_ok_secure(policy, cookie, request)


http.cookiejar.DefaultCookiePolicy.return_ok_secure = _loopback_is_secure


def new_browser():
    return requests.Session()


def pay(memo, sender):
    body = {"jsonrpc": "2.0", "id": 1, "method": "devchain.push_transfer",
            "params": {"from": sender, "to": "steemauth.demo", "amount": "0.001 STEEM", "memo": memo, "now": True}}
    reply = requests.post(args.devchain, json=body, timeout=30).json()
    if "error" in reply:
        fail("devchain refused the transfer: %s" % reply["error"])


def wait_until_bound(browser, path="/steemauth/status"):
    # Bounded by count; the watcher needs a few polls of its own at most.
    for _ in range(1500):
        s = browser.get(args.base + path, timeout=30).json()
        if s.get("bound"):
            return s
        time.sleep(0.02)
    fail("the session was not bound after the transfer")


def start_authorization(d, oauth, browser, extra=None):
    verifier = generate_token(64)
    nonce = generate_token(20)
    uri, state = oauth.create_authorization_url(d["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **(extra or {}))
    r = browser.get(uri, allow_redirects=False, timeout=30)
    return r, verifier, nonce, state


def prove_on_ask_page(browser, r, sender, app_name):
    check(r.status_code == 302 and r.headers["Location"] == "/steemauth", "authorize sends an unproven browser to the ask page")
    page = browser.get(args.base + "/steemauth", allow_redirects=False, timeout=30)
    check(page.status_code == 200 and 'id="memo"' in page.text, "the ask page shows a login code")
    check(("to log in to <strong>%s</strong>" % app_name) in page.text, "the ask page names the application (%s)" % app_name)
    memo = browser.get(args.base + "/steemauth/status", timeout=30).json()["memo"]
    pay(memo, sender)
    s = wait_until_bound(browser)
    check(s["account"] == sender, "the transfer bound the session to @%s" % sender)
    return onward(browser)


def onward(browser):
    """The load of /steemauth after a proof: on to the client (after the consent click, for a client
    that needs one)."""
    r = browser.get(args.base + "/steemauth", allow_redirects=False, timeout=30)
    if args.auth_method == "none":
        r = consent(browser, r)
    check(r.status_code == 302, "the next load of /steemauth sends the browser on")
    return r.headers["Location"]


def consent(browser, page):
    """A public client's code needs a click: the consent page names the client and the redirect host,
    and its form POSTs back from this site."""
    check(page.status_code == 200 and 'id="allow"' in page.text, "a public client gets the consent page, not a code")
    check(("Log in to %s?" % args.app_name) in page.text, "the consent page names the client")
    host = urllib.parse.urlparse(args.redirect).hostname
    check(("sent to <strong>%s</strong>" % host) in page.text, "the consent page names the redirect host")
    check('<main class="page"' in page.text and 'aria-labelledby="consent-heading"' in page.text, "the form is labelled, in the main landmark")
    fields = [(html.unescape(n), html.unescape(v)) for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text)]
    crossed = browser.post(args.base + "/steemauth/oidc/consent", data=fields, headers={"Origin": "https://evil.example"},
                           allow_redirects=False, timeout=30)
    check(crossed.status_code == 403, "a cross-site consent POST is refused")
    return browser.post(args.base + "/steemauth/oidc/consent", data=fields, headers={"Origin": args.base}, allow_redirects=False, timeout=30)


def query_of(location):
    return urllib.parse.parse_qs(urllib.parse.urlparse(location or "").query)


def check_redirect(location, state):
    check(location.startswith(args.redirect + "?"), "the browser goes to the registered redirect URI")
    q = query_of(location)
    check(q.get("state") == [state], "state comes back unchanged")
    check(q.get("iss") == [args.base], "the response carries iss (RFC 9207)")
    check(len(q.get("code", [""])[0]) >= 43, "the response carries a code")
    return q["code"][0]


def verify_id_token(d, token, nonce, account):
    jwks_client = jwt.PyJWKClient(d["jwks_uri"])
    key = jwks_client.get_signing_key_from_jwt(token["id_token"])
    claims = jwt.decode(token["id_token"], key.key, algorithms=["RS256"], audience=args.client_id, issuer=args.base)
    check(True, "PyJWT verified the ID token's RS256 signature, aud, iss and exp against the JWKS")
    header = jwt.get_unverified_header(token["id_token"])
    jwks = requests.get(d["jwks_uri"], timeout=30).json()
    published = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    check(len(published) == 1, "the token's kid is in the JWKS")
    check(JsonWebKey.import_key(published[0]).thumbprint() == header["kid"], "the kid is the key's RFC 7638 thumbprint (Authlib)")
    check(claims["sub"] == account and claims["preferred_username"] == account, "sub and preferred_username are @%s" % account)
    check(claims["nonce"] == nonce, "the nonce is in the ID token")
    check(claims["chain"] == "steem" and claims["amr"] == ["transfer"], "chain and amr say steem and transfer")
    check(claims["acr"] == "active", "acr says active (a transfer needs the active key)")
    check(claims["iat"] <= claims["exp"] and claims["auth_time"] <= claims["iat"] + 5, "iat, exp and auth_time are consistent")
    return claims


def token_request(d, code, verifier, secret=None):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": args.redirect, "client_id": args.client_id}
    if verifier is not None:
        data["code_verifier"] = verifier
    auth = (args.client_id, secret if secret is not None else args.secret) if args.auth_method == "client_secret_basic" else None
    if args.auth_method == "client_secret_post":
        data["client_secret"] = secret if secret is not None else args.secret
    return requests.post(d["token_endpoint"], data=data, auth=auth, timeout=30)


def logout(browser):
    r = browser.post(args.base + "/steemauth/logout", headers={"Origin": args.base}, allow_redirects=False, timeout=30)
    check(r.status_code == 303, "logout answers 303")


class LoopbackCookieJar(requests.cookies.RequestsCookieJar):
    """The session cookie is Secure (`__Host-`); like Chromium, this jar sends Secure cookies to the
    loopback origin the tests serve over plain http. (requests copies a session's jar into a new one
    for each request, so the policy is set by the class, not on one jar.)"""
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_policy(DefaultCookiePolicy(secure_protocols=("https", "wss", "http")))


requests.sessions.RequestsCookieJar = LoopbackCookieJar


def new_browser():
    """A browser: a session whose cookie jar is a LoopbackCookieJar."""
    browser = requests.Session()
    browser.cookies = LoopbackCookieJar()
    return browser


def first_login():
    """Discovery, then a new browser through authorize, the ask page and a paid memo, back to the
    redirect URI with a code."""
    d = discover()
    oauth = client(d)
    browser = new_browser()
    r, verifier, nonce, state = start_authorization(d, oauth, browser)
    location = prove_on_ask_page(browser, r, args.account, args.app_name)
    return d, oauth, browser, location, check_redirect(location, state), verifier, nonce


def scenario_flow():
    """The whole flow, then single sign-on, a replayed code, logout and prompt=none."""
    d, oauth, browser, location, code, verifier, nonce = first_login()
    token = oauth.fetch_token(d["token_endpoint"], authorization_response=location, code_verifier=verifier)
    check(token["token_type"].lower() == "bearer" and token["expires_in"] == 3600, "a Bearer access token for 1 h")
    verify_id_token(d, token, nonce, args.account)
    info = oauth.get(d["userinfo_endpoint"], timeout=30)
    check(info.status_code == 200, "userinfo answers the access token")
    u = info.json()
    check(u["sub"] == args.account and u["preferred_username"] == args.account and u["chain"] == "steem", "userinfo names the account")
    check(u["profile"].endswith("/@" + args.account), "userinfo links the profile")

    again = token_request(d, code, verifier)
    check(again.status_code == 400 and again.json()["error"] == "invalid_grant", "a code used twice is invalid_grant")
    check(again.headers.get("Cache-Control") == "no-store", "token errors are no-store too")
    revoked = requests.get(d["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]}, timeout=30)
    check(revoked.status_code == 401, "the access token of a replayed code is revoked")

    # Single sign-on: an already proven browser gets a code at once.
    oauth2 = client(d)
    r, verifier2, nonce2, state2 = start_authorization(d, oauth2, browser)
    check(r.status_code == 302 and r.headers["Location"].startswith(args.redirect), "a proven browser is sent back with a code at once")
    check_redirect(r.headers["Location"], state2)
    token2 = oauth2.fetch_token(d["token_endpoint"], authorization_response=r.headers["Location"], code_verifier=verifier2)
    verify_id_token(d, token2, nonce2, args.account)

    # prompt=login asks for a fresh proof beside the login, which stays valid until it binds.
    oauth3 = client(d)
    r, verifier3, nonce3, state3 = start_authorization(d, oauth3, browser, {"prompt": "login"})
    asked_at = int(time.time())
    check(r.status_code == 302 and r.headers["Location"] == "/steemauth", "prompt=login asks for a fresh proof")
    check(browser.get(args.base + "/steemauth/status", timeout=30).json()["bound"] is True, "the login stays valid meanwhile")
    page = browser.get(args.base + "/steemauth", allow_redirects=False, timeout=30)
    check(page.status_code == 200 and "asks for a fresh proof" in page.text and 'id="memo"' in page.text,
          "the page asks for a fresh proof, with a code of its own")
    fresh = browser.get(args.base + "/steemauth/oidc/fresh", timeout=30).json()
    check(fresh["bound"] is False and fresh["memo"] and fresh["challenge"].endswith("Z"), "the fresh proof's poll gives its code and challenge")
    pay(fresh["memo"], args.account)
    wait_until_bound(browser, "/steemauth/oidc/fresh")
    location = onward(browser)
    token3 = oauth3.fetch_token(d["token_endpoint"], authorization_response=location, code_verifier=verifier3)
    claims = verify_id_token(d, token3, nonce3, args.account)
    check(claims["auth_time"] >= asked_at - 5, "auth_time is the fresh proof's")
    logout(browser)
    for name, t in (("the single sign-on", token2), ("the fresh proof", token3)):
        gone = requests.get(d["userinfo_endpoint"], headers={"Authorization": "Bearer " + t["access_token"]}, timeout=30)
        check(gone.status_code == 401 and "invalid_token" in gone.headers.get("WWW-Authenticate", ""),
              "logout ended the access token of %s" % name)

    # After logout: prompt=none says login_required; a new authorization asks for a proof again.
    r, _, _, state4 = start_authorization(d, client(d), browser, {"prompt": "none"})
    q = query_of(r.headers.get("Location"))
    check(r.status_code == 302 and q.get("error") == ["login_required"] and q.get("state") == [state4], "prompt=none after logout: login_required")
    r, _, _, _ = start_authorization(d, client(d), browser)
    check(r.status_code == 302 and r.headers["Location"] == "/steemauth", "after logout an authorization asks for a proof again")
    print("scenario flow: all checks passed")


def scenario_public():
    """A public client (no secret): PKCE is required and is what protects the code."""
    d, oauth, browser, location, code, verifier, nonce = first_login()
    wrong = token_request(d, code, generate_token(64))
    check(wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant", "a wrong code_verifier is invalid_grant")
    spent = token_request(d, code, verifier)
    check(spent.status_code == 400 and spent.json()["error"] == "invalid_grant", "a code is spent by a wrong verifier (no second try)")

    # Logged in, the public client still gets no code without a click; prompt=none says so.
    r, verifier, nonce, state = start_authorization(d, oauth, browser)
    code = check_redirect(consent(browser, r).headers["Location"], state)
    missing = token_request(d, code, None)
    check(missing.status_code == 400 and missing.json()["error"] == "invalid_grant", "a missing code_verifier is invalid_grant")
    r, _, _, state = start_authorization(d, client(d), browser, {"prompt": "none"})
    q = query_of(r.headers.get("Location"))
    check(r.status_code == 302 and q.get("error") == ["consent_required"] and q.get("state") == [state], "prompt=none: consent_required")

    # A loopback redirect URI matches on any port (RFC 8252 §7.3): the CLI took another free port.
    port = urllib.parse.urlparse(args.redirect).port
    other = args.redirect.replace(":%d/" % port, ":%d/" % (port + 1 if port < 65535 else port - 1))
    oauth_other = OAuth2Session(args.client_id, None, scope="openid profile", redirect_uri=other, code_challenge_method="S256",
                                token_endpoint_auth_method="none")
    r, verifier, nonce, state = start_authorization(d, oauth_other, browser)
    location = consent(browser, r).headers["Location"]
    check(location.startswith(other + "?"), "the code goes to the loopback port the request named")
    token = oauth_other.fetch_token(d["token_endpoint"], authorization_response=location, code_verifier=verifier)
    verify_id_token(d, token, nonce, args.account)

    # Without PKCE a public client is refused, back at its redirect URI.
    q = {"response_type": "code", "client_id": args.client_id, "redirect_uri": args.redirect, "scope": "openid", "state": "s1"}
    r = browser.get(d["authorization_endpoint"] + "?" + urllib.parse.urlencode(q), allow_redirects=False, timeout=30)
    err = query_of(r.headers.get("Location"))
    check(r.status_code == 302 and err.get("error") == ["invalid_request"] and err.get("state") == ["s1"], "a public client without PKCE is refused")
    q.update({"code_challenge": generate_token(43), "code_challenge_method": "plain"})
    r = browser.get(d["authorization_endpoint"] + "?" + urllib.parse.urlencode(q), allow_redirects=False, timeout=30)
    err = query_of(r.headers.get("Location"))
    check(r.status_code == 302 and err.get("error") == ["invalid_request"], "PKCE plain is refused")
    print("scenario public: all checks passed")


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=["flow", "public"])
    p.add_argument("--base", required=True)
    p.add_argument("--devchain", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--secret")
    p.add_argument("--auth-method", default="client_secret_basic")
    p.add_argument("--redirect", required=True)
    p.add_argument("--account", default="alice")
    p.add_argument("--app-name", required=True)
    args = p.parse_args()
    {"flow": scenario_flow, "public": scenario_public}[args.scenario]()


if __name__ == "__main__":
    main()
