import SteemAuthAdapters

/// The frozen pages made once (see `Pages.frozenPageSet`), by variant: the pool's master makes them
/// before it forks, and every worker starts with them.
public struct FrozenPageSet: Sendable {
    let pages: [FrozenPage?]
    let compressedChunks: [[DeflateSegment]?]
}
