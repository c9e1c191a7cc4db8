import FastCGIKit
import FoundationEssentials
import SteemAuthAdapters
import SteemAuthCore

/// `POST /steemauth/signin`: log in at once by a wallet signature (Keychain's `requestSignBuffer`) of
/// the session's challenge, checked against the account's keys on chain. Binds exactly as a
/// transfer does; every refusal is a 4xx JSON reason a person can act on, never a 500.
final class SignInRoutes: SiteRoom {
    let site: Site
    let accountKeys: AccountKeysService

    init(site: Site, accountKeys: AccountKeysService) { self.site = site; self.accountKeys = accountKeys }

    func signIn(_ request: Request) throws(HTTPFailure) -> Response {
        guard isSameOrigin(request) else { throw signInError(403, "this request must come from this site") }
        guard let id = signer.sessionID(cookieHeader: request.cookie) else {
            throw signInError(401, "no session: reload the page and try again")
        }
        // Refused before any Redis or node work, and not counted as an attempt.
        guard request.contentType?.lowercased().hasPrefix("application/json") == true else {
            throw signInError(400, "send the sign-in as application/json")
        }
        let body: SignInRequest
        switch SignInRequest.parse((try? JSONDecoder().decode(JSONValue.self, from: Data(request.body))) ?? .null) {
        case .success(let parsed): body = parsed
        case .failure(let problem): throw signInError(400, problem.description)
        }

        let state: SignInState
        do { state = try store.signInState(id: id) } catch { throw storeDown(error) }
        let code: String, expiresAt: Int64, requiredLevel: ProofLevel
        switch state {
        case .noSession: throw signInError(401, "no session: reload the page and try again")
        case .alreadyBound: throw signInError(409, "this browser is already logged in")
        case .codeExpired: throw signInError(401, "the challenge has expired: reload the page and sign again")
        case .unbound(let c, let e, let attempts, let level):
            guard attempts < config.signInAttempts else { throw tooManyAttempts(body.account) }
            code = c; expiresAt = e; requiredLevel = level
        }
        guard expiresAt > clock.unixSeconds else { throw signInError(401, "the challenge has expired: reload the page and sign again") }

        let challenge = SignInChallenge.text(host: publicOrigin.host, code: code, expiresAt: expiresAt)
        let key: String
        do {
            let raw = try Secp256k1Recovery.recover(body.signature, digest: OpenSSLDigest.sha256(Array(challenge.utf8)))
            key = ChainKey.text(compressedKey: raw, ripemd160: OpenSSLDigest.ripemd160)
        } catch {
            switch error {
            case .notCanonical: throw signInError(400, "the signature is not canonical (high S): the chain refuses such signatures")
            case .invalidSignature, .recoveryFailed: throw signInError(400, "the signature is not a valid signature")
            }
        }

        let attempts: Int?
        do { attempts = try store.countSignInAttempt(id: id) } catch { throw storeDown(error) }
        guard let attempts else { throw signInError(401, "no session: reload the page and try again") }
        guard attempts <= config.signInAttempts else { throw tooManyAttempts(body.account) }
        let verdict: AccountAuthorities.Verdict?
        do { verdict = try accountKeys.verdict(account: body.account, key: key) { metrics?.count(.nodeDisagreement) } } catch {
            switch error {
            case .deadline:
                logger.error("sign-in: the chain cannot be reached", metadata: ["account": "\(body.account)", "error": "\(error)"])
                throw signInError(504, "the chain is slow to answer: try again in a moment")
            case .nodes:
                logger.error("sign-in: the chain cannot be reached", metadata: ["account": "\(body.account)", "error": "\(error)"])
                throw signInError(503, "the chain cannot be reached: try again in a moment", retryAfterSeconds: 5)
            case .disagreement:
                // Nothing binds on a verdict the nodes do not agree on: one of them is lying or broken.
                logger.warning("sign-in refused: the nodes disagree about the account's keys", metadata: ["account": "\(body.account)", "key": "\(key)", "error": "\(error)"])
                throw signInError(503, "the chain's nodes disagree about the keys of @\(body.account), so this sign-in cannot be trusted: try again later, or pay by transfer",
                                   retryAfterSeconds: 30)
            }
        }
        guard let verdict else { throw signInError(404, "there is no account @\(body.account) on \(chainName)") }
        switch verdict {
        case .notAKeyOfTheAccount:
            logger.info("sign-in refused: not a key of the account", metadata: ["account": "\(body.account)", "key": "\(key)"])
            throw signInError(401, "this signature was not made by a key of @\(body.account): sign with its posting or active key")
        case .weightTooLow:
            logger.info("sign-in refused: key weight below threshold", metadata: ["account": "\(body.account)", "key": "\(key)"])
            throw signInError(401, "that key of @\(body.account) cannot sign alone (its weight is below the threshold)")
        case .accepted(let role):
            let level = ProofLevel.of(signatureRole: role)
            guard level.satisfies(requiredLevel) else {
                logger.info("sign-in refused: the application asks for an active-level proof", metadata: ["account": "\(body.account)", "role": "\(role)"])
                throw signInError(401, "the application asks for a proof by the active key: sign with @\(body.account)'s active key, or pay the memo")
            }
            let outcome: ClaimOutcome
            do {
                outcome = try store.bindBySignature(code: code, account: body.account, publicKey: key, level: level,
                                                    time: ChainTime(secondsSinceEpoch: clock.unixSeconds).description,
                                                    boundTTL: config.boundTTL, now: clock.unixSeconds)
            } catch { throw storeDown(error) }
            logger.notice("sign-in", metadata: ["account": "\(body.account)", "role": "\(role)", "key": "\(key)", "decision": "\(outcome.rawValue)"])
            switch outcome {
            case .bound: return json(200, #"{"bound":true,"account":\#(JSONText.string(body.account))}"#)
            case .alreadyBound: throw signInError(409, "this browser is already logged in")
            case .unknownOrExpiredCode, .sessionGone: throw signInError(401, "the challenge has expired: reload the page and sign again")
            }
        }
    }

    func tooManyAttempts(_ account: String) -> HTTPFailure {
        logger.warning("sign-in refused: too many attempts", metadata: ["account": "\(account)"])
        return signInError(429, "too many sign-in attempts with this code: wait for the page to show a new one, or pay by transfer",
                           retryAfterSeconds: 60)
    }

    /// Every refusal is a JSON reason a person can act on (the endpoint's face).
    func signInError(_ status: Int, _ reason: String, retryAfterSeconds: Int? = nil) -> HTTPFailure {
        HTTPFailure(status, reason, retryAfterSeconds: retryAfterSeconds)
    }
}
