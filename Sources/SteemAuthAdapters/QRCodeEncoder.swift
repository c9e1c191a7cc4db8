import CQRencode
import SteemAuthCore

/// QR codes through libqrencode: the module matrix of a text (8-bit mode, error correction M).
public enum QRCodeEncoder {
    public static func modules(_ text: String) -> QRModules? {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        // libqrencode: one byte per module, the lowest bit set when the module is dark.
        let bytes = UnsafeBufferPointer(start: code.pointee.data, count: width * width)
        return QRModules(width: width, dark: bytes.map { $0 & 1 == 1 })
    }
}
