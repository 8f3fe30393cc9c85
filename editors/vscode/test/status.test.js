'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { parseStatus, statusBarView, statusBarProblem, STATES } = require('../src/status');

const READY = {
  format: 1, state: 'ready', root: '/w/proj', python: '/w/proj/.venv/bin/python', python_version: '3.12.3',
  pid: 4242, uptime_seconds: 75.5, runs: 12, runs_in_flight: 0, plain_runs: 1,
  host: { pid: 4250, generation: 3, reloaded_from: 2, age_seconds: 10, runs: 4, pytest_version: '8.3.2', warmup_seconds: 1.234, project_files: 10, loaded_files: 300 },
  socket: '/run/x.sock', log: '/run/x.log',
};

test('a ready manager: state, host generation and origin, uptime', () => {
  const view = statusBarView(parseStatus(JSON.stringify(READY)));
  assert.strictEqual(view.text, '$(check) pytestd: ready');
  assert.match(view.tooltip, /host 4250, generation 3 \(reloaded from generation 2\), warm-up 1\.23 s, 4 runs/);
  assert.match(view.tooltip, /manager 4242, up 1m15s, 12 runs/);
  assert.match(view.tooltip, /Python 3\.12\.3 \/w\/proj\/\.venv\/bin\/python/);
});

test('every state has a label; a reason is shown in the tooltip', () => {
  for (const state of STATES) {
    const view = statusBarView(parseStatus(JSON.stringify({ format: 1, state, root: '/w', reason: `because ${state}` })));
    assert.match(view.text, /^\$\([a-z~-]+\) pytestd: [a-z ]+$/);
    assert.ok(view.tooltip.startsWith('pytestd: '), view.tooltip);
    assert.ok(view.tooltip.includes(`because ${state}`), view.tooltip);
  }
  assert.strictEqual(statusBarView({ format: 1, state: 'waiting', root: '/w' }).text, '$(watch) pytestd: waiting for a clean host');
});

test('a stopped manager: no pid, no host', () => {
  const view = statusBarView(parseStatus('{"format":1,"state":"stopped","root":"/w","python":"/usr/bin/python3","socket":"s","log":"l"}\n'));
  assert.strictEqual(view.text, '$(circle-slash) pytestd: stopped');
  assert.doesNotMatch(view.tooltip, /manager|host/);
});

test('unknown keys are ignored (format 1 may grow)', () => {
  assert.strictEqual(parseStatus(JSON.stringify({ ...READY, something_new: [1] })).state, 'ready');
});

test('what is not a format-1 document is refused with a message', () => {
  assert.throws(() => parseStatus(''), /printed no JSON: \(nothing\)/);
  assert.throws(() => parseStatus('not running\n'), /printed no JSON: not running/);
  assert.throws(() => parseStatus('[1]'), /no object/);
  assert.throws(() => parseStatus('null'), /no object/);
  assert.throws(() => parseStatus('{"format":2,"state":"ready"}'), /format 2; this extension reads format 1/);
  assert.throws(() => parseStatus('{"state":"ready"}'), /format undefined/);
  assert.throws(() => parseStatus('{"format":1,"state":"dancing"}'), /unknown state "dancing"/);
  assert.throws(() => parseStatus('{"format":1,"state":"toString"}'), /unknown state/);
});

test('a problem shows a question mark and the message', () => {
  const view = statusBarProblem('pytestd not found');
  assert.strictEqual(view.text, '$(warning) pytestd: ?');
  assert.ok(view.tooltip.startsWith('pytestd not found'));
});
