import FoundationEssentials
import Mustache

/// The HTML templates and static files, read and parsed once in the master before fork.
public struct SiteTemplates: Sendable {
    let library: MustacheLibrary
    let staticFiles: [String: (contentType: String, body: [UInt8])]
    static let pages = ["base", "ask", "prove", "report", "report_list", "error", "cookies", "logout", "oidc_logout", "oidc_consent", "oidc_fresh"]
    static let statics: [String: String] = ["app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                                            "favicon.svg": "image/svg+xml"]

    public struct LoadError: Error, CustomStringConvertible { public let description: String }

    public static func load(directory: String) throws(LoadError) -> SiteTemplates {
        var library = MustacheLibrary()
        for name in pages {
            let path = directory + "/" + name + ".html"
            guard let data = FileManager.default.contents(atPath: path) else { throw LoadError(description: "cannot read \(path)") }
            do { try library.register(String(decoding: data, as: UTF8.self), named: name) }
            catch { throw LoadError(description: "\(path): \(error)") }
        }
        var files: [String: (String, [UInt8])] = [:]
        for (name, type) in statics {
            let path = directory + "/static/" + name
            guard let data = FileManager.default.contents(atPath: path) else { throw LoadError(description: "cannot read \(path)") }
            files[name] = (type, Array(data))
        }
        return SiteTemplates(library: library, staticFiles: files)
    }

    func render(_ name: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: name) ?? "template \(name) missing"
    }

    func staticFile(_ name: String) -> (contentType: String, body: [UInt8])? { staticFiles[name] }
}
