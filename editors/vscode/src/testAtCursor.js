'use strict';
// The pytest node id (after `file::`) of the test under the cursor, from a Python file's text alone:
// `TestOuter::TestInner::test_name`, a class id when the cursor is in a test class but not in one of
// its tests, or null. Follows pytest's default naming (`python_classes = Test`, `python_functions =
// test`); parametrized ids are not produced (the whole function runs).

const DEFINITION = /^(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)/;

// Logical lines (a statement with its bracket, backslash and triple-quoted-string continuations): only
// their first physical line's indentation says which block they belong to.
function logicalLines(text) {
  const physical = text.split(/\r\n|\r|\n/);
  const result = [];
  let current = null;
  let depth = 0;
  let openString = null; // the triple quote a string spanning lines started with
  for (let index = 0; index < physical.length; index++) {
    const line = physical[index];
    if (current === null) {
      const stripped = line.trimStart();
      if (stripped === '' || stripped.startsWith('#')) continue;
      current = { first: index, last: index, indent: indentWidth(line), text: stripped };
    }
    current.last = index;
    let continued = false;
    let i = current.first === index ? indentLength(line) : 0;
    while (i < line.length) {
      if (openString !== null) {
        const end = findStringEnd(line, i, openString);
        if (end < 0) { i = line.length; break; }
        i = end;
        openString = null;
        continue;
      }
      const c = line[i];
      if (c === '#') break;
      if (c === '\\' && i === line.length - 1) { continued = true; break; }
      if (c === '"' || c === "'") {
        const triple = line.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
        const end = findStringEnd(line, i + triple.length, triple);
        if (end < 0) {
          // An unterminated one-quote string ends at the line (a syntax error); a triple one goes on.
          if (triple.length === 3) openString = triple;
          i = line.length;
          break;
        }
        i = end;
        continue;
      }
      if ('([{'.includes(c)) depth++;
      else if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
      i++;
    }
    if (!continued && depth === 0 && openString === null) {
      result.push(current);
      current = null;
    }
  }
  if (current !== null) result.push(current);
  return result;
}

// Index just after the closing quote, or -1 when the string does not end on this line.
function findStringEnd(line, from, quote) {
  for (let i = from; i < line.length; i++) {
    if (line[i] === '\\') { i++; continue; }
    if (line.startsWith(quote, i)) return i + quote.length;
  }
  return -1;
}

function indentLength(line) {
  return line.length - line.trimStart().length;
}

// Python expands a tab to the next multiple of 8 columns.
function indentWidth(line) {
  let width = 0;
  for (const c of line) {
    if (c === ' ') width++;
    else if (c === '\t') width = (Math.floor(width / 8) + 1) * 8;
    else if (c === '\f') width = 0;
    else break;
  }
  return width;
}

/** The node id under `cursorLine` (0-based) of `text`, without the file part; null when none. */
function testIdAt(text, cursorLine) {
  const lines = logicalLines(text);
  // The statement holding the cursor, else the last one before it (blank lines and comments belong
  // to the block above); a decorator stands for the definition it decorates.
  let at = -1;
  for (let i = 0; i < lines.length && lines[i].first <= cursorLine; i++) at = i;
  while (at >= 0 && at + 1 < lines.length && lines[at].text.startsWith('@')) at++;
  if (at < 0) return null;
  const enclosing = [];
  for (let i = 0; i <= at; i++) {
    const line = lines[i];
    while (enclosing.length > 0 && enclosing[enclosing.length - 1].indent >= line.indent) enclosing.pop();
    const match = DEFINITION.exec(line.text);
    if (match) enclosing.push({ indent: line.indent, kind: match[1], name: match[2] });
  }
  // Test classes, outermost first, then the test function; what a test function encloses is part of
  // it, and a helper method stands for its class.
  const parts = [];
  for (const block of enclosing) {
    if (block.kind === 'class' && block.name.startsWith('Test')) { parts.push(block.name); continue; }
    if (block.kind === 'def' && block.name.startsWith('test')) parts.push(block.name);
    break;
  }
  return parts.length > 0 ? parts.join('::') : null;
}

module.exports = { testIdAt, logicalLines, indentWidth };
