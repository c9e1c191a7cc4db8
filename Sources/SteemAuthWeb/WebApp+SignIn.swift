import FastCGIKit
import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore

/// `POST /steemauth/signin`: log in at once by a wallet signature (Keychain's `requestSignBuffer`) of
/// the session's challenge, checked against the account's keys on chain. Binds exactly as a
/// transfer does; every refusal is a 4xx JSON reason a person can act on, never a 500.
extension WebApp {
    func signIn(_ request: Request) -> Response {
        guard isSameOrigin(request) else { return signInError(403, "this request must come from this site") }
        guard let id = signer.sessionID(cookieHeader: request.cookie) else {
            return signInError(401, "no session: reload the page and try again")
        }
        // Refused before any Redis or node work, and not counted as an attempt.
        guard request.contentType?.lowercased().hasPrefix("application/json") == true else {
            return signInError(400, "send the sign-in as application/json")
        }
        let body: SignInRequest
        switch SignInRequest.parse((try? JSONDecoder().decode(JSONValue.self, from: Data(request.body))) ?? .null) {
        case .success(let parsed): body = parsed
        case .failure(let problem): return signInError(400, problem.description)
        }

        let state: SignInState
        do { state = try store.signInState(id: id) } catch { return redisDown(error, html: false) }
        let code: String, expiresAt: Int64, requiredLevel: ProofLevel
        switch state {
        case .noSession: return signInError(401, "no session: reload the page and try again")
        case .alreadyBound: return signInError(409, "this browser is already logged in")
        case .codeExpired: return signInError(401, "the challenge has expired: reload the page and sign again")
        case .unbound(let c, let e, let attempts, let level):
            guard attempts < config.signInAttempts else { return tooManyAttempts(body.account) }
            code = c; expiresAt = e; requiredLevel = level
        }
        guard expiresAt > unixSeconds() else { return signInError(401, "the challenge has expired: reload the page and sign again") }

        let challenge = SignInChallenge.text(host: publicOrigin.host, code: code, expiresAt: expiresAt)
        let key: String
        do {
            let raw = try Secp256k1Recovery.recover(body.signature, digest: OpenSSLDigest.sha256(Array(challenge.utf8)))
            key = ChainKey.text(compressedKey: raw, ripemd160: OpenSSLDigest.ripemd160)
        } catch {
            switch error {
            case .notCanonical: return signInError(400, "the signature is not canonical (high S): the chain refuses such signatures")
            case .invalidSignature, .recoveryFailed: return signInError(400, "the signature is not a valid signature")
            }
        }

        do {
            guard let attempts = try store.countSignInAttempt(id: id) else {
                return signInError(401, "no session: reload the page and try again")
            }
            guard attempts <= config.signInAttempts else { return tooManyAttempts(body.account) }
        } catch { return redisDown(error, html: false) }
        let verdict: AccountAuthorities.Verdict?
        do { verdict = try accountKeys.verdict(account: body.account, key: key) { metrics?.count(.nodeDisagreement) } } catch {
            switch error {
            case .deadline:
                logger.error("sign-in: the chain cannot be reached", metadata: ["account": "\(body.account)", "error": "\(error)"])
                return signInError(504, "the chain is slow to answer: try again in a moment")
            case .nodes:
                logger.error("sign-in: the chain cannot be reached", metadata: ["account": "\(body.account)", "error": "\(error)"])
                return signInError(503, "the chain cannot be reached: try again in a moment", extra: [("Retry-After", "5")])
            case .disagreement:
                // Nothing binds on a verdict the nodes do not agree on: one of them is lying or broken.
                logger.warning("sign-in refused: the nodes disagree about the account's keys", metadata: ["account": "\(body.account)", "key": "\(key)", "error": "\(error)"])
                return signInError(503, "the chain's nodes disagree about the keys of @\(body.account), so this sign-in cannot be trusted: try again later, or pay by transfer",
                                   extra: [("Retry-After", "30")])
            }
        }
        guard let verdict else { return signInError(404, "there is no account @\(body.account) on \(chainName)") }
        switch verdict {
        case .notAKeyOfTheAccount:
            logger.info("sign-in refused: not a key of the account", metadata: ["account": "\(body.account)", "key": "\(key)"])
            return signInError(401, "this signature was not made by a key of @\(body.account): sign with its posting or active key")
        case .weightTooLow:
            logger.info("sign-in refused: key weight below threshold", metadata: ["account": "\(body.account)", "key": "\(key)"])
            return signInError(401, "that key of @\(body.account) cannot sign alone (its weight is below the threshold)")
        case .accepted(let role):
            let level = ProofLevel.of(signatureRole: role)
            guard level.satisfies(requiredLevel) else {
                logger.info("sign-in refused: the application asks for an active-level proof", metadata: ["account": "\(body.account)", "role": "\(role)"])
                return signInError(401, "the application asks for a proof by the active key: sign with @\(body.account)'s active key, or pay the memo")
            }
            let outcome: ClaimOutcome
            do {
                outcome = try store.bindBySignature(code: code, account: body.account, publicKey: key, level: level,
                                                    time: ChainTime(secondsSinceEpoch: unixSeconds()).description,
                                                    boundTTL: config.boundTTL, now: unixSeconds())
            } catch { return redisDown(error, html: false) }
            logger.notice("sign-in", metadata: ["account": "\(body.account)", "role": "\(role)", "key": "\(key)", "decision": "\(outcome.rawValue)"])
            switch outcome {
            case .bound: return json(200, #"{"bound":true,"account":\#(JSONText.string(body.account))}"#)
            case .alreadyBound: return signInError(409, "this browser is already logged in")
            case .unknownOrExpiredCode, .sessionGone: return signInError(401, "the challenge has expired: reload the page and sign again")
            }
        }
    }

    func tooManyAttempts(_ account: String) -> Response {
        logger.warning("sign-in refused: too many attempts", metadata: ["account": "\(account)"])
        return signInError(429, "too many sign-in attempts with this code: wait for the page to show a new one, or pay by transfer",
                           extra: [("Retry-After", "60")])
    }

    func signInError(_ status: Int, _ reason: String, extra: [(String, String)] = []) -> Response {
        json(status, #"{"error":\#(JSONText.string(reason))}"#, extra: extra)
    }
}
