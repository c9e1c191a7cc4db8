/// The values the ask page is filled with per request, by their place among its markers.
enum AskSlot: Int, CaseIterable {
    case memo, expiresMinutes, behindSeconds
    /// The pay link's QR code: raw markup, and the slot a gzip page puts its compressed segment in.
    case qrCode
    case appName
}
