'use strict';
// The glue against a mocked `vscode` module: the commands it registers, what it types into the
// terminal, the status bar item. The CLI is a real executable (a script printing a status document).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Module = require('module');

function makeVscode() {
  const state = {
    commands: new Map(), terminals: [], messages: [], output: [], saved: [], config: {}, focused: true,
    activeTextEditor: null, folders: [], closeTerminalListeners: [], editorListeners: [], debugSessions: [],
    debugStarts: true,
  };
  const vscode = {
    StatusBarAlignment: { Left: 1, Right: 2 },
    commands: {
      registerCommand(name, handler) {
        assert.ok(!state.commands.has(name), `${name} registered twice`);
        state.commands.set(name, handler);
        return { dispose() { state.commands.delete(name); } };
      },
    },
    window: {
      get activeTextEditor() { return state.activeTextEditor; },
      state: { get focused() { return state.focused; } },
      createStatusBarItem() {
        state.statusItem = { text: '', tooltip: '', command: undefined, shown: false, show() { this.shown = true; }, hide() { this.shown = false; }, dispose() {} };
        return state.statusItem;
      },
      createTerminal(options) {
        const terminal = { options, sent: [], shown: 0, sendText(text, addNewLine) { this.sent.push([text, addNewLine]); }, show() { this.shown++; } };
        state.terminals.push(terminal);
        return terminal;
      },
      createOutputChannel(name) {
        return { name, clear() { state.output = []; }, append(text) { state.output.push(text); }, show() {}, dispose() {} };
      },
      onDidCloseTerminal(listener) { state.closeTerminalListeners.push(listener); return { dispose() {} }; },
      onDidChangeActiveTextEditor(listener) { state.editorListeners.push(listener); return { dispose() {} }; },
      showInformationMessage(text) { state.messages.push(['info', text]); },
      showWarningMessage(text) { state.messages.push(['warning', text]); },
      showErrorMessage(text) { state.messages.push(['error', text]); },
    },
    debug: {
      async startDebugging(folder, configuration) {
        state.debugSessions.push([folder, configuration]);
        return state.debugStarts;
      },
    },
    workspace: {
      getConfiguration(section) {
        assert.strictEqual(section, 'pytestd');
        return { get: (key) => state.config[key] };
      },
      getWorkspaceFolder(uri) {
        return state.folders.find((folder) => uri.fsPath.startsWith(folder.uri.fsPath + '/'));
      },
      get workspaceFolders() { return state.folders; },
      async saveAll() { state.saved.push('all'); return true; },
    },
  };
  return { vscode, state };
}

function loadExtension(vscode) {
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return request === 'vscode' ? vscode : load.call(this, request, ...rest);
  };
  try {
    const file = require.resolve('../src/extension');
    delete require.cache[file];
    return require(file);
  } finally {
    Module._load = load;
  }
}

function memento() {
  const values = {};
  return { get: (key) => values[key], update: async (key, value) => { values[key] = value; } };
}

// A fake `pytestd` beside a fake `pytest` shim; `status --json` prints the document in `status.json`,
// any other verb is recorded.
const made = [];
test.after(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function fakeInstall() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pytestd-ext-'));
  made.push(dir);
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const cli = path.join(bin, 'pytestd');
  fs.writeFileSync(cli, `#!/bin/sh
echo "$PWD $VIRTUAL_ENV $*" >> "${dir}/calls"
if [ "$1 $2" = "status --json" ]; then cat "${dir}/status.json"; exit 0; fi
if [ "$1" = "stop" ]; then echo stopped; exit 0; fi
echo "text of $*"
`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'pytest'), '#!/bin/sh\n', { mode: 0o755 });
  const project = path.join(dir, 'project');
  fs.mkdirSync(path.join(project, 'tests'), { recursive: true });
  return {
    dir, cli, bin, project,
    setStatus(document) { fs.writeFileSync(path.join(dir, 'status.json'), typeof document === 'string' ? document : JSON.stringify(document)); },
    calls() { return fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : []; },
  };
}

function editor(file, text, line, { dirty = false, languageId = 'python' } = {}) {
  const document = {
    uri: { fsPath: file }, languageId, isDirty: dirty, getText: () => text,
    saves: 0, async save() { this.saves++; this.isDirty = false; return true; },
  };
  return { document, selection: { active: { line, character: 0 } } };
}

async function activated(install, config = {}) {
  const { vscode, state } = makeVscode();
  state.config = { path: install.cli, ...config };
  state.folders = [{ uri: { fsPath: install.project }, name: 'project', index: 0 }];
  const extension = loadExtension(vscode);
  const context = { subscriptions: [], workspaceState: memento() };
  const api = extension.activate(context);
  return { state, api, context, dispose: () => context.subscriptions.forEach((d) => d.dispose()) };
}

const TEST_FILE_TEXT = 'class TestA:\n    def test_b(self):\n        assert 1\n\ndef helper():\n    pass\n';

test('every command of the manifest is registered, and nothing else', async () => {
  const install = fakeInstall();
  install.setStatus({ format: 1, state: 'stopped', root: install.project });
  const { state, api, dispose } = await activated(install);
  await api.refreshStatus();
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  const declared = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepStrictEqual([...state.commands.keys()].sort(), declared);
  assert.deepStrictEqual(declared, ['pytestd.debugTestAtCursor', 'pytestd.logs', 'pytestd.repeatLastRun', 'pytestd.restart', 'pytestd.runFile',
    'pytestd.runTestAtCursor', 'pytestd.start', 'pytestd.status', 'pytestd.stop']);
  dispose();
  assert.strictEqual(state.commands.size, 0, 'commands outlive the extension');
});

test('the status bar shows the state the CLI reports, and a problem when it cannot', async () => {
  const install = fakeInstall();
  install.setStatus({ format: 1, state: 'warming', root: install.project, pid: 10, uptime_seconds: 1, runs: 0 });
  const { state, api, dispose } = await activated(install, { virtualEnv: '/venvs/app' });
  await api.refreshStatus();
  assert.strictEqual(state.statusItem.text, '$(loading~spin) pytestd: warming');
  assert.ok(state.statusItem.shown);
  assert.strictEqual(state.statusItem.command, 'pytestd.status');
  install.setStatus({ format: 1, state: 'waiting', reason: 'pytest.ini changed', root: install.project });
  await api.refreshStatus();
  assert.strictEqual(state.statusItem.text, '$(watch) pytestd: waiting for a clean host');
  assert.match(state.statusItem.tooltip, /pytest\.ini changed/);
  // The CLI ran in the workspace folder with the configured venv active.
  assert.ok(install.calls().every((call) => call === `${install.project} /venvs/app status --json`), install.calls().join('\n'));
  install.setStatus('{"format": 2, "state": "ready"}');
  await api.refreshStatus();
  assert.strictEqual(state.statusItem.text, '$(warning) pytestd: ?');
  assert.match(state.statusItem.tooltip, /format 2/);
  dispose();
});

test('without a workspace folder the status bar item is hidden and the CLI not asked', async () => {
  const install = fakeInstall();
  install.setStatus({ format: 1, state: 'ready', root: install.project });
  const { state, api, dispose } = await activated(install);
  await api.refreshStatus();
  const calls = install.calls().length;
  state.folders = [];
  await api.refreshStatus();
  assert.strictEqual(state.statusItem.shown, false);
  assert.strictEqual(install.calls().length, calls);
  state.folders = [{ uri: { fsPath: install.project } }];
  await api.refreshStatus();
  assert.strictEqual(state.statusItem.shown, true);
  assert.strictEqual(state.statusItem.text, '$(check) pytestd: ready');
  dispose();
});

test('a missing pytestd binary shows in the status bar', async () => {
  const install = fakeInstall();
  const { state, api, dispose } = await activated(install, { path: path.join(install.dir, 'nowhere', 'pytestd') });
  await api.refreshStatus();
  assert.strictEqual(state.statusItem.text, '$(warning) pytestd: ?');
  assert.match(state.statusItem.tooltip, /cannot run .*nowhere\/pytestd/);
  dispose();
});

test('run the test under the cursor: saves, then types the shim line into one terminal', async () => {
  const install = fakeInstall();
  install.setStatus({ format: 1, state: 'ready', root: install.project });
  const { state, dispose } = await activated(install, { pytestArgs: ['-x', '--tb=short'] });
  const file = path.join(install.project, 'tests', 'test_x.py');
  state.activeTextEditor = editor(file, TEST_FILE_TEXT, 2, { dirty: true });
  await state.commands.get('pytestd.runTestAtCursor')();
  assert.strictEqual(state.activeTextEditor.document.saves, 1);
  assert.strictEqual(state.terminals.length, 1);
  const shim = path.join(fs.realpathSync(install.bin), 'pytest');
  assert.deepStrictEqual(state.terminals[0].sent, [[`cd ${install.project} && ${shim} -x --tb=short tests/test_x.py::TestA::test_b`, true]]);
  state.activeTextEditor = editor(file, TEST_FILE_TEXT, 0);
  await state.commands.get('pytestd.runFile')();
  assert.strictEqual(state.terminals.length, 1, 'a second terminal for the second run');
  assert.deepStrictEqual(state.terminals[0].sent[1], [`cd ${install.project} && ${shim} -x --tb=short tests/test_x.py`, true]);
  dispose();
});

test('debug the test under the cursor: saves, then a debugpy launch of `python -m pytest` in its folder', async () => {
  const install = fakeInstall();
  const { state, dispose } = await activated(install, { pytestArgs: ['-x'], virtualEnv: '/venvs/app' });
  const file = path.join(install.project, 'tests', 'test_x.py');
  state.activeTextEditor = editor(file, TEST_FILE_TEXT, 2, { dirty: true });
  await state.commands.get('pytestd.debugTestAtCursor')();
  assert.strictEqual(state.activeTextEditor.document.saves, 1);
  assert.strictEqual(state.terminals.length, 0, 'a debug session is not a terminal run');
  assert.strictEqual(state.debugSessions.length, 1);
  const [folder, configuration] = state.debugSessions[0];
  assert.strictEqual(folder.uri.fsPath, install.project);
  assert.deepStrictEqual([configuration.type, configuration.request, configuration.module, configuration.cwd, configuration.python],
    ['debugpy', 'launch', 'pytest', install.project, '/venvs/app/bin/python']);
  assert.deepStrictEqual(configuration.args, ['-x', 'tests/test_x.py::TestA::test_b']);
  // Not under a test: a warning; a session that does not start: an error.
  state.activeTextEditor = editor(file, TEST_FILE_TEXT, 5);
  await state.commands.get('pytestd.debugTestAtCursor')();
  assert.strictEqual(state.debugSessions.length, 1);
  state.debugStarts = false;
  state.activeTextEditor = editor(file, TEST_FILE_TEXT, 1);
  await state.commands.get('pytestd.debugTestAtCursor')();
  assert.deepStrictEqual(state.messages.map(([kind]) => kind), ['warning', 'error']);
  assert.match(state.messages[1][1], /debug session did not start/);
  dispose();
});

test('no test under the cursor, or not a Python file: a warning, no run', async () => {
  const install = fakeInstall();
  const { state, dispose } = await activated(install);
  state.activeTextEditor = editor(path.join(install.project, 'test_x.py'), TEST_FILE_TEXT, 5);
  await state.commands.get('pytestd.runTestAtCursor')();
  state.activeTextEditor = editor(path.join(install.project, 'notes.md'), '# x', 0, { languageId: 'markdown' });
  await state.commands.get('pytestd.runFile')();
  assert.strictEqual(state.terminals.length, 0);
  assert.deepStrictEqual(state.messages.map(([kind]) => kind), ['warning', 'warning']);
  assert.match(state.messages[0][1], /no test under the cursor/);
  dispose();
});

test('repeat the last run: the same line again, from another editor; nothing before the first run', async () => {
  const install = fakeInstall();
  const { state, dispose } = await activated(install, { shimPath: '/opt/shim/pytest' });
  await state.commands.get('pytestd.repeatLastRun')();
  assert.match(state.messages[0][1], /nothing has run yet/);
  state.activeTextEditor = editor(path.join(install.project, 'test_x.py'), TEST_FILE_TEXT, 1);
  await state.commands.get('pytestd.runTestAtCursor')();
  state.activeTextEditor = editor(path.join(install.project, 'other.py'), '', 0);
  await state.commands.get('pytestd.repeatLastRun')();
  const sent = state.terminals[0].sent.map(([text]) => text);
  assert.deepStrictEqual(sent, Array(2).fill(`cd ${install.project} && /opt/shim/pytest test_x.py::TestA::test_b`));
  assert.deepStrictEqual(state.saved, ['all']);
  dispose();
});

test('a closed terminal is replaced by a new one; the configured venv is its environment', async () => {
  const install = fakeInstall();
  const { state, dispose } = await activated(install, { shimPath: '/s/pytest', virtualEnv: '/venvs/app' });
  state.activeTextEditor = editor(path.join(install.project, 'test_x.py'), TEST_FILE_TEXT, 1);
  await state.commands.get('pytestd.runFile')();
  state.closeTerminalListeners.forEach((listener) => listener(state.terminals[0]));
  await state.commands.get('pytestd.runFile')();
  assert.strictEqual(state.terminals.length, 2);
  assert.strictEqual(state.terminals[1].options.name, 'pytestd');
  assert.strictEqual(state.terminals[1].options.env.VIRTUAL_ENV, '/venvs/app');
  assert.ok(state.terminals[1].options.env.PATH.startsWith('/venvs/app/bin:'));
  dispose();
});

test('start and force a full reload run the CLI in the terminal; stop, status and logs run it directly', async () => {
  const install = fakeInstall();
  install.setStatus({ format: 1, state: 'ready', root: install.project });
  const { state, api, dispose } = await activated(install);
  await api.refreshStatus();
  state.activeTextEditor = editor(path.join(install.project, 'test_x.py'), TEST_FILE_TEXT, 1);
  await state.commands.get('pytestd.start')();
  await state.commands.get('pytestd.restart')();
  assert.deepStrictEqual(state.terminals[0].sent.map(([text]) => text), [
    `cd ${install.project} && ${install.cli} start`, `cd ${install.project} && ${install.cli} restart`]);
  await state.commands.get('pytestd.stop')();
  assert.deepStrictEqual(state.messages.at(-1), ['info', 'pytestd: stopped']);
  await state.commands.get('pytestd.status')();
  assert.deepStrictEqual(state.output, ['text of status\n']);
  await state.commands.get('pytestd.logs')();
  assert.deepStrictEqual(state.output, ['text of logs --lines 1000\n']);
  const verbs = install.calls().map((call) => call.split(' ').slice(2).join(' ')).filter((verb) => verb !== 'status --json');
  assert.deepStrictEqual(verbs, ['stop', 'status', 'logs --lines 1000']);
  dispose();
});
