'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { debugConfiguration } = require('../src/debugConfiguration');

test('a launch of `python -m pytest` with the extra arguments before the test, in the run folder', () => {
  const configuration = debugConfiguration({ cwd: '/w/proj', target: 'tests/test_a.py::TestA::test_b', extraArgs: ['-x', '--tb=short'] }, '');
  assert.deepStrictEqual(configuration, {
    type: 'debugpy', request: 'launch', name: 'pytestd: debug tests/test_a.py::TestA::test_b', module: 'pytest',
    args: ['-x', '--tb=short', 'tests/test_a.py::TestA::test_b'], cwd: '/w/proj', console: 'integratedTerminal', justMyCode: true,
  });
});

test('the configured venv names the interpreter; arguments are passed as words, never through a shell', () => {
  const target = "tests/it's a test.py::test_$HOME";
  const configuration = debugConfiguration({ cwd: '/w', target, extraArgs: [] }, '/venvs/app');
  assert.strictEqual(configuration.python, '/venvs/app/bin/python');
  assert.deepStrictEqual(configuration.args, [target]);
});
