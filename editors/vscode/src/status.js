'use strict';
// `pytestd status --json` (format 1, see the README) read and shown in the status bar.

const SUPPORTED_FORMAT = 1;

const LABELS = {
  stopped: { icon: '$(circle-slash)', words: 'stopped' },
  warming: { icon: '$(loading~spin)', words: 'warming' },
  ready: { icon: '$(check)', words: 'ready' },
  reloading: { icon: '$(sync~spin)', words: 'reloading' },
  waiting: { icon: '$(watch)', words: 'waiting for a clean host' },
  failed: { icon: '$(error)', words: 'failed' },
  stopping: { icon: '$(debug-stop)', words: 'stopping' },
  expired: { icon: '$(debug-pause)', words: 'template expired' },
};

/** The document from the command's output; throws with a message for the user when it is not one. */
function parseStatus(stdout) {
  let document;
  try {
    document = JSON.parse(stdout);
  } catch (error) {
    throw new Error(`pytestd status --json printed no JSON: ${String(stdout).trim().slice(0, 200) || '(nothing)'}`);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new Error('pytestd status --json printed no object');
  }
  if (document.format !== SUPPORTED_FORMAT) {
    throw new Error(`pytestd status --json is format ${document.format}; this extension reads format ${SUPPORTED_FORMAT}: update it`);
  }
  if (!Object.prototype.hasOwnProperty.call(LABELS, document.state)) {
    throw new Error(`pytestd status --json has an unknown state ${JSON.stringify(document.state)}`);
  }
  return document;
}

function seconds(value) {
  const s = Math.floor(value);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** Text and tooltip of the status bar item for a document. */
function statusBarView(document) {
  const label = LABELS[document.state];
  const lines = [`pytestd: ${label.words}${document.reason ? ` — ${document.reason}` : ''}`, document.root];
  if (document.python) lines.push(`Python ${document.python_version || ''} ${document.python}`.replace('  ', ' '));
  if (document.host) {
    const host = document.host;
    const origin = host.reloaded_from !== undefined ? `reloaded from generation ${host.reloaded_from}` : 'clean';
    lines.push(`host ${host.pid}, generation ${host.generation} (${origin}), warm-up ${host.warmup_seconds.toFixed(2)} s, ${host.runs} runs`);
  }
  if (document.pid !== undefined) lines.push(`manager ${document.pid}, up ${seconds(document.uptime_seconds || 0)}, ${document.runs} runs`);
  if (document.served_cold) lines.push(`runs go to plain pytest: ${document.served_cold}`);
  lines.push('Click for `pytestd status`.');
  return { text: `${label.icon} pytestd: ${label.words}`, tooltip: lines.join('\n') };
}

/** The status bar item when the status cannot be read (no binary, a broken manager). */
function statusBarProblem(message) {
  return { text: '$(warning) pytestd: ?', tooltip: `${message}\nClick for \`pytestd status\`.` };
}

module.exports = { parseStatus, statusBarView, statusBarProblem, SUPPORTED_FORMAT, STATES: Object.keys(LABELS) };
