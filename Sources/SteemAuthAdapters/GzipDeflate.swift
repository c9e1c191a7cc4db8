import CZlib

/// A run of raw deflate data that a gzip member can carry between others: made by its own stream
/// (no back-reference before its start) and flushed to a byte boundary, final only when it ends the
/// member. With its CRC-32 and length, segments made at different times join into one member.
public struct DeflateSegment: Sendable, Equatable {
    public var bytes: [UInt8]
    public var crc: UInt32
    public var length: Int
    /// zlib's operator for appending this segment's CRC to another's (crc32_combine_gen of its
    /// length): made once with the segment, so joining a segment made once costs almost nothing.
    let combineOp: UInt
    /// The same operator as lookup tables, for a segment joined into many members (`kept()`).
    private var shift: CRC32Shift? = nil

    /// Stored as 4 bytes CRC-32 (little endian), 4 bytes length, then the deflate bytes.
    public var stored: [UInt8] {
        withUnsafeBytes(of: crc.littleEndian, Array.init) + withUnsafeBytes(of: UInt32(length).littleEndian, Array.init) + bytes
    }

    public init(bytes: [UInt8], crc: UInt32, length: Int) {
        self.bytes = bytes; self.crc = crc; self.length = length
        combineOp = crc32_combine_gen(off_t(length))
    }

    public init?(stored: [UInt8]) {
        guard stored.count >= 8 else { return nil }
        crc = stored[0..<4].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        length = Int(stored[4..<8].reversed().reduce(0) { $0 << 8 | UInt32($1) })
        bytes = Array(stored[8...])
        combineOp = crc32_combine_gen(off_t(length))
    }

    /// The same data: how a segment is kept does not matter.
    public static func == (a: DeflateSegment, b: DeflateSegment) -> Bool {
        a.bytes == b.bytes && a.crc == b.crc && a.length == b.length
    }

    /// This segment made ready to be joined into members again and again (a frozen page's chunk):
    /// its CRC operator as tables, so each join costs 8 lookups instead of zlib's bit-by-bit
    /// product (about 400 instructions).
    public func kept() -> DeflateSegment {
        var segment = self
        segment.shift = CRC32Shift(combineOp: combineOp)
        return segment
    }

    /// `crc` (of what comes before) joined with this segment's CRC: the CRC of both in a row.
    func crc(after crc: UInt32) -> UInt32 {
        if length == 0 { return crc }
        if let shift { return shift.apply(crc) ^ self.crc }
        return UInt32(truncatingIfNeeded: crc32_combine_op(uLong(crc), uLong(self.crc), combineOp))
    }
}

/// zlib's CRC combine operator for a fixed length, kept as tables. Joining a CRC with the next
/// bytes' multiplies it by x^(8·length) modulo CRC-32's polynomial (zlib's crc32_combine_op), which
/// is linear over GF(2): the product of a CRC is the XOR of its nibbles' products. zlib makes each
/// of the 32 one-bit products once; every nibble value's product is kept (8 positions × 16 values).
struct CRC32Shift: Sendable {
    private let table: [UInt32]     // table[16 * position + nibble]

    init(combineOp: UInt) {
        var table = [UInt32](repeating: 0, count: 8 * 16)
        for position in 0..<8 {
            for bit in 0..<4 {
                let one = UInt32(truncatingIfNeeded: crc32_combine_op(uLong(1) << uLong(4 * position + bit), 0, combineOp))
                let low = 1 << bit      // nibbles with this bit as their highest: a nibble below it, plus the bit
                for nibble in low..<(2 * low) { table[16 * position + nibble] = table[16 * position + nibble - low] ^ one }
            }
        }
        self.table = table
    }

    func apply(_ crc: UInt32) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var product: UInt32 = 0
            for position in 0..<8 { product ^= t[16 * position + Int((crc >> UInt32(4 * position)) & 0xf)] }
            return product
        }
    }
}

/// Compresses with zlib through one reusable raw-deflate stream (reset per segment, so no allocation
/// per request); `GzipMemberWriter` joins segments into a gzip member (RFC 1952).
public final class GzipDeflate {
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: [UInt8] = []

    /// `small`: a 4 KB window and little hash memory (~20 KB instead of ~260 KB), for the few
    /// kilobytes a worker compresses per request; the cached report is compressed with the full window.
    public init(level: Int32, small: Bool = false) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = steemauth_deflate_init_raw(stream, level, small ? 12 : 15, small ? 2 : 8)
        precondition(rc == Z_OK, "deflateInit2 failed: \(rc)")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// `text` as a segment: sync-flushed, or finished when `final` (the member's last segment).
    public func segment(_ text: String, final: Bool) -> DeflateSegment {
        var text = text
        return text.withUTF8 { segment(UnsafeRawBufferPointer($0), final: final) }
    }

    public func segment(_ data: UnsafeRawBufferPointer, final: Bool) -> DeflateSegment {
        deflateReset(stream)
        let bound = Int(deflateBound(stream, uLong(data.count))) + 16
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let produced: Int = output.withUnsafeMutableBufferPointer { out in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: data.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(data.count)
            stream.pointee.next_out = out.baseAddress
            stream.pointee.avail_out = uInt(out.count)
            let rc = deflate(stream, final ? Z_FINISH : Z_SYNC_FLUSH)
            precondition(rc == (final ? Z_STREAM_END : Z_OK), "deflate failed: \(rc)")
            return out.count - Int(stream.pointee.avail_out)
        }
        let crc = UInt32(crc32(0, data.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(data.count)))
        return DeflateSegment(bytes: Array(output[0..<produced]), crc: crc, length: data.count)
    }
}

/// One gzip member (RFC 1952) written as it goes: segments made earlier, and per-request text as
/// stored blocks straight into the output with the CRC run over it (no segment made per value).
/// The last thing appended must be a final segment.
public struct GzipMemberWriter {
    private var bytes: [UInt8] = []
    private var crc: UInt32 = 0, length = 0
    private static let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]   // deflate, no name, no time, unknown OS

    /// Room for `capacity` bytes of deflate data besides the header and trailer, reserved before the
    /// header goes in. `buffer`: an array to write into, emptied first and its memory kept (a worker
    /// reuses one from page to page, as a page's buffer of a few kilobytes costs malloc its slow path).
    public init(capacity: Int, reusing buffer: consuming [UInt8] = []) {
        bytes = consume buffer
        bytes.removeAll(keepingCapacity: true)
        bytes.reserveCapacity(18 + capacity)
        bytes += Self.header
    }

    public mutating func append(_ segment: DeflateSegment) {
        crc = segment.crc(after: crc)
        length += segment.length
        bytes += segment.bytes
    }

    /// `text` as stored (uncompressed) deflate blocks, none final: per block a byte-aligned header
    /// byte 0 (not final, type 00), LEN and its one's complement NLEN (little endian), then the bytes
    /// (RFC 1951, 3.2.4). That is all zlib's level 0 writes for a few bytes; without a stream there
    /// is nothing to reset per value (a reset clears zlib's tables: thousands of instructions), and
    /// the CRC runs on over the bytes (cheaper for a short value than a combine operator per value).
    public mutating func appendUncompressed(_ text: String) {
        var text = text
        text.withUTF8 { data in
            bytes.reserveCapacity(bytes.count + data.count + 5 * (data.count / 65535 + 1))
            var at = 0
            repeat {
                let n = min(65535, data.count - at)
                bytes.append(0)
                bytes.append(UInt8(n & 0xff)); bytes.append(UInt8(n >> 8))
                bytes.append(UInt8(~n & 0xff)); bytes.append(UInt8((~n >> 8) & 0xff))
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: data[at..<at + n]))
                at += n
            } while at < data.count
            crc = UInt32(truncatingIfNeeded: crc32(uLong(crc), data.baseAddress, uInt(data.count)))
            length += data.count
        }
    }

    public consuming func finish() -> [UInt8] {
        withUnsafeBytes(of: crc.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian) { bytes += $0 }
        return bytes
    }
}
