/// The release every executable reports with `--version` (and the Debian package is named after).
public enum SteemAuthVersion {
    public static let current = "0.1.0"
}
