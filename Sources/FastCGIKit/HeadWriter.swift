#if canImport(Glibc)
import Glibc
#endif

/// Writes a header block into a buffer sized in advance (see `capacity`).
struct HeadWriter {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var at = 0
    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    /// Room for `putHeaderLines` of these headers.
    static func capacity(_ headers: [(String, String)]) -> Int {
        headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 }
    }

    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        (buffer.baseAddress! + at).initialize(from: base, count: bytes.count)
        at += bytes.count
    }

    mutating func put(_ s: StaticString) { put(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }

    mutating func putDecimal(_ value: Int) {
        var v = value.magnitude, digits = 1
        while v >= 10 { v /= 10; digits += 1 }
        if value < 0 { buffer[at] = UInt8(ascii: "-"); at += 1 }
        v = value.magnitude
        for i in stride(from: at + digits - 1, through: at, by: -1) { buffer[i] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10 }
        at += digits
    }

    /// `name: value\r\n` for each header, without CR, LF or NUL: no route, present or future, can
    /// split a header or end the header block early, whatever bytes it puts in a name or value.
    mutating func putHeaderLines(_ headers: [(String, String)]) {
        for (name, value) in headers {
            putHeaderText(name); put(": "); putHeaderText(value); put("\r\n")
        }
    }

    mutating func putHeaderText(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            // Almost every header is clean: libc's (vectorised) scans, then one bulk copy.
            func has(_ byte: UInt8) -> Bool { utf8.count > 0 && memchr(utf8.baseAddress!, Int32(byte), utf8.count) != nil }
            if !has(0x0d) && !has(0x0a) && !has(0x00) { put(utf8); return }
            for b in utf8 where b != 0x0d && b != 0x0a && b != 0x00 { buffer[at] = b; at += 1 }
        }
    }
}
