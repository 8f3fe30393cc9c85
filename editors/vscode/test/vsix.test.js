'use strict';
// `make vsix`'s package: the layout and manifest VS Code installs from (`code` is not available here).
const test = require('node:test');
const assert = require('node:assert');
const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const builtinModules = new Set(require('module').builtinModules);

const HERE = path.join(__dirname, '..');
const packageJson = JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'), 'utf8'));

// Every entry of the zip with its text, read by Python's zipfile (which also checks the CRCs).
function readVsix(file) {
  const script = 'import json, sys, zipfile\n'
    + 'z = zipfile.ZipFile(sys.argv[1])\n'
    + 'assert z.testzip() is None\n'
    + 'print(json.dumps({i.filename: z.read(i).decode() for i in z.infolist()}))\n';
  return JSON.parse(childProcess.execFileSync('python3', ['-c', script, file]).toString());
}

function build() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytestd-vsix-'));
  const file = path.join(dir, 'pytestd.vsix');
  childProcess.execFileSync('python3', [path.join(HERE, 'package_vsix.py'), file]);
  const entries = readVsix(file);
  const bytes = fs.readFileSync(file);
  fs.rmSync(dir, { recursive: true });
  return { entries, bytes };
}

test('the package has the manifest, the content types and the extension under extension/', () => {
  const { entries } = build();
  const names = Object.keys(entries);
  assert.strictEqual(names[0], 'extension.vsixmanifest');
  assert.ok(names.includes('[Content_Types].xml'));
  assert.ok(names.every((name) => ['extension.vsixmanifest', '[Content_Types].xml'].includes(name) || name.startsWith('extension/')), names.join());
  assert.deepStrictEqual(JSON.parse(entries['extension/package.json']), packageJson);
  assert.ok(`extension/${path.normalize(packageJson.main)}` in entries, `main ${packageJson.main} is not packed`);
  assert.ok('extension/README.md' in entries);
  assert.ok(!names.some((name) => name.includes('/test/')), 'tests are packed');
  // The content types part describes the others (Open Packaging Conventions), not itself.
  for (const suffix of new Set(names.filter((name) => name !== '[Content_Types].xml').map((name) => path.extname(name)))) {
    assert.match(entries['[Content_Types].xml'], new RegExp(`<Default Extension="\\${suffix}" ContentType="[a-z]+/[a-z-]+"/>`), suffix);
  }
});

test('the vsixmanifest names the identity, version and engine of package.json', () => {
  const { entries } = build();
  const manifest = entries['extension.vsixmanifest'];
  assert.match(manifest, /^<\?xml version="1.0" encoding="utf-8"\?>\n<PackageManifest Version="2.0.0"/);
  assert.ok(manifest.includes(`<Identity Language="en-US" Id="${packageJson.name}" Version="${packageJson.version}" Publisher="${packageJson.publisher}"/>`), manifest);
  assert.ok(manifest.includes(`<Property Id="Microsoft.VisualStudio.Code.Engine" Value="${packageJson.engines.vscode}"/>`));
  assert.ok(manifest.includes('<InstallationTarget Id="Microsoft.VisualStudio.Code"/>'));
  assert.ok(manifest.includes('<Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true"/>'));
  for (const [, assetPath] of manifest.matchAll(/<Asset [^>]*Path="([^"]+)"/g)) {
    assert.ok(assetPath in entries, `asset ${assetPath} is not packed`);
  }
});

test('the packed code needs nothing outside the package: Node built-ins, vscode, packed files', () => {
  const { entries } = build();
  for (const [name, text] of Object.entries(entries).filter(([n]) => n.endsWith('.js'))) {
    for (const [, request] of text.matchAll(/require\('([^']+)'\)/g)) {
      if (request.startsWith('.')) {
        const target = path.posix.join(path.posix.dirname(name), request);
        assert.ok(`${target}.js` in entries || target in entries, `${name} requires ${request}, which is not packed`);
      } else {
        assert.ok(request === 'vscode' || builtinModules.has(request), `${name} requires the npm package ${request}`);
      }
    }
  }
  assert.strictEqual(packageJson.dependencies, undefined);
});

test('the same sources make the same package', () => {
  assert.ok(build().bytes.equals(build().bytes));
});
