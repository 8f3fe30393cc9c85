# pytestd — two commands a newcomer needs:  make demo  (build + see it work)  and  make test.
SWIFT_BUILD := swift build -c release --static-swift-stdlib
PREFIX ?= $(HOME)/.local

.PHONY: build demo test unit-test editor-test integration-test realworld-test bench bench-quick install vsix clean

build:
	$(SWIFT_BUILD)

demo: build
	examples/demo.sh

test: unit-test editor-test integration-test realworld-test

unit-test:
	swift test --disable-swift-testing

# The VS Code extension's logic and glue (editors/vscode), with Node's own test runner: no npm.
editor-test:
	node --test editors/vscode/test/*.test.js

integration-test: build
	Tests/integration/run.sh

# Real projects' own test suites (Tests/realworld/README.md); `make test REALWORLD=click,attrs` selects.
REALWORLD ?= click,attrs,anyio,drf,axes,sympy
realworld-test: build
	PYTESTD_REALWORLD=$(REALWORLD) Tests/realworld/run.sh

bench: build
	bench/run

bench-quick: build
	bench/run --quick

# Installs into $(PREFIX)/lib/pytestd (binaries + Python package) and links `pytestd` into $(PREFIX)/bin.
# The `pytest` shim stays out of PATH: `pytestd shell-init` prints the alias that uses it.
install: build
	install -d $(PREFIX)/bin $(PREFIX)/lib/pytestd/bin $(PREFIX)/lib/pytestd/python/pytestd $(PREFIX)/lib/pytestd/patches
	install -m 755 .build/release/pytest .build/release/pytestd .build/release/pytestd-host $(PREFIX)/lib/pytestd/bin/
	install -m 644 python/pytestd/*.py $(PREFIX)/lib/pytestd/python/pytestd/
	install -m 644 patches/*.py $(PREFIX)/lib/pytestd/patches/
	ln -sf ../lib/pytestd/bin/pytestd $(PREFIX)/bin/pytestd

# The VS Code extension as an installable package: code --install-extension .build/pytestd.vsix
vsix:
	python3 editors/vscode/package_vsix.py .build/pytestd.vsix

clean:
	rm -rf .build
