/// Python's `shlex.split` (POSIX mode, no comments): how pytest splits `PYTEST_ADDOPTS` and `addopts`.
public enum ShellWords {
    public struct Unbalanced: Error, Equatable {
        public var reason: String
    }

    public static func split(_ text: String) throws -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var iterator = text.makeIterator()
        while let c = iterator.next() {
            if let q = quote {
                if c == q {
                    quote = nil
                } else if q == "\"" && c == "\\" {
                    // Inside double quotes a backslash escapes only `"` and `\`.
                    guard let next = iterator.next() else { throw Unbalanced(reason: "No closing quotation") }
                    if next != "\"" && next != "\\" { word.append(c) }
                    word.append(next)
                } else {
                    word.append(c)
                }
            } else if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\r\n" {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else if c == "'" || c == "\"" {
                quote = c
                inWord = true
            } else if c == "\\" {
                guard let next = iterator.next() else { throw Unbalanced(reason: "No escaped character") }
                word.append(next)
                inWord = true
            } else {
                word.append(c)
                inWord = true
            }
        }
        if quote != nil { throw Unbalanced(reason: "No closing quotation") }
        if inWord { words.append(word) }
        return words
    }
}
