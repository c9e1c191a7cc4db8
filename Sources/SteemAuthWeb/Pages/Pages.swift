import FastCGIKit
import SteemAuthAdapters
import SteemAuthCore

/// The pages rendered once and filled per request (see FrozenPage): the ask page and the report
/// page's frame, plain or gzip, and the set the pool's master freezes before it forks.
final class Pages: SiteRoom {
    let site: Site
    /// This worker's compressor for the small per-request parts of a gzip page (one stream, reset per use).
    let deflate = GzipDeflate(level: 1, small: true)
    /// The empty final block that ends every gzip page (its per-request values go in as stored
    /// blocks, `GzipMemberWriter.appendUncompressed`: a few bytes each, no compression work).
    let finalDeflateBlock = GzipDeflate(level: 0, small: true).segment("", final: true)

    init(site: Site) { self.site = site }

    // MARK: the ask page

    /// The ask page: frozen once per worker (per variant), filled per request; for a client that
    /// takes gzip, its frozen chunks and its QR code are compressed once and only the values are not.
    /// `forApp`: the application an OpenID Connect authorization waits to log the visitor in to.
    func askPage(memo: String, expiresIn: Int, behind: Double?, forApp: String? = nil, gzip: Bool = false) -> Response {
        let variant = FrozenVariant.ask(lag: behind != nil, app: forApp != nil)
        let page = frozenPage(variant)
        var values = [String](repeating: "", count: AskSlot.allCases.count)
        values[AskSlot.memo.rawValue] = memo
        values[AskSlot.expiresMinutes.rawValue] = String(max(1, (expiresIn + 59) / 60))
        values[AskSlot.behindSeconds.rawValue] = behind.map { String(Int($0)) } ?? ""
        values[AskSlot.appName.rawValue] = forApp ?? ""
        if gzip {
            let body = gzipBody(variant, values: values, slot: AskSlot.qrCode.rawValue, slotSegment: payQRSegment(memo: memo))
            return Response(status: 200, prepared: site.gzipPageHeaders, body: body)
        }
        // Filled into this worker's page buffer: the response shares it, and once the response is
        // written and gone the next page fills it in place (no page-sized allocation per request).
        let scratch = frozenPages
        if scratch.pageBuffer.capacity > 256 * 1024 { scratch.pageBuffer = [] }
        page.fill(values, slot: AskSlot.qrCode.rawValue, slotBytes: payQR(memo: memo).svgBytes, into: &scratch.pageBuffer)
        return Response(status: 200, prepared: site.pageHeaders, body: scratch.pageBuffer)
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

    // MARK: frozen pages

    /// A frozen page as one gzip member: its chunks compressed once (as well as zlib can),
    /// the request's values as stored blocks, `slotSegment` (compressed once elsewhere: the cached
    /// list, the QR code) in the raw slot `slot`, then the final block.
    func gzipBody(_ variant: FrozenVariant, values: [String], slot: Int, slotSegment: DeflateSegment) -> [UInt8] {
        let page = frozenPage(variant), chunks = compressedChunks(variant)
        // Written into this worker's gzip buffer: the response shares it, and once the response is
        // written and gone the next gzip page is written in place (as `askPage` fills its plain page).
        let scratch = frozenPages
        var buffer: [UInt8] = []
        swap(&buffer, &scratch.gzipBuffer)
        if buffer.capacity > 256 * 1024 { buffer = [] }
        var member = GzipMemberWriter(capacity: chunks.reduce(slotSegment.bytes.count + 256) { $0 + $1.bytes.count }, reusing: consume buffer)
        page.walk(values, separating: slot) { piece in
            switch piece {
            case .chunk(let i): if chunks[i].length > 0 { member.append(chunks[i]) }
            case .value(let text): member.appendUncompressed(text)
            case .slot: member.append(slotSegment)
            }
        }
        member.append(finalDeflateBlock)
        scratch.gzipBuffer = member.finish()
        return scratch.gzipBuffer
    }

    func frozenPage(_ variant: FrozenVariant) -> FrozenPage {
        if let page = frozenPages.pages[variant.rawValue] { return page }
        let page = render(variant)
        frozenPages.pages[variant.rawValue] = page
        return page
    }

    /// A frozen page's chunks compressed once, as well as zlib can (gzip pages: only the values are
    /// per request).
    func compressedChunks(_ variant: FrozenVariant) -> [DeflateSegment] {
        if let done = frozenPages.compressedChunks[variant.rawValue] { return done }
        let compressor = GzipDeflate(level: 9)
        let chunks = frozenPage(variant).chunkTexts.map { compressor.segment($0, final: false).kept() }
        frozenPages.compressedChunks[variant.rawValue] = chunks
        return chunks
    }

    /// A page's template rendered with placeholders for the values each request fills in.
    private func render(_ variant: FrozenVariant) -> FrozenPage {
        switch variant {
        case .ask, .askLag, .askApp, .askLagApp:
            func marker(_ slot: AskSlot) -> String { FrozenPage.marker(slot.rawValue) }
            var values = askValues(memo: marker(.memo), expiresMinutes: marker(.expiresMinutes))
            if variant.showsLag { values["behind"] = marker(.behindSeconds) }
            values["qr"] = marker(.qrCode)
            if variant.showsApp { values["clientName"] = marker(.appName) }
            return FrozenPage(rendered: templates.render("ask", values), raw: [AskSlot.qrCode.rawValue])
        case .report, .reportLag, .reportProof, .reportProofLag, .reportSigned, .reportSignedLag:
            func marker(_ slot: ReportSlot) -> String { FrozenPage.marker(slot.rawValue) }
            var values: [String: Any] = ["chainName": chainName, "account": marker(.account), "listHTML": marker(.list)]
            if variant.showsLag { values["behind"] = marker(.behindSeconds) }
            if let method = variant.proofMethod {
                let shown: [String: Any] = ["tx": marker(.transactionID), "block": marker(.block), "time": marker(.time),
                                            "key": marker(.publicKey)]
                values[method == .signature ? "signed" : "proof"] = shown
            }
            return FrozenPage(rendered: templates.render("report", values), raw: [ReportSlot.list.rawValue])
        }
    }

    /// Every frozen page and its compressed chunks, made at once: the pool's master makes them before
    /// it forks, so its workers share them (copy-on-write) and none renders a template or runs zlib's
    /// best compression for them, on its first views or after it replaces a recycled worker.
    func frozenPageSet() -> FrozenPageSet {
        for variant in FrozenVariant.allCases { _ = compressedChunks(variant) }
        return FrozenPageSet(pages: frozenPages.pages, compressedChunks: frozenPages.compressedChunks)
    }
}
