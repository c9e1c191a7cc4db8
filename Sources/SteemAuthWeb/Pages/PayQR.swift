import SteemAuthAdapters

/// The pay link as a QR code (inline SVG: the CSP allows no outside image), for a phone wallet;
/// kept per memo (a reload shows the same one), with its compressed form once a gzip page needed it.
final class PayQR {
    let memo: String
    let svg: String
    let svgBytes: [UInt8]
    var compressed: DeflateSegment?
    init(memo: String, svg: String) { self.memo = memo; self.svg = svg; svgBytes = Array(svg.utf8) }
}
