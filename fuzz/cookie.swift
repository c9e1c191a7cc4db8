// libFuzzer target: the Cookie header parser and verifier (SteemAuthCore, built alone by fuzz/run).
// The MAC is a stand-in: the fuzzer explores the parsing and the shape checks, not BLAKE2b.

let fuzzKey: [UInt8] = Array(repeating: 7, count: 32)
let fuzzPreviousKey: [UInt8] = Array(repeating: 9, count: 32)
let standInMAC: CookieSigner.MAC = { key, message, out in
    var state: UInt64 = 0xcbf29ce484222325 ^ UInt64(key[0])
    for round in 0..<out.count {
        for b in message { state = (state ^ UInt64(b)) &* 0x100000001b3 }
        state ^= UInt64(round)
        out[round] = UInt8(truncatingIfNeeded: state >> 24)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCookie(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let signer = CookieSigner(currentKey: fuzzKey, previousKey: fuzzPreviousKey, mac: standInMAC)
    if let id = signer.sessionID(cookieHeader: bytes) {
        // Whatever verified must be a well-formed id whose own signature verifies again.
        precondition(id.hex.utf8.count == 32)
        precondition(signer.verify(value: Array(signer.value(for: id).utf8)) == id)
        // The Set-Cookie written in one pass carries a value that verifies to the same id.
        let header = CookieAttributes(maxAgeSeconds: 60).setCookie(for: id, signedBy: signer)
        precondition(signer.sessionID(cookieHeader: Array(header.utf8)) == id)
    }
    _ = signer.verify(value: bytes)
    return 0
}
