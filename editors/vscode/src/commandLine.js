'use strict';
// The shell lines the extension types into its terminal, and where the `pytest` shim lives.
const path = require('path');

/** One POSIX shell word: left bare when it is safe, else single-quoted. */
function shellQuote(word) {
  const text = String(word);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return "'" + text.replace(/'/g, "'\\''") + "'";
}

function shellLine(words) {
  return words.map(shellQuote).join(' ');
}

/**
 * The shim installed beside the `pytestd` binary (`make install` and the build tree put both in one
 * directory), given the binary's real path.
 */
function shimBeside(realPytestdPath) {
  return path.join(path.dirname(realPytestdPath), 'pytest');
}

/**
 * Where a run starts and what it names: the file relative to its workspace folder (the terminal's
 * working directory), or to its own directory when it is in none.
 */
function runTarget(filePath, folderPath, testId) {
  const relative = folderPath ? path.relative(folderPath, filePath) : '';
  const inFolder = relative !== '' && relative !== '..' && !relative.startsWith('..' + path.sep) && !path.isAbsolute(relative);
  const cwd = inFolder ? folderPath : path.dirname(filePath);
  const file = path.relative(cwd, filePath);
  return { cwd, target: testId ? `${file}::${testId}` : file };
}

/** A run: `cd` to its folder, then the shim with the extra arguments and the target. */
function runLine(run) {
  return shellLine(['cd', run.cwd]) + ' && ' + shellLine([run.pytest, ...run.extraArgs, run.target]);
}

module.exports = { shellQuote, shellLine, shimBeside, runTarget, runLine };
