'use strict';
// The last run, remembered per workspace so "repeat the last run" survives a window reload.

const KEY = 'pytestd.lastRun';

function isRun(value) {
  return value !== null && typeof value === 'object'
    && typeof value.cwd === 'string' && typeof value.target === 'string'
    && typeof value.pytest === 'string'
    && Array.isArray(value.extraArgs) && value.extraArgs.every((a) => typeof a === 'string');
}

class LastRun {
  /** `storage`: a Memento (`context.workspaceState`): get(key) and update(key, value). */
  constructor(storage) {
    this.storage = storage;
  }

  /** The remembered run, or null (also when what is stored is not a run: another version wrote it). */
  get() {
    const value = this.storage.get(KEY);
    return isRun(value) ? { cwd: value.cwd, target: value.target, pytest: value.pytest, extraArgs: [...value.extraArgs] } : null;
  }

  remember(run) {
    if (!isRun(run)) throw new TypeError('not a run');
    return this.storage.update(KEY, { cwd: run.cwd, target: run.target, pytest: run.pytest, extraArgs: [...run.extraArgs] });
  }
}

module.exports = { LastRun, isRun, KEY };
