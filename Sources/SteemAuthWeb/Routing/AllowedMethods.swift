/// The methods an endpoint answers: a switch, not a list, since every request's routing asks.
public enum AllowedMethods: Sendable {
    case getOrHead, postOnly, getOrPost
    func allow(_ method: String) -> Bool {
        switch self {
        case .getOrHead: return method == "GET" || method == "HEAD"
        case .postOnly: return method == "POST"
        case .getOrPost: return method == "GET" || method == "POST"
        }
    }
    var allowHeader: String {
        switch self {
        case .getOrHead: return "GET, HEAD"
        case .postOnly: return "POST"
        case .getOrPost: return "GET, POST"
        }
    }
}
