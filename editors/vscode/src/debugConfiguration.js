'use strict';
// The debug configuration of "Debug the Test under the Cursor": debugpy (the Python Debugger
// extension) launches `python -m pytest ARGS TARGET`. Its launcher starts
// `python -X frozen_modules=off <…/debugpy> --connect … -m pytest ARGS TARGET`, which the interpreter
// hook (`pytestd install-hook`) hands to pytestd: the run is served warm and debugpy connects from the
// run child. Without the hook the same session runs in a fresh interpreter.
const path = require('path');

/**
 * @param run `{cwd, target, extraArgs}` as for a run (see commandLine.runTarget).
 * @param virtualEnv the `pytestd.virtualEnv` setting: its interpreter, else the one the Python
 *   extension has selected.
 */
function debugConfiguration(run, virtualEnv) {
  const configuration = {
    type: 'debugpy',
    request: 'launch',
    name: `pytestd: debug ${run.target}`,
    module: 'pytest',
    args: [...run.extraArgs, run.target],
    cwd: run.cwd,
    // The terminal, as runs: colours, `input()` and pytest's own output where the user expects them.
    console: 'integratedTerminal',
    justMyCode: true,
  };
  if (virtualEnv) configuration.python = path.join(virtualEnv, 'bin', 'python');
  return configuration;
}

module.exports = { debugConfiguration };
