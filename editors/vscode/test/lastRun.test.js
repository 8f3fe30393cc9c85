'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { LastRun, KEY } = require('../src/lastRun');

function memento(initial = {}) {
  const values = { ...initial };
  return { get: (key) => values[key], update: async (key, value) => { values[key] = value; }, values };
}

const RUN = { cwd: '/w', target: 't.py::test_a', pytest: '/bin/pytest', extraArgs: ['-x'] };

test('nothing remembered at first', () => {
  assert.strictEqual(new LastRun(memento()).get(), null);
});

test('the last remembered run wins, and survives a new instance on the same storage', async () => {
  const storage = memento();
  await new LastRun(storage).remember(RUN);
  await new LastRun(storage).remember({ ...RUN, target: 't.py' });
  assert.deepStrictEqual(new LastRun(storage).get(), { ...RUN, target: 't.py' });
});

test('a copy is stored and returned: later changes to a run do not leak in', async () => {
  const storage = memento();
  const run = { ...RUN, extraArgs: ['-x'] };
  const last = new LastRun(storage);
  await last.remember(run);
  run.extraArgs.push('--pdb');
  last.get().extraArgs.push('-v');
  assert.deepStrictEqual(last.get().extraArgs, ['-x']);
});

test('what is stored but is not a run reads as nothing', () => {
  for (const value of [null, 3, 'x', {}, { ...RUN, extraArgs: 'x' }, { ...RUN, extraArgs: [1] }, { ...RUN, cwd: undefined }]) {
    assert.strictEqual(new LastRun(memento({ [KEY]: value })).get(), null, JSON.stringify(value));
  }
  assert.throws(() => new LastRun(memento()).remember({ cwd: '/w' }), TypeError);
});
