/// How an endpoint's failures look to whoever asked: a person (an HTML page), a script (a JSON
/// error), an OAuth client (an RFC 6749 error), a download (plain text), or nginx (a status alone).
enum FailureFace: Sendable {
    case page, json, oauthJSON, plainText, bareStatus
}
