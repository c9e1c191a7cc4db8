/// What a worker runs for each request. One instance per worker process, created after fork.
public protocol RequestHandler {
    /// The paths the handler routes: a request for one of them gets this very String as its path
    /// (no decoding, no allocation) and its place in this list as `routedPathIndex`. Read once,
    /// when the worker starts.
    var routedPaths: [String] { get }
    mutating func handle(_ request: Request) -> Response
    /// Read after each response: what the worker does before the next request.
    var afterResponse: AfterResponse { get }
    /// A TCP peer not in the allow-list connected, and was closed unread (for metrics).
    mutating func refusedPeer(_ address: String)
}

extension RequestHandler {
    public var afterResponse: AfterResponse { .none }
    public mutating func refusedPeer(_ address: String) {}
    public var routedPaths: [String] { [] }
}
