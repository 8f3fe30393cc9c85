'use strict';
// The VS Code glue: commands, the terminal runs go to, the status bar item. The logic lives in the
// modules beside it, which do not import `vscode` (they are unit-tested with `node --test`).
const vscode = require('vscode');
const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');
const { testIdAt } = require('./testAtCursor');
const { shellLine, shimBeside, runTarget, runLine } = require('./commandLine');
const { parseStatus, statusBarView, statusBarProblem } = require('./status');
const { LastRun } = require('./lastRun');
const { debugConfiguration } = require('./debugConfiguration');

const TERMINAL_NAME = 'pytestd';

function settings() {
  const config = vscode.workspace.getConfiguration('pytestd');
  return {
    pytestd: config.get('path') || 'pytestd',
    shim: config.get('shimPath') || '',
    pytestArgs: config.get('pytestArgs') || [],
    virtualEnv: config.get('virtualEnv') || '',
    statusInterval: config.get('statusIntervalSeconds') || 3,
  };
}

/** The real path of an executable named as the user would type it (a bare name is looked up on PATH). */
function findExecutable(name, environment) {
  const candidates = name.includes('/') ? [name]
    : (environment.PATH || '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return fs.realpathSync(candidate);
    } catch (error) {
      // not this one
    }
  }
  return null;
}

/**
 * The environment of pytestd's CLI and of the terminal: with `pytestd.virtualEnv` set, that venv is
 * the active one for both, so the status shown is the manager the runs use.
 */
function environment(config) {
  if (!config.virtualEnv) return process.env;
  return { ...process.env, VIRTUAL_ENV: config.virtualEnv, PATH: `${path.join(config.virtualEnv, 'bin')}${path.delimiter}${process.env.PATH || ''}` };
}

function activate(context) {
  const lastRun = new LastRun(context.workspaceState);
  const output = vscode.window.createOutputChannel('pytestd');
  const statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  statusItem.command = 'pytestd.status';
  statusItem.text = '$(loading~spin) pytestd';
  let terminal = null;
  let refreshing = null;

  function folderOf(uri) {
    const folder = uri && vscode.workspace.getWorkspaceFolder(uri);
    if (folder) return folder.uri.fsPath;
    const folders = vscode.workspace.workspaceFolders || [];
    return folders.length > 0 ? folders[0].uri.fsPath : null;
  }

  function currentFolder() {
    const editor = vscode.window.activeTextEditor;
    return folderOf(editor && editor.document.uri);
  }

  function runCli(args, cwd, config = settings()) {
    return new Promise((resolve) => {
      childProcess.execFile(config.pytestd, args, { cwd: cwd || undefined, env: environment(config), timeout: 30000, maxBuffer: 16 << 20 },
        (error, stdout, stderr) => resolve({ error, code: error ? error.code : 0, stdout, stderr }));
    });
  }

  function refreshStatus() {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      // Without a folder there is no project to show (the CLI would ask about the editor's own cwd).
      const folder = currentFolder();
      if (folder === null) {
        statusItem.hide();
        return;
      }
      statusItem.show();
      const result = await runCli(['status', '--json'], folder);
      try {
        if (result.error && typeof result.code !== 'number') throw new Error(`cannot run ${settings().pytestd}: ${result.error.message}`);
        const view = statusBarView(parseStatus(result.stdout));
        statusItem.text = view.text;
        statusItem.tooltip = view.tooltip;
      } catch (error) {
        const problem = statusBarProblem(result.stderr.trim() || error.message);
        statusItem.text = problem.text;
        statusItem.tooltip = problem.tooltip;
      }
    })().finally(() => { refreshing = null; });
    return refreshing;
  }

  function runTerminal() {
    if (terminal === null) {
      const config = settings();
      terminal = vscode.window.createTerminal({ name: TERMINAL_NAME, env: config.virtualEnv ? environment(config) : undefined });
    }
    terminal.show(true);
    return terminal;
  }

  function inTerminal(line) {
    runTerminal().sendText(line, true);
  }

  function shimPath(config) {
    if (config.shim) return config.shim;
    const real = findExecutable(config.pytestd, environment(config));
    if (real === null) throw new Error(`pytestd not found (${config.pytestd}): set pytestd.path`);
    return shimBeside(real);
  }

  /** `debug`: a debugpy session instead of the terminal (see debugConfiguration.js). */
  async function run(testId, debug = false) {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== 'python') {
      vscode.window.showWarningMessage('pytestd: open a Python test file first.');
      return;
    }
    const document = editor.document;
    let id = null;
    if (testId) {
      id = testIdAt(document.getText(), editor.selection.active.line);
      if (id === null) {
        vscode.window.showWarningMessage('pytestd: no test under the cursor (a `def test…` or a `class Test…`).');
        return;
      }
    }
    // Runs read the file from disk: what the editor shows is what runs.
    if (document.isDirty) await document.save();
    const config = settings();
    const target = runTarget(document.uri.fsPath, folderOf(document.uri), id);
    if (debug) {
      const started = await vscode.debug.startDebugging(vscode.workspace.getWorkspaceFolder(document.uri),
        debugConfiguration({ ...target, extraArgs: config.pytestArgs }, config.virtualEnv));
      if (!started) vscode.window.showErrorMessage('pytestd: the debug session did not start (is the Python Debugger extension installed?)');
      return;
    }
    let pytest;
    try {
      pytest = shimPath(config);
    } catch (error) {
      vscode.window.showErrorMessage(`pytestd: ${error.message}`);
      return;
    }
    const runRequest = { ...target, pytest, extraArgs: config.pytestArgs };
    await lastRun.remember(runRequest);
    inTerminal(runLine(runRequest));
  }

  async function repeatLastRun() {
    const previous = lastRun.get();
    if (previous === null) {
      vscode.window.showInformationMessage('pytestd: nothing has run yet in this workspace.');
      return;
    }
    await vscode.workspace.saveAll(false);
    inTerminal(runLine(previous));
  }

  /**
   * A CLI verb in the terminal: the manager it starts inherits the terminal's environment, as runs do
   * (a template is imported under its starter's environment), and its progress shows there.
   */
  function verbInTerminal(args) {
    const config = settings();
    const folder = currentFolder();
    inTerminal((folder ? shellLine(['cd', folder]) + ' && ' : '') + shellLine([config.pytestd, ...args]));
  }

  async function stop() {
    const result = await runCli(['stop'], currentFolder());
    if (result.error) vscode.window.showErrorMessage(`pytestd stop: ${(result.stderr || result.error.message).trim()}`);
    else vscode.window.showInformationMessage(`pytestd: ${result.stdout.trim()}`);
    await refreshStatus();
  }

  async function showCli(args) {
    const result = await runCli(args, currentFolder());
    output.clear();
    output.append(result.stdout);
    if (result.stderr) output.append(result.stderr);
    output.show(true);
  }

  const commands = {
    'pytestd.runTestAtCursor': () => run(true),
    'pytestd.runFile': () => run(false),
    'pytestd.debugTestAtCursor': () => run(true, true),
    'pytestd.repeatLastRun': repeatLastRun,
    'pytestd.start': () => verbInTerminal(['start']),
    'pytestd.restart': () => verbInTerminal(['restart']),
    'pytestd.stop': stop,
    'pytestd.status': () => showCli(['status']).then(refreshStatus),
    'pytestd.logs': () => showCli(['logs', '--lines', '1000']),
  };
  for (const [name, handler] of Object.entries(commands)) {
    context.subscriptions.push(vscode.commands.registerCommand(name, handler));
  }
  context.subscriptions.push(statusItem, output, vscode.window.onDidCloseTerminal((closed) => {
    if (closed === terminal) terminal = null;
  }));
  context.subscriptions.push(vscode.window.onDidChangeActiveTextEditor(() => refreshStatus()));
  const timer = setInterval(() => {
    if (vscode.window.state.focused) refreshStatus();
  }, settings().statusInterval * 1000);
  context.subscriptions.push({ dispose: () => clearInterval(timer) });
  refreshStatus();
  return { refreshStatus };
}

function deactivate() {}

module.exports = { activate, deactivate };
