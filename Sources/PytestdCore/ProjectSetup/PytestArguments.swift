/// A pytest version, as far as its rootdir rules differ.
public struct PytestVersion: Comparable, Equatable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// "9.2.0", "8.1.0rc1": the first two numbers, or nil.
    public init?(parsing text: String) {
        let numbers = text.split(separator: ".").prefix(2).map { Int($0.prefix { $0.isNumber }) }
        guard numbers.count == 2, let major = numbers[0], let minor = numbers[1] else { return nil }
        self.init(major, minor)
    }

    /// The rules of the newest pytest this table was made from: used when the version is unknown.
    public static let newest = PytestVersion(9, 2)

    public static func < (a: PytestVersion, b: PytestVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
    public var description: String { "\(major).\(minor)" }
}

struct PytestOption {
    enum Arity { case none, one, optional }

    var name: String
    var arity: Arity
    /// The built-in plugin that registers it; nil for the essential ones.
    var plugin: String?
    var since: PytestVersion

    init(_ name: String, _ arity: Arity, plugin: String?, since: PytestVersion = PytestVersion(0, 0)) {
        self.name = name
        self.arity = arity
        self.plugin = plugin
        self.since = since
    }
}

/// What pytest's first, partial parse of its command line (before any configuration file is read)
/// yields for `determine_setup`: the free arguments and `-c`, `--rootdir`, `--confcutdir`.
///
/// An emulation of argparse as pytest configures it (no abbreviations, `@file` arguments, short
/// options clustered as in `-qc FILE`), with only pytest's built-in options known: an unknown
/// option's separate value is a free argument, exactly as in pytest.
public struct PytestArguments: Equatable {
    /// Positional arguments in order (`file_or_dir`, then unrecognised non-option words).
    public var free: [String] = []
    public var configFile: String?
    public var rootdir: String?
    public var confcutdir: String?

    public struct Rejected: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// - Parameters:
    ///   - arguments: `PYTEST_ADDOPTS` words followed by argv without argv[0].
    ///   - disabling: the arguments `-p no:NAME` is read from (the command line only: pytest reads
    ///     it before it prepends `PYTEST_ADDOPTS`).
    ///   - readFile: the text of an `@file` argument (relative to the invocation directory), or nil.
    public static func parse(
        _ arguments: [String], disabling: [String], version: PytestVersion, readFile: (String) -> String?
    ) throws -> PytestArguments {
        let options = knownOptions(version: version, blocked: blockedPlugins(disabling))
        let words = try expandFileArguments(arguments, readFile: readFile)
        var result = PytestArguments()
        var index = 0
        var afterSeparator = false

        func take(_ option: String, value: String) {
            switch option {
            case "-c", "--config-file": result.configFile = value
            case "--rootdir": result.rootdir = value
            case "--confcutdir": result.confcutdir = value
            default: break
            }
        }

        while index < words.count {
            let word = words[index]
            index += 1
            if afterSeparator {
                result.free.append(word)
                continue
            }
            if word == "--" {
                afterSeparator = true
                continue
            }
            guard let (found, attachedValue) = classify(word, options: options) else {
                result.free.append(word)
                continue
            }
            guard options[found] != nil else { continue }  // an unknown option: skipped
            var option = found
            var explicit = attachedValue
            consume: while true {
                switch options[option]! {
                case .none:
                    guard let attached = explicit else { break consume }
                    // `-qc FILE`: a flag followed by more short options in one word.
                    guard option.count == 2, let next = attached.first, options["-" + String(next)] != nil else {
                        throw Rejected(description: "argument \(option): ignored explicit argument '\(attached)'")
                    }
                    option = "-" + String(next)
                    explicit = attached.count > 1 ? String(attached.dropFirst()) : nil
                case .one:
                    if let attached = explicit {
                        take(option, value: attached)
                    } else if index < words.count, isValue(words[index], options: options) {
                        take(option, value: words[index])
                        index += 1
                    } else {
                        throw Rejected(description: "argument \(option): expected one argument")
                    }
                    break consume
                case .optional:
                    if explicit == nil, index < words.count, isValue(words[index], options: options) { index += 1 }
                    break consume
                }
            }
        }
        return result
    }

    /// argparse's `_parse_optional`: nil for a positional word, else the option (nil name when
    /// unknown) and a value attached with `=` or, for a short option, directly.
    private static func classify(
        _ word: String, options: [String: PytestOption.Arity]
    ) -> (String, String?)? {
        guard word.hasPrefix("-") else { return nil }
        if options[word] != nil { return (word, nil) }
        guard word.count > 1 else { return nil }
        if let equals = word.firstIndex(of: "="), options[String(word[..<equals])] != nil {
            return (String(word[..<equals]), String(word[word.index(after: equals)...]))
        }
        if !word.hasPrefix("--") {
            let short = String(word.prefix(2))
            if options[short] != nil { return (short, String(word.dropFirst(2))) }
        }
        if isNegativeNumber(word) || word.contains(" ") { return nil }
        return (word, nil)
    }

    /// Whether argparse would take `word` as an option's value (it must not look like an option).
    private static func isValue(_ word: String, options: [String: PytestOption.Arity]) -> Bool {
        word != "--" && classify(word, options: options) == nil
    }

    private static func isNegativeNumber(_ word: String) -> Bool {
        let body = word.dropFirst()
        guard !body.isEmpty else { return false }
        if body.allSatisfy(\.isASCIIDigit) { return true }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && parts[0].allSatisfy(\.isASCIIDigit) && !parts[1].isEmpty
            && parts[1].allSatisfy(\.isASCIIDigit)
    }

    /// Plugins `-p no:NAME` / `-pno:NAME` blocks, as `consider_preparse(exclude_only=True)` reads them.
    static func blockedPlugins(_ arguments: [String]) -> Set<String> {
        var blocked = Set<String>()
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            let value: String
            if word == "-p" {
                guard index < arguments.count else { break }
                value = arguments[index]
                index += 1
            } else if word.hasPrefix("-p") {
                value = String(word.dropFirst(2))
            } else {
                continue
            }
            let name = value.trimmingWhitespace
            guard name.hasPrefix("no:") else { continue }
            let plugin = String(name.dropFirst(3))
            blocked.insert(plugin.hasPrefix("pytest_") ? String(plugin.dropFirst(7)) : plugin)
            // Blocking the cache blocks stepwise too (pytest #4304).
            if plugin == "cacheprovider" { blocked.insert("stepwise") }
        }
        return blocked
    }

    static func knownOptions(version: PytestVersion, blocked: Set<String>) -> [String: PytestOption.Arity] {
        var options: [String: PytestOption.Arity] = [:]
        for option in PytestOptionTable.builtIn where option.since <= version {
            if let plugin = option.plugin, blocked.contains(plugin) { continue }
            options[option.name] = option.arity
        }
        return options
    }

    /// argparse's `fromfile_prefix_chars="@"`: `@FILE` is replaced by FILE's lines, recursively.
    private static func expandFileArguments(_ words: [String], readFile: (String) -> String?) throws -> [String] {
        var result: [String] = []
        for word in words {
            guard word.hasPrefix("@") else {
                result.append(word)
                continue
            }
            let path = String(word.dropFirst())
            guard let text = readFile(path) else { throw Rejected(description: "cannot read arguments from \(path)") }
            // `str.splitlines()`: any line break ends a line.
            var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
            if lines.last == "" { lines.removeLast() }
            result += try expandFileArguments(lines, readFile: readFile)
        }
        return result
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
