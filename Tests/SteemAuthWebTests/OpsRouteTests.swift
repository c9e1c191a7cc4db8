@_spi(Testing) import FastCGIKit
@testable import SteemAuthWeb
import XCTest

/// Liveness, static files, metrics and the route table's own refusals (404, 405), in process.
final class OpsRouteTests: XCTestCase {
    func testPingAnswersPong() throws {
        var site = try TestSite()
        let r = site.get("/ping")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, "pong\n")
        XCTAssertEqual(r.header("Content-Type"), "text/plain")
    }

    func testHeadOfPingHasTheLengthButNoBody() throws {
        var site = try TestSite()
        let r = site.request("HEAD", "/ping")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Length"), "5")
        XCTAssertTrue(r.body.isEmpty)
    }

    func testPostToPingIs405WithAllow() throws {
        var site = try TestSite()
        let r = site.post("/ping")
        XCTAssertEqual(r.status, 405)
        XCTAssertEqual(r.header("Allow"), "GET, HEAD")
        XCTAssertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        XCTAssertTrue(r.text.contains("This address does not accept POST requests."), r.text)
    }

    func testAnUnknownMethodIs405AndNamesIt() throws {
        var site = try TestSite()
        let r = site.request("DELETE", "/steemauth")
        XCTAssertEqual(r.status, 405)
        XCTAssertEqual(r.header("Allow"), "GET, HEAD")
        XCTAssertTrue(r.text.contains("This address does not accept DELETE requests."), r.text)
    }

    func testAnUnknownAddressIsA404PageWhateverTheMethod() throws {
        var site = try TestSite()
        for method in ["GET", "POST", "PUT"] {
            let r = site.request(method, "/nothing-here")
            XCTAssertEqual(r.status, 404, method)
            XCTAssertNil(r.header("Allow"), method)
            XCTAssertTrue(r.text.contains("There is nothing at this address."), r.text)
        }
    }

    func testFaviconIsTheSiteSVG() throws {
        var site = try TestSite()
        let r = site.get("/favicon.ico")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.header("Content-Type"), "image/svg+xml")
        XCTAssertEqual(r.header("Cache-Control"), "public, max-age=3600")
        XCTAssertTrue(r.text.contains("<svg"))
    }

    func testStaticFilesComeFromTheAllowList() throws {
        var site = try TestSite()
        let css = site.get("/steemauth/static/app.css")
        XCTAssertEqual(css.status, 200)
        XCTAssertEqual(css.header("Content-Type"), "text/css; charset=utf-8")
        XCTAssertEqual(css.header("X-Content-Type-Options"), "nosniff")
        XCTAssertEqual(site.get("/steemauth/static/app.js").header("Content-Type"), "text/javascript; charset=utf-8")
    }

    func testAStaticNameOutsideTheAllowListIs404EvenForAPost() throws {
        var site = try TestSite()
        for path in ["/steemauth/static/../../etc/passwd", "/steemauth/static/", "/steemauth/static/base.html"] {
            XCTAssertEqual(site.get(path).status, 404, path)
        }
        XCTAssertEqual(site.post("/steemauth/static/nope.css").status, 404)
        XCTAssertEqual(site.post("/steemauth/static/app.css").status, 405)
    }

    func testMetricsRefuseAnAddressNotAllowed() throws {
        var site = try TestSite()
        let r = site.get("/metrics")     // from 192.0.2.7; only loopback is allowed by default
        XCTAssertEqual(r.status, 403)
        XCTAssertEqual(r.text, "forbidden\n")
    }

    func testMetricsSayWhenTheyAreOff() throws {
        var site = try TestSite(environment: ["STEEMAUTH_METRICS_ALLOW": "any"])
        let r = site.get("/metrics")
        XCTAssertEqual(r.status, 404)
        XCTAssertEqual(r.text, "metrics are off\n")
    }

    func testEachRequestIsCountedUnderItsEndpointsLabel() throws {
        let metrics = try XCTUnwrap(SharedCounters(slots: PoolMetrics.slotCount).map(PoolMetrics.init))
        var site = try TestSite(metrics: metrics)
        _ = site.get("/ping"); _ = site.get("/ping"); _ = site.post("/ping"); _ = site.get("/nowhere"); _ = site.get("/favicon.ico")
        let text = metrics.render(watcher: nil, redisMaster: nil)
        XCTAssertTrue(text.contains(#"steemauth_http_requests_total{route="ping",code="200"} 2"#), text)
        XCTAssertTrue(text.contains(#"steemauth_http_requests_total{route="ping",code="405"} 1"#), text)
        XCTAssertTrue(text.contains(#"steemauth_http_requests_total{route="other",code="404"} 1"#), text)
        XCTAssertTrue(text.contains(#"steemauth_http_requests_total{route="static",code="200"} 1"#), text)
    }
}

/// The route table: every path once, in the order the worker interns them.
final class EndpointTableTests: XCTestCase {
    func testEveryPathIsRoutedOnceAtItsEndpointsPlace() {
        let paths = Endpoint.routedPaths
        XCTAssertEqual(Set(paths).count, paths.count)
        for (i, path) in paths.enumerated() { XCTAssertEqual(Endpoint(rawValue: i)?.path, path) }
        XCTAssertEqual(Endpoint.of(routedPathIndex: nil, path: "/steemauth/static/app.css"), .staticFile)
        XCTAssertEqual(Endpoint.of(routedPathIndex: nil, path: "/steemauth/other"), .notFound)
    }

    func testTheWorkerHandsTheEndpointsPlaceWithTheRequest() throws {
        let site = try TestSite()
        XCTAssertEqual(site.server.handler.routedPaths, Endpoint.routedPaths)
    }
}
