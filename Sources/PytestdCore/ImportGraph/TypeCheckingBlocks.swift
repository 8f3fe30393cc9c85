/// Tracks, line by line, whether code sits in a branch that only a type checker "runs":
/// the body of `if TYPE_CHECKING:`, or the `elif`/`else` branches of `if not TYPE_CHECKING:`.
///
/// Python blocks end by indentation, so the tracker is fed the indentation of every logical
/// line. An `else:` at the same indentation right after an `if TYPE_CHECKING:` body runs at
/// run time and so is not type-checking-only.
struct TypeCheckingBlocks {
    /// Header indentation of the open type-checking-only blocks, innermost last.
    private var openBlocks: [Int] = []
    /// `if`-chains started by a TYPE_CHECKING condition whose later `elif`/`else` branches may follow.
    private var chains: [(indent: Int, laterBranchesAreTypeCheckingOnly: Bool)] = []

    var isTypeCheckingOnly: Bool { !openBlocks.isEmpty }

    /// Call for the first token of every logical line.
    /// - Parameter continuesChain: the line starts with `elif` or `else`.
    mutating func beginLine(indent: Int, continuesChain: Bool) {
        while let last = openBlocks.last, last >= indent { openBlocks.removeLast() }
        while let last = chains.last, last.indent > indent { chains.removeLast() }
        guard let last = chains.last, last.indent == indent else { return }
        if !continuesChain {
            chains.removeLast()
        } else if last.laterBranchesAreTypeCheckingOnly {
            openBlocks.append(indent)
        }
    }

    /// Call for an `if`/`elif` header whose condition is `[not] <dotted name>.TYPE_CHECKING`.
    mutating func openBranch(indent: Int, negated: Bool) {
        if !negated { openBlocks.append(indent) }
        if let last = chains.last, last.indent == indent { chains.removeLast() }
        chains.append((indent, negated))
    }
}
