/// The little of INI and TOML that decides whether a file holds pytest configuration: section names
/// as `iniconfig` reads them, and the key paths a TOML document defines.
public enum ConfigurationText {
    /// Section names as iniconfig reads them: a line starting with `[` (not indented, not a comment)
    /// whose text before any `#`/`;` ends with `]`.
    public static func iniSections(in text: String) -> Set<String> {
        var sections = Set<String>()
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            var line = Substring(rawLine)
            if line.first == "\u{FEFF}" { line = line.dropFirst() }
            guard line.first == "[" else { continue }
            if let comment = line.firstIndex(where: { $0 == "#" || $0 == ";" }) { line = line[..<comment] }
            while let last = line.last, last.isWhitespace { line = line.dropLast() }
            guard line.count >= 2, line.last == "]" else { continue }
            sections.insert(String(line.dropFirst().dropLast()))
        }
        return sections
    }

    /// Every key path a TOML document defines: table and array-of-table headers, keys (dotted keys
    /// as their full path, prefixed with the current table) and the keys of inline tables. Values are
    /// skipped, not checked. Nil when the text is not TOML as far as this reading goes.
    public static func tomlKeyPaths(in text: String) -> [[String]]? {
        var scanner = TomlScanner(Array(text.unicodeScalars))
        return try? scanner.document()
    }
}

private struct TomlScanner {
    struct Malformed: Error {}
    let s: [Unicode.Scalar]
    var i = 0
    var paths: [[String]] = []

    init(_ scalars: [Unicode.Scalar]) { s = scalars }

    var current: Unicode.Scalar? { i < s.count ? s[i] : nil }
    func peek(_ offset: Int) -> Unicode.Scalar? { i + offset < s.count ? s[i + offset] : nil }

    mutating func document() throws -> [[String]] {
        var table: [String] = []
        while true {
            skipBlankAndComments()
            guard let c = current else { return paths }
            if c == "[" {
                let array = peek(1) == "["
                i += array ? 2 : 1
                table = try key()
                try expect("]")
                if array { try expect("]") }
                paths.append(table)
            } else {
                try keyValue(prefix: table)
            }
            skipSpaces()
            if current == "#" { skipComment() }
            guard current == nil || current == "\n" || current == "\r" else { throw Malformed() }
        }
    }

    mutating func keyValue(prefix: [String]) throws {
        let path = prefix + (try key())
        try expect("=")
        paths.append(path)
        skipSpaces()
        if current == "{" {
            i += 1
            skipSpaces()
            if current == "}" { i += 1; return }
            while true {
                try keyValue(prefix: path)
                skipSpaces()
                if current == "," { i += 1; continue }
                try expect("}")
                return
            }
        }
        try skipValue()
    }

    /// A dotted key: bare or quoted parts separated by `.`.
    mutating func key() throws -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let c = current else { throw Malformed() }
            if c == "\"" || c == "'" {
                guard peek(1) != c || peek(2) != c else { throw Malformed() }
                parts.append(try singleLineString())
            } else {
                var part = ""
                while let c = current, ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
                        || c == "_" || c == "-" {
                    part.unicodeScalars.append(c)
                    i += 1
                }
                guard !part.isEmpty else { throw Malformed() }
                parts.append(part)
            }
            skipSpaces()
            guard current == "." else { return parts }
            i += 1
        }
    }

    mutating func singleLineString() throws -> String {
        let quote = current!
        i += 1
        var value = ""
        while let c = current, c != "\n" {
            i += 1
            if c == quote { return value }
            if c == "\\" && quote == "\"" {
                guard let escaped = current else { throw Malformed() }
                i += 1
                value.unicodeScalars.append(escaped)
            } else {
                value.unicodeScalars.append(c)
            }
        }
        throw Malformed()
    }

    /// Skips one value: a string, an array (any nesting), an inline table or a bare scalar.
    mutating func skipValue() throws {
        skipSpaces()
        guard let c = current else { throw Malformed() }
        switch c {
        case "\"", "'":
            if peek(1) == c && peek(2) == c {
                i += 3
                while true {
                    guard let d = current else { throw Malformed() }
                    if d == "\\" && c == "\"" { i += 2; continue }
                    if d == c && peek(1) == c && peek(2) == c {
                        i += 3
                        // Up to two quotes may sit right before the closing delimiter.
                        if current == c { i += 1 }
                        if current == c { i += 1 }
                        return
                    }
                    i += 1
                }
            }
            _ = try singleLineString()
        case "[", "{":
            let close: Unicode.Scalar = c == "[" ? "]" : "}"
            i += 1
            while true {
                skipBlankAndComments()
                guard let d = current else { throw Malformed() }
                if d == close { i += 1; return }
                if d == "," { i += 1; continue }
                if c == "{" {
                    _ = try key()
                    try expect("=")
                }
                try skipValue()
            }
        default:
            let start = i
            while let d = current, d != "\n", d != "\r", d != ",", d != "]", d != "}", d != "#" { i += 1 }
            guard i > start else { throw Malformed() }
        }
    }

    mutating func expect(_ c: Unicode.Scalar) throws {
        skipSpaces()
        guard current == c else { throw Malformed() }
        i += 1
    }

    mutating func skipSpaces() {
        while current == " " || current == "\t" { i += 1 }
    }

    mutating func skipComment() {
        while let c = current, c != "\n" { i += 1 }
    }

    mutating func skipBlankAndComments() {
        while let c = current {
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{FEFF}" { i += 1 } else if c == "#" { skipComment() } else { return }
        }
    }
}
