import FastCGIKit
import SteemAuthAdapters
import SteemAuthCore

/// The ask page: the login code to pay (or sign), with the pay link and its QR code.
extension WebApp {
    /// The ask page: frozen once per worker (per variant), filled per request; for a client that
    /// takes gzip, its frozen chunks and its QR code are compressed once and only the values are not.
    /// `forApp`: the application an OpenID Connect authorization waits to log the visitor in to.
    func askPage(memo: String, expiresIn: Int, behind: Double?, forApp: String? = nil, gzip: Bool = false) -> Response {
        let variant = FrozenVariant.ask(lag: behind != nil, app: forApp != nil)
        let page = frozenPage(variant)
        let values = [memo, String(max(1, (expiresIn + 59) / 60)), behind.map { String(Int($0)) } ?? "", "", forApp ?? ""]
        if gzip {
            let body = gzipBody(variant, values: values, slot: 3, slotSegment: payQRSegment(memo: memo))
            return Response(status: 200, prepared: gzipPageHeaders, body: body)
        }
        // Filled into this worker's page buffer: the response shares it, and once the response is
        // written and gone the next page fills it in place (no page-sized allocation per request).
        let scratch = frozenPages
        if scratch.pageBuffer.capacity > 256 * 1024 { scratch.pageBuffer = [] }
        page.fill(values, slot: 3, slotBytes: payQR(memo: memo).svgBytes, into: &scratch.pageBuffer)
        return Response(status: 200, prepared: pageHeaders, body: scratch.pageBuffer)
    }

    /// The pay link as a QR code (inline SVG: the CSP allows no outside image), for a phone wallet;
    /// kept per memo (a reload shows the same one), with its compressed form once a gzip page needed it.
    final class PayQR {
        let memo: String
        let svg: String
        let svgBytes: [UInt8]
        var compressed: DeflateSegment?
        init(memo: String, svg: String) { self.memo = memo; self.svg = svg; svgBytes = Array(svg.utf8) }
    }

    func payQR(memo: String) -> PayQR {
        if let last = frozenPages.lastQR, last.memo == memo { return last }
        if let qr = frozenPages.qrCodes[memo] { frozenPages.lastQR = qr; return qr }
        let svg = QRCodeEncoder.modules(signerURL(memo: memo)).map { $0.svg(pixels: 240, label: "QR code of the payment link with the memo") } ?? ""
        if frozenPages.qrCodes.count >= 32 { frozenPages.qrCodes.removeAll() }
        let qr = PayQR(memo: memo, svg: svg)
        frozenPages.qrCodes[memo] = qr
        frozenPages.lastQR = qr
        return qr
    }

    func payQRSegment(memo: String) -> DeflateSegment {
        let qr = payQR(memo: memo)
        if let done = qr.compressed { return done }
        let segment = GzipDeflate(level: 9, small: true).segment(qr.svg, final: false)
        qr.compressed = segment
        return segment
    }

    /// The signer's transfer page with to, amount and memo (what phone wallets open too).
    /// `memo` goes in as is: login codes are `[a-z0-9-]`, URL-safe.
    func signerURL(memo: String) -> String {
        let amountNumber = config.displayAmount.split(separator: " ")[0]
        let asset = config.assets.first ?? "STEEM"
        let signerBase = config.chain == .steem ? "https://steemlogin.com/sign/transfer" : "https://hivesigner.com/sign/transfer"
        return "\(signerBase)?to=\(FormURLEncoded.encode(config.account))&amount=\(FormURLEncoded.encode("\(amountNumber) \(asset)"))&memo=\(memo)"
    }

    func askValues(memo: String, expiresMinutes: String) -> [String: Any] {
        let amountNumber = config.displayAmount.split(separator: " ")[0]
        let asset = config.assets.first ?? "STEEM"
        return [
            "chainName": chainName, "account": config.account, "amount": config.displayAmount, "amountNumber": String(amountNumber),
            "asset": asset, "memo": memo, "expiresMinutes": expiresMinutes,
            "signerURL": signerURL(memo: memo), "signerName": config.chain == .steem ? "SteemLogin" : "HiveSigner",
            "keychainName": config.chain == .steem ? "Steem Keychain" : "Hive Keychain",
            "signKey": "Posting",   // the key the wallet is asked to sign with (the fresh-proof page may ask for Active)
        ]
    }
}
