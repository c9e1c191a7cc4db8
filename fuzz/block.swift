// libFuzzer target: JSON-RPC envelopes, blocks and operations in both wire forms.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBlock(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let json = Data(bytes: data, count: size)
    let decoder = JSONDecoder()
    if let reply = try? decoder.decode(RPCResponse<Block>.self, from: json), let block = reply.result {
        let matcher = TransferMatcher(serviceAccount: "steemauth.demo", acceptedSymbols: ["STEEM", "SBD"], minimumMilliUnits: 1, memoPrefix: "")
        _ = BlockScan.scan(block, number: block.number ?? 0, matcher: matcher)
    }
    _ = try? decoder.decode([RPCResponse<BlockAPIGetBlockRangeResult>].self, from: json)
    _ = try? decoder.decode(RPCResponse<DynamicGlobalProperties>.self, from: json)
    _ = try? decoder.decode([ChainOperation].self, from: json)
    _ = try? decoder.decode(RPCResponse<[FollowEntry]>.self, from: json)
    _ = try? decoder.decode(RPCResponse<[ChainAccount]>.self, from: json)
    _ = try? decoder.decode(RPCRequest.self, from: json)
    return 0
}
