/// The values the report page is filled with per request, by their place among its markers.
enum ReportSlot: Int, CaseIterable {
    case account
    /// The cached report list: raw markup, sent between the frame's two parts.
    case list
    case behindSeconds, transactionID, block, time, publicKey
}
