'use strict';
const test = require('node:test');
const assert = require('node:assert');
const childProcess = require('child_process');
const { shellQuote, shellLine, shimBeside, runTarget, runLine } = require('../src/commandLine');

// What a real shell makes of a line: its words, NUL-separated.
function wordsOf(line) {
  const out = childProcess.execFileSync('sh', ['-c', `printf '%s\\0' ${line}`]);
  return out.toString('utf8').split('\0').slice(0, -1);
}

test('property: the shell reads back exactly the words quoted', () => {
  const alphabet = ['a', 'Z', '0', ' ', "'", '"', '\\', '$', '`', '!', '*', '?', '[', ']', ':', '=', '-', '/', ';', '&', '|', '(', ')', '{', '}', '#', '~', '\t', '\n', 'é', '%', '@', ','];
  let seed = 7;
  const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const batch = [];
  for (let i = 0; i < 300; i++) {
    const length = 1 + Math.floor(random() * 12);
    batch.push(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
  }
  batch.push('tests/test_x.py::TestA::test_b', '-k', 'a and not b', "it's", '~', '*');
  assert.deepStrictEqual(wordsOf(shellLine(batch)), batch);
});

test('safe words stay bare, the rest is quoted', () => {
  assert.strictEqual(shellQuote('tests/test_x.py::TestA::test_b'), 'tests/test_x.py::TestA::test_b');
  assert.strictEqual(shellQuote('--tb=short'), '--tb=short');
  assert.strictEqual(shellQuote('a b'), "'a b'");
  assert.strictEqual(shellQuote("it's"), "'it'\\''s'");
  assert.strictEqual(shellQuote(''), "''");
});

test('the shim is the pytest beside the real pytestd', () => {
  assert.strictEqual(shimBeside('/home/u/.local/lib/pytestd/bin/pytestd'), '/home/u/.local/lib/pytestd/bin/pytest');
});

test('a file in the workspace folder runs from the folder, by its relative path', () => {
  assert.deepStrictEqual(runTarget('/w/proj/tests/test_x.py', '/w/proj', 'TestA::test_b'),
    { cwd: '/w/proj', target: 'tests/test_x.py::TestA::test_b' });
  assert.deepStrictEqual(runTarget('/w/proj/tests/test_x.py', '/w/proj', null), { cwd: '/w/proj', target: 'tests/test_x.py' });
});

test('a file outside the folder (or with none) runs from its own directory', () => {
  assert.deepStrictEqual(runTarget('/elsewhere/test_y.py', '/w/proj', 'test_a'), { cwd: '/elsewhere', target: 'test_y.py::test_a' });
  assert.deepStrictEqual(runTarget('/w/proj2/test_y.py', '/w/proj', null), { cwd: '/w/proj2', target: 'test_y.py' });
  assert.deepStrictEqual(runTarget('/w/..odd/test_y.py', '/w', null), { cwd: '/w', target: '..odd/test_y.py' });
  assert.deepStrictEqual(runTarget('/tmp/test_z.py', null, null), { cwd: '/tmp', target: 'test_z.py' });
});

test('a run line changes directory, then runs the shim with the extra arguments before the target', () => {
  const line = runLine({ cwd: '/w/my proj', pytest: '/opt/pytestd/bin/pytest', extraArgs: ['-x', '--tb', 'short'], target: 'test_a.py::test_b' });
  assert.strictEqual(line, "cd '/w/my proj' && /opt/pytestd/bin/pytest -x --tb short test_a.py::test_b");
});
