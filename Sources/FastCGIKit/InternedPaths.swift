#if canImport(Glibc)
import Glibc
#endif

/// A handler's routed paths, found by their bytes: a request's path that is one of them is the
/// handler's own String, with its place in the handler's list; any other is decoded.
struct InternedPaths {
    private let bytes: [UInt8]              // every path's UTF-8, one after the other
    private let ends: [Int]                 // where each path's bytes end in `bytes`
    private let texts: [String]

    init(_ paths: [String]) {
        var bytes: [UInt8] = [], ends: [Int] = []
        for path in paths { bytes += Array(path.utf8); ends.append(bytes.count) }
        self.bytes = bytes; self.ends = ends; texts = paths
    }

    /// The place of the routed path whose UTF-8 is `path`, or nil.
    func index(of path: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = path.baseAddress else { return nil }
        return bytes.withUnsafeBufferPointer { all -> Int? in
            var start = 0
            for (i, end) in ends.enumerated() {
                defer { start = end }
                if end - start == path.count && memcmp(all.baseAddress! + start, base, path.count) == 0 { return i }
            }
            return nil
        }
    }

    /// The interned String of the routed path at `index`.
    func text(at index: Int) -> String { texts[index] }
}
