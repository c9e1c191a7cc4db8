/// What a handler asks its worker to do once a response is written (`RequestHandler.afterResponse`).
public enum AfterResponse: Sendable, Equatable {
    /// Go on to the next request.
    case none
    /// Give the heap's free memory back to the system first: the request freed a lot (glibc would
    /// otherwise keep it for as long as the worker stays busy).
    case trimMemory
    /// Hand this worker's place to a fresh one (as max requests does): the request did rare, large
    /// work that touched code and heap no other request needs.
    case recycle
}
