// libFuzzer target: the sign-in body parser (as the route decodes it), compact signatures, base58
// and the chain's key text.
import FoundationEssentials

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignIn(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let value = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))) ?? .null
    if case .success(let request) = SignInRequest.parse(value) {
        precondition(AccountName.isValid(request.account))
        precondition(CompactSignature.parse(request.signature.bytes) == request.signature)
    }
    let text = String(decoding: bytes, as: UTF8.self)
    if let sig = CompactSignature.parse(hex: text) { precondition(sig.rs.count == 64 && (0...3).contains(sig.recoveryID)) }
    if let decoded = Base58.decode(text) { precondition(Base58.decode(Base58.encode(decoded)) == decoded) }
    precondition(Base58.decode(Base58.encode(Array(bytes.prefix(64)))) == Array(bytes.prefix(64)))
    _ = ChainKey.key(text) { Array($0.prefix(20)) }
    let host = SignInChallenge.displayHost(text)
    precondition(!host.contains("\n") && !host.contains("\r"))
    return 0
}
