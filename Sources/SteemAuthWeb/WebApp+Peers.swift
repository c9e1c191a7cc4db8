import FastCGIKit

extension WebApp {
    /// A FastCGI peer not in STEEMAUTH_FCGI_ALLOW was closed unread (the worker logged it).
    public mutating func refusedPeer(_ address: String) { metrics?.count(.fcgiRefusedPeer) }
}
