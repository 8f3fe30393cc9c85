/// A token of Python source as far as the import scanner cares: names, literals skipped whole,
/// single-byte operators and the end of each logical line.
struct PythonToken {
    enum Kind: UInt8 {
        case name, number, string, op, newline, end
    }

    var kind: Kind
    /// Byte range in the source.
    var start: Int
    var end: Int
    /// 1-based line where the token starts.
    var line: Int
    /// Bracket depth before the token: colons and semicolons end statements only at depth 0.
    var depth: Int
    /// Indentation column when this token opens a logical line, else -1.
    var indent: Int

    var startsLine: Bool { indent >= 0 }
}

/// Splits UTF-8 Python source into `PythonToken`s in one pass over the bytes.
///
/// Hand-written rather than regex-based because correctness hinges on what is *not* code:
/// every kind of string literal (raw, bytes, triple-quoted, f-strings with nested replacement
/// fields and, as in Python 3.12, nested quotes of the same kind), comments, and line joining by
/// brackets or backslashes. Anything it cannot make sense of (unterminated strings, stray bytes)
/// is skipped, never trapped on: a file Python would reject cannot be imported anyway.
struct PythonTokenizer {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var line = 1
    private var depth = 0
    private var inLogicalLine = false
    private var replacementFieldNesting = 0

    /// Deeper f-string nesting than this is treated as plain text so that hostile input cannot
    /// exhaust the stack; CPython itself refuses far shallower nesting.
    private static let replacementFieldNestingLimit = 150

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }
    }

    mutating func next() -> PythonToken {
        let count = bytes.count
        while position < count {
            let byte = bytes[position]
            switch byte {
            case Ascii.space, Ascii.tab, Ascii.formFeed, Ascii.carriageReturn:
                position += 1
            case Ascii.newline:
                position += 1
                line += 1
                if depth == 0, inLogicalLine {
                    inLogicalLine = false
                    return PythonToken(
                        kind: .newline, start: position - 1, end: position, line: line - 1, depth: 0, indent: -1)
                }
            case Ascii.hash:
                while position < count, bytes[position] != Ascii.newline { position += 1 }
            case Ascii.backslash:
                position += 1
                if position < count, bytes[position] == Ascii.carriageReturn { position += 1 }
                if position < count, bytes[position] == Ascii.newline {
                    position += 1
                    line += 1
                }
            default:
                return token(startingWith: byte)
            }
        }
        if inLogicalLine {
            inLogicalLine = false
            return PythonToken(kind: .newline, start: count, end: count, line: line, depth: 0, indent: -1)
        }
        return PythonToken(kind: .end, start: count, end: count, line: line, depth: 0, indent: -1)
    }

    private mutating func token(startingWith byte: UInt8) -> PythonToken {
        let start = position
        var token = PythonToken(kind: .op, start: start, end: start, line: line, depth: depth, indent: -1)
        if !inLogicalLine {
            inLogicalLine = true
            token.indent = column(of: start)
        }
        if Ascii.isIdentifierStart(byte) {
            position += 1
            while position < bytes.count, Ascii.isIdentifierContinue(bytes[position]) { position += 1 }
            if position < bytes.count, Ascii.isQuote(bytes[position]),
                let prefix = StringPrefix(bytes: bytes, start: start, end: position)
            {
                skipString(formatted: prefix.isFormatted, raw: prefix.isRaw)
                token.kind = .string
            } else {
                token.kind = .name
            }
        } else if Ascii.isQuote(byte) {
            skipString(formatted: false, raw: false)
            token.kind = .string
        } else if Ascii.isDigit(byte)
            || (byte == Ascii.dot && position + 1 < bytes.count && Ascii.isDigit(bytes[position + 1]))
        {
            skipNumber()
            token.kind = .number
        } else {
            position += 1
            switch byte {
            case Ascii.openParen, Ascii.openBracket, Ascii.openBrace:
                depth += 1
            case Ascii.closeParen, Ascii.closeBracket, Ascii.closeBrace:
                if depth > 0 { depth -= 1 }
            default:
                break
            }
        }
        token.end = position
        return token
    }

    /// Python's indentation column: tabs advance to the next multiple of 8, form feeds reset.
    private func column(of offset: Int) -> Int {
        var lineStart = offset
        while lineStart > 0, bytes[lineStart - 1] != Ascii.newline { lineStart -= 1 }
        var column = 0
        for index in lineStart..<offset {
            switch bytes[index] {
            case Ascii.tab: column = (column / 8 + 1) * 8
            case Ascii.formFeed: column = 0
            default: column += 1
            }
        }
        return column
    }

    private mutating func skipNumber() {
        position += 1
        while position < bytes.count {
            let byte = bytes[position]
            if (byte == Ascii.lowerE || byte == Ascii.upperE), position + 1 < bytes.count,
                bytes[position + 1] == Ascii.plus || bytes[position + 1] == Ascii.minus
            {
                position += 2
            } else if Ascii.isIdentifierContinue(byte) || byte == Ascii.dot {
                position += 1
            } else {
                return
            }
        }
    }

    /// Skips a string literal whose opening quote is at `position`.
    private mutating func skipString(formatted: Bool, raw: Bool) {
        let quote = bytes[position]
        let triple = position + 2 < bytes.count && bytes[position + 1] == quote && bytes[position + 2] == quote
        position += triple ? 3 : 1
        skipStringBody(quote: quote, triple: triple, formatted: formatted, raw: raw)
    }

    private func closes(quote: UInt8, triple: Bool, at offset: Int) -> Bool {
        guard bytes[offset] == quote else { return false }
        return !triple || (offset + 2 < bytes.count && bytes[offset + 1] == quote && bytes[offset + 2] == quote)
    }

    private mutating func skipStringBody(quote: UInt8, triple: Bool, formatted: Bool, raw: Bool) {
        let count = bytes.count
        while position < count {
            let byte = bytes[position]
            if byte == quote, closes(quote: quote, triple: triple, at: position) {
                position += triple ? 3 : 1
                return
            }
            switch byte {
            case Ascii.backslash:
                position += 1
                guard position < count else { return }
                let escaped = bytes[position]
                if escaped == Ascii.carriageReturn {
                    position += 1
                    if position < count, bytes[position] == Ascii.newline {
                        position += 1
                        line += 1
                    }
                } else if escaped == Ascii.newline {
                    position += 1
                    line += 1
                } else if formatted, escaped == Ascii.openBrace || escaped == Ascii.closeBrace {
                    // `f"\{x}"` still opens a replacement field.
                } else if formatted, !raw, escaped == Ascii.upperN, position + 1 < count,
                    bytes[position + 1] == Ascii.openBrace
                {
                    // `\N{DASH}` names a character; its braces are not a replacement field.
                    while position < count, bytes[position] != Ascii.closeBrace, bytes[position] != quote,
                        bytes[position] != Ascii.newline
                    {
                        position += 1
                    }
                    if position < count, bytes[position] == Ascii.closeBrace { position += 1 }
                } else {
                    position += 1
                }
            case Ascii.newline:
                // An unterminated one-line string ends at the line end; the newline stays a token.
                guard triple else { return }
                position += 1
                line += 1
            case Ascii.openBrace where formatted:
                if position + 1 < count, bytes[position + 1] == Ascii.openBrace {
                    position += 2
                } else {
                    position += 1
                    skipReplacementField(quote: quote, triple: triple)
                }
            default:
                position += 1
            }
        }
    }

    /// Skips the expression of an f-string replacement field, after its `{`, up to and including
    /// its `}`. Strings inside may use any quote, as Python 3.12 allows (`f"{d["k"]}"`).
    private mutating func skipReplacementField(quote: UInt8, triple: Bool) {
        guard replacementFieldNesting < Self.replacementFieldNestingLimit else { return }
        replacementFieldNesting += 1
        defer { replacementFieldNesting -= 1 }
        let count = bytes.count
        var nesting = 0
        while position < count {
            let byte = bytes[position]
            if Ascii.isQuote(byte) {
                skipString(formatted: false, raw: false)
                continue
            }
            if Ascii.isIdentifierStart(byte) {
                let start = position
                position += 1
                while position < count, Ascii.isIdentifierContinue(bytes[position]) { position += 1 }
                if position < count, Ascii.isQuote(bytes[position]),
                    let prefix = StringPrefix(bytes: bytes, start: start, end: position)
                {
                    skipString(formatted: prefix.isFormatted, raw: prefix.isRaw)
                }
                continue
            }
            position += 1
            switch byte {
            case Ascii.hash:
                while position < count, bytes[position] != Ascii.newline { position += 1 }
            case Ascii.newline:
                line += 1
            case Ascii.openParen, Ascii.openBracket, Ascii.openBrace:
                nesting += 1
            case Ascii.closeParen, Ascii.closeBracket:
                if nesting > 0 { nesting -= 1 }
            case Ascii.closeBrace:
                if nesting == 0 { return }
                nesting -= 1
            case Ascii.colon where nesting == 0:
                skipFormatSpec(quote: quote, triple: triple)
                return
            default:
                break
            }
        }
    }

    /// Skips a format spec (`:>{width}`) up to and including the `}` that closes its field.
    private mutating func skipFormatSpec(quote: UInt8, triple: Bool) {
        let count = bytes.count
        while position < count {
            let byte = bytes[position]
            if byte == quote, closes(quote: quote, triple: triple, at: position) { return }
            position += 1
            switch byte {
            case Ascii.closeBrace:
                return
            case Ascii.openBrace:
                skipReplacementField(quote: quote, triple: triple)
            case Ascii.backslash:
                if position < count, bytes[position] != Ascii.openBrace { position += 1 }
            case Ascii.newline:
                guard triple else {
                    position -= 1
                    return
                }
                line += 1
            default:
                break
            }
        }
    }
}

/// The letters before a string's opening quote (`rb`, `F`, `t`): up to two of r, b, u, f, t.
struct StringPrefix {
    var isRaw = false
    var isFormatted = false
    var isBytes = false

    init?(bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int) {
        guard end - start <= 2 else { return nil }
        for index in start..<end {
            switch bytes[index] | 0x20 {
            case Ascii.lowerR: isRaw = true
            case Ascii.lowerF, Ascii.lowerT: isFormatted = true
            case Ascii.lowerB: isBytes = true
            case Ascii.lowerU: break
            default: return nil
            }
        }
    }
}

/// Byte values the tokenizer and scanner compare against, named so the code reads as Python.
enum Ascii {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let formFeed: UInt8 = 0x0C
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let doubleQuote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let singleQuote: UInt8 = 0x27
    static let openParen: UInt8 = 0x28
    static let closeParen: UInt8 = 0x29
    static let star: UInt8 = 0x2A
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let upperE: UInt8 = 0x45
    static let upperN: UInt8 = 0x4E
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let underscore: UInt8 = 0x5F
    static let lowerB: UInt8 = 0x62
    static let lowerE: UInt8 = 0x65
    static let lowerF: UInt8 = 0x66
    static let lowerR: UInt8 = 0x72
    static let lowerT: UInt8 = 0x74
    static let lowerU: UInt8 = 0x75
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D

    /// Bytes ≥ 0x80 count as identifier bytes: Python identifiers may be any UTF-8 letters.
    @inline(__always) static func isIdentifierStart(_ byte: UInt8) -> Bool {
        let folded = byte | 0x20
        return (folded >= 0x61 && folded <= 0x7A) || byte == underscore || byte >= 0x80
    }

    @inline(__always) static func isIdentifierContinue(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || isDigit(byte)
    }

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    @inline(__always) static func isQuote(_ byte: UInt8) -> Bool { byte == doubleQuote || byte == singleQuote }
}
