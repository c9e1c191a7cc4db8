import SteemAuthAdapters
import SteemAuthCore
import SteemAuthTesting
import XCTest

/// The session-store contract against the in-memory stores (its twin, `RedisStoreContractTests`,
/// runs the same cases on a real redis-server).
final class InMemoryStoreContractTests: XCTestCase {
    func run(_ contractCase: (SessionStoreContract.Subject) throws -> Void) throws {
        try contractCase(InMemoryStores().contractSubject())
    }

    func testCreate() throws { try run(SessionStoreContract.create) }
    func testReissue() throws { try run(SessionStoreContract.reissue) }
    func testBind() throws { try run(SessionStoreContract.bind) }
    func testRotateWithDeny() throws { try run(SessionStoreContract.rotateWithDeny) }
    func testVerifyNeverRotates() throws { try run(SessionStoreContract.verifyNeverRotates) }
    func testLogout() throws { try run(SessionStoreContract.logout) }
    func testExpiry() throws { try run(SessionStoreContract.expiry) }
    func testSignIn() throws { try run(SessionStoreContract.signIn) }
    func testOidcParkingOnANewBrowser() throws { try run(SessionStoreContract.oidcParkingOnANewBrowser) }
    func testOidcFreshProof() throws { try run(SessionStoreContract.oidcFreshProof) }
    func testReportCache() throws { try run(SessionStoreContract.reportCache) }

    func testEveryCaseIsRunHere() {
        XCTAssertEqual(SessionStoreContract.cases.count, 11, "a new contract case gets a test in both suites")
    }
}
