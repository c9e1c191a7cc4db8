/// A QR symbol's module matrix (row by row, `true` = dark), and its rendering as one inline SVG path:
/// one horizontal run per `h` segment, so a version-6 code is a few kilobytes, and the page needs no
/// outside image (the CSP allows none).
public struct QRModules: Sendable, Equatable {
    public let width: Int
    public let dark: [Bool]

    public init(width: Int, dark: [Bool]) {
        precondition(dark.count == width * width)
        self.width = width; self.dark = dark
    }

    public func isDark(x: Int, y: Int) -> Bool { dark[y * width + x] }

    /// An SVG of `pixels` CSS pixels square, with the 4-module quiet zone the standard asks for.
    public func svg(pixels: Int, label: String) -> String {
        let size = width + 8
        // Bytes, not string interpolation: a version-6 code has ~600 runs.
        var pathBytes: [UInt8] = []
        pathBytes.reserveCapacity(width * width * 2)
        func number(_ n: Int) {
            if n >= 10 { number(n / 10) }
            pathBytes.append(UInt8(ascii: "0") + UInt8(n % 10))
        }
        // Each row's dark runs as 1-unit-wide strokes through the row's middle: `M4 4.5h7m1 0h2…`, a
        // move to the row's first run, then relative moves and lines (half the bytes of a rectangle per run).
        for y in 0..<width {
            var x = 0, pen: Int? = nil
            while x < width {
                guard dark[y * width + x] else { x += 1; continue }
                var run = 1
                while x + run < width && dark[y * width + x + run] { run += 1 }
                if let pen {
                    pathBytes.append(UInt8(ascii: "m")); number(x - pen); pathBytes.append(contentsOf: " 0".utf8)
                } else {
                    pathBytes.append(UInt8(ascii: "M")); number(x + 4); pathBytes.append(UInt8(ascii: " ")); number(y + 4)
                    pathBytes.append(contentsOf: ".5".utf8)
                }
                pathBytes.append(UInt8(ascii: "h")); number(run)
                pen = x + run
                x += run
            }
        }
        let path = String(decoding: pathBytes, as: UTF8.self)
        return ##"<svg xmlns="http://www.w3.org/2000/svg" class="qr" role="img" aria-label="\##(label)" width="\##(pixels)" height="\##(pixels)" viewBox="0 0 \##(size) \##(size)" shape-rendering="crispEdges"><rect width="\##(size)" height="\##(size)" fill="#fff"/><path fill="none" stroke="#000" d="\##(path)"/></svg>"##
    }
}
