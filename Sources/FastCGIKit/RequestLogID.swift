/// A request's id for its log lines, looked up only when a line is written. Unlike the request it
/// may be kept past the response: it then has no id, rather than read params libfcgi has freed.
public struct RequestLogID: Sendable {
    private let params: RequestParams?
    private let generation: Int
    /// No request.
    public static let none = RequestLogID(params: nil, generation: 0)

    init(params: RequestParams?, generation: Int) { self.params = params; self.generation = generation }

    /// The X-Request-ID nginx passes, else its $request_id; nil once the response is written.
    public var requestID: RequestID? {
        guard let params, params.generation == generation else { return nil }
        return (params.value(.requestID) ?? params.value(.nginxRequestID)).map(RequestID.init)
    }
}
