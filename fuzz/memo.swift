// libFuzzer target: memo normalisation and the transfer matching rules.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMemo(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for prefix in ["", "sa-"] {
        if let code = LoginCode.fromMemo(text, prefix: prefix) {
            // A normalised memo is a fixed point, and has the exact shape.
            precondition(LoginCode.fromMemo(code.memo, prefix: prefix) == code)
            precondition(code.memo.utf8.count == prefix.utf8.count + LoginCode.length)
        }
    }
    let matcher = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["STEEM", "SBD"], minimumMilliUnits: 1, memoPrefix: "")
    let amounts = ["0.001 STEEM", "1.000 SBD", "0.000 STEEM", "5.000000 VESTS"]
    let transfer = Transfer(from: "alice", to: "steemauth.demo", amount: Asset.parseLegacy(amounts[size % amounts.count])!, memo: text)
    if case .claim(let code) = matcher.decide(transfer) { precondition(!code.memo.hasPrefix("#")) }
    _ = Asset.parseLegacy(text)
    _ = ChainTime(text)
    _ = AppConfig.isValidAccountName(text)
    return 0
}
