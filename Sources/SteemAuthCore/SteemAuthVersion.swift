/// The release every executable reports (`--version`) and the Debian package is built as.
public enum SteemAuthVersion {
    public static let current = "0.9.0"
}
