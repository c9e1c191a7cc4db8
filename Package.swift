// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "steemauth",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "steemauth-web", targets: ["steemauth-web"]),
        .executable(name: "steemauth-watcher", targets: ["steemauth-watcher"]),
        .executable(name: "steemauth-devchain", targets: ["steemauth-devchain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // System libraries: module maps (and typed wrappers for variadic C calls) only.
        .systemLibrary(name: "CFastCGI", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CBlake2", providers: [.apt(["libb2-dev"])]),
        .systemLibrary(name: "CSecp256k1", providers: [.apt(["libsecp256k1-dev"])]),
        .systemLibrary(name: "COpenSSL", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CQRencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),

        // Pure Swift, no I/O, no C: everything that can be decided from values.
        .target(name: "SteemAuthCore"),

        // The only code that calls libb2, hiredis, libcurl, libsecp256k1, OpenSSL, libqrencode and zlib.
        .target(name: "SteemAuthAdapters", dependencies: [
            "SteemAuthCore", "CHiredis", "CCurl", "CBlake2", "CSecp256k1", "COpenSSL", "CQRencode", "CZlib",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // libfcgi accept loop and the pre-fork supervisor.
        .target(name: "FastCGIKit", dependencies: [
            "CFastCGI", .product(name: "Logging", package: "swift-log"),
        ]),

        // The web application (routes, pages) as a library, so tests and the executable share it.
        .target(name: "SteemAuthWeb", dependencies: [
            "SteemAuthCore", "SteemAuthAdapters", "FastCGIKit",
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Test-only: the in-memory session store and its siblings, and the contract suite that holds
        // them and the Redis stores to the same behaviour. Linked into no executable.
        .target(name: "SteemAuthTesting", dependencies: ["SteemAuthCore", "SteemAuthAdapters"]),
        .target(name: "SteemAuthWatcher", dependencies: [
            "SteemAuthCore", "SteemAuthAdapters",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "DevChain", dependencies: [
            "SteemAuthCore",
            .product(name: "FlyingFox", package: "FlyingFox"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "steemauth-web", dependencies: [
            "SteemAuthWeb", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "steemauth-watcher", dependencies: [
            "SteemAuthWatcher", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "steemauth-devchain", dependencies: [
            "DevChain", "SteemAuthAdapters",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "SteemAuthCoreTests", dependencies: ["SteemAuthCore"]),
        .testTarget(name: "FastCGIKitTests", dependencies: ["FastCGIKit"]),
        .testTarget(name: "SteemAuthWebTests", dependencies: ["SteemAuthWeb", "FastCGIKit", "SteemAuthTesting"]),
        .testTarget(name: "AdapterTests", dependencies: ["SteemAuthCore", "SteemAuthAdapters",
                                                         .product(name: "Logging", package: "swift-log")]),
        // Drives the real executables (built by the same `swift build --build-tests`) through real
        // redis-server and nginx processes; threads and processes, so Swift 5 mode keeps it plain.
        .testTarget(name: "IntegrationTests", dependencies: ["SteemAuthCore", "SteemAuthAdapters"],
                    swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
