/// A generated Python project for timing the scanner and the graph: packages of modules of
/// realistic size (docstrings, comments, strings that mention imports, f-strings, classes and
/// functions) with about ten imports each, one hub module that many modules import, and
/// project imports only to lower-numbered modules, so the highest-numbered module is a leaf.
struct SyntheticProject {
    struct File {
        var module: String
        var isPackage: Bool
        var text: String
    }

    static let hub = "proj.core.hub"

    private(set) var files: [File] = []
    let moduleCount: Int
    private let modulesPerPackage = 200

    init(moduleCount: Int, seed: UInt64) {
        self.moduleCount = moduleCount
        var generator = SeededGenerator(seed: seed)
        files.append(File(module: "proj", isPackage: true, text: "\"\"\"The project.\"\"\"\n"))
        files.append(File(module: "proj.core", isPackage: true, text: "from . import hub\n"))
        files.append(File(module: Self.hub, isPackage: false, text: Self.body(index: -1, imports: "import os\nimport sys\n", generator: &generator)))
        for package in 0..<(moduleCount + modulesPerPackage - 1) / modulesPerPackage {
            files.append(File(module: packageName(package), isPackage: true, text: "\"\"\"Package \(package).\"\"\"\n"))
        }
        for index in 0..<moduleCount {
            files.append(File(module: moduleName(index), isPackage: false, text: moduleText(index, generator: &generator)))
        }
    }

    var leaf: String { moduleName(moduleCount - 1) }

    func packageName(_ package: Int) -> String { "proj.pkg\(package)" }

    func moduleName(_ index: Int) -> String { "\(packageName(index / modulesPerPackage)).mod\(index)" }

    private func moduleText(_ index: Int, generator: inout SeededGenerator) -> String {
        var imports = """
            from __future__ import annotations

            import os
            import sys
            import json
            from typing import TYPE_CHECKING, Any, Optional
            from collections import (
                defaultdict,
                OrderedDict,
            )

            """
        if index % 8 == 0 { imports += "from proj.core import hub\n" }
        if index > 0 {
            for _ in 0..<4 {
                let target = Int.random(in: 0..<index, using: &generator)
                imports += Bool.random(using: &generator)
                    ? "from \(packageName(target / modulesPerPackage)) import mod\(target)\n"
                    : "import \(moduleName(target)) as m\(target)\n"
            }
            let packageStart = index / modulesPerPackage * modulesPerPackage
            if index > packageStart {
                imports += "from .mod\(Int.random(in: packageStart..<index, using: &generator)) import Widget\n"
            }
            imports += "\nif TYPE_CHECKING:\n    from \(moduleName(Int.random(in: 0..<index, using: &generator))) import Widget as W\n"
        }
        return Self.body(index: index, imports: imports, generator: &generator)
    }

    private static func body(index: Int, imports: String, generator: inout SeededGenerator) -> String {
        var text = """
            \"\"\"Module \(index) of the synthetic project.

            Mentions code that is not code, as real docstrings do:
                from proj.fake import nothing
                import this_is_documentation
            \"\"\"

            """
        text += imports
        text += """

            LOG_FORMAT = "%(asctime)s import %(message)s"
            TEMPLATE = f"{__name__}: {{import}} {os.sep!r}"
            PATTERN = r"^from\\s+(\\S+)\\s+import"  # a regex, not an import


            class Widget\(index):
                \"\"\"A widget; `import widget` is how users would get it.\"\"\"

                def __init__(self, value: int = 0) -> None:
                    self.value = value  # from x import y, in a comment
                    self.items: dict[str, Any] = {"import": 1, 'from': [1, 2, 3]}

                def render(self, width: int = 10) -> str:
                    text = f"{self.value:>{width}} {self.items['import']}"
                    return text.strip()

            """
        for function in 0..<Int.random(in: 6...14, using: &generator) {
            text += """

                def function_\(function)(a, b=None, *args, **kwargs):
                    '''Return something computed from `a`.

                    >>> function_\(function)(3)
                    6
                    '''
                    if a is None:
                        raise ValueError("a must not be None; import order matters")
                    result = [x * 2 for x in range(a) if x % 3]
                    data = {"key": a, "other": b, 'nested': {"deep": [1, 2, 3]}}
                    return sum(result) + (b or 0) + len(data)

                """
        }
        return text
    }
}
