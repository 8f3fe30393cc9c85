'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { testIdAt, indentWidth } = require('../src/testAtCursor');

function idsPerLine(text) {
  return text.split('\n').map((_, line) => testIdAt(text, line));
}

test('module-level tests, classes, helpers and the lines between them', () => {
  const text = [
    'import pytest',              // 0
    '',                           // 1
    'def helper():',              // 2
    '    return 1',               // 3
    '',                           // 4
    '@pytest.mark.slow',          // 5
    'def test_one():',            // 6
    '    assert helper()',        // 7
    '',                           // 8
    'class TestGroup:',           // 9
    '    """Docs."""',            // 10
    '    def setup_method(self):',// 11
    '        pass',               // 12
    '    async def test_two(self):', // 13
    '        def inner():',       // 14
    '            pass',           // 15
    '        class TestNotCollected:', // 16
    '            pass',           // 17
    '    class TestInner:',       // 18
    '        def test_three(self):', // 19
    '            pass',           // 20
    'class Other:',               // 21
    '    def test_method(self):', // 22
    '        pass',               // 23
    'def testplain():',           // 24
    '    pass',                   // 25
  ].join('\n');
  assert.deepStrictEqual(idsPerLine(text), [
    null, null, null, null, null,
    'test_one', 'test_one', 'test_one', 'test_one',
    'TestGroup', 'TestGroup', 'TestGroup', 'TestGroup',
    'TestGroup::test_two', 'TestGroup::test_two', 'TestGroup::test_two', 'TestGroup::test_two', 'TestGroup::test_two',
    'TestGroup::TestInner', 'TestGroup::TestInner::test_three', 'TestGroup::TestInner::test_three',
    null, null, null,
    'testplain', 'testplain',
  ]);
});

test('continuation lines do not end a block, whatever their indentation', () => {
  const text = [
    'class TestStrings:',
    '    def test_doc(self):',
    '        text = """',
    'def test_not_real():',
    '  class TestFake:',
    '"""',
    '        call(1,',
    '2, "(",',
    '# not a comment',
    ')',
    '        value = 1 + \\',
    '2',
    "        other = '''x''' + \"#\" + '\\'' ; brackets = '[{('",
    '        assert text',
    '    def test_after(self):',
    '        pass',
  ].join('\n');
  const ids = idsPerLine(text);
  for (let line = 1; line <= 13; line++) assert.strictEqual(ids[line], 'TestStrings::test_doc', `line ${line}`);
  assert.strictEqual(ids[14], 'TestStrings::test_after');
});

test('decorators spanning lines belong to the definition below them', () => {
  const text = [
    'import pytest',
    '@pytest.mark.parametrize(',
    '    "x",',
    '    [1, 2],',
    ')',
    '# a comment between',
    '@pytest.mark.slow',
    'def test_x(x):',
    '    pass',
  ].join('\n');
  assert.deepStrictEqual(idsPerLine(text).slice(1), Array(8).fill('test_x'));
});

test('no code before the cursor, an empty file, CRLF line ends, tabs', () => {
  assert.strictEqual(testIdAt('', 0), null);
  assert.strictEqual(testIdAt('\n\n# only a comment\n', 2), null);
  assert.strictEqual(testIdAt('class TestA:\r\n    def test_b(self):\r\n        pass\r\n', 2), 'TestA::test_b');
  assert.strictEqual(testIdAt('class TestA:\n\tdef test_b(self):\n\t\tpass\n                x = 1\n', 3), 'TestA::test_b');
  assert.strictEqual(indentWidth('  \tx'), 8);
  assert.strictEqual(indentWidth('\t\t x'), 17);
});

// Property: random files of nested blocks, with random indentation units, decorators, multi-line
// headers, strings and brackets whose lines sit at any column, comments and blank lines. The generator
// knows which block each line is in; the parser sees only the text.
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectedId(chain) {
  const parts = [];
  for (const block of chain) {
    if (block.kind === 'class' && block.name.startsWith('Test')) { parts.push(block.name); continue; }
    if (block.kind === 'def' && block.name.startsWith('test')) parts.push(block.name);
    break;
  }
  return parts.length > 0 ? parts.join('::') : null;
}

function generateFile(random) {
  const pick = (items) => items[Math.floor(random() * items.length)];
  const lines = []; // [text, expected id, or undefined for blank and comment lines]
  let counter = 0;
  const anyIndent = () => pick(['', ' ', '   ', '\t', '            ']);

  function statement(indent, id) {
    switch (pick(['simple', 'simple', 'string', 'call', 'comment', 'blank', 'backslash'])) {
      case 'simple':
        lines.push([`${indent}x = "a # ( [ '" + 'b \\' "' # trailing ) comment`, id]);
        break;
      case 'string': {
        const quote = pick(['"""', "'''"]);
        lines.push([`${indent}s = ${pick(['', 'r', 'f', 'b'])}${quote}first`, id]);
        for (let i = 0; i < 1 + Math.floor(random() * 3); i++) lines.push([`${anyIndent()}${pick(['def test_fake():', 'class TestFake:', '# not a comment', ')]}', '"', "'"])}`, id]);
        lines.push([`${anyIndent()}${quote}`, id]);
        break;
      }
      case 'call':
        lines.push([`${indent}call(1, [`, id]);
        lines.push([`${anyIndent()}def_test_x, "]",`, id]);
        lines.push([`${anyIndent()}# comment ( inside`, id]);
        lines.push([`${anyIndent()}])`, id]);
        break;
      case 'backslash':
        lines.push([`${indent}y = 1 + \\`, id]);
        lines.push([`${anyIndent()}2`, id]);
        break;
      case 'comment':
        lines.push([`${anyIndent()}# def test_commented():`, undefined]);
        break;
      default:
        lines.push([pick(['', '   ', '\t']), undefined]);
    }
  }

  function block(indent, chain, depth) {
    const kind = random() < 0.5 ? 'class' : 'def';
    const prefix = kind === 'class' ? pick(['Test', 'Test', 'Helper', 'Testing']) : pick(['test_', 'test', 'helper_', '_test']);
    const self = { kind, name: `${prefix}${counter++}` };
    const id = expectedId([...chain, self]);
    for (let i = 0; i < Math.floor(random() * 3); i++) {
      if (random() < 0.5) {
        lines.push([`${indent}@pytest.mark.parametrize(`, id]);
        lines.push([`${anyIndent()}"x", [1, 2])`, id]);
      } else {
        lines.push([`${indent}@decorator`, id]);
      }
    }
    if (kind === 'class') {
      lines.push([`${indent}class ${self.name}${pick(['', '(Base)', '(\n' + anyIndent() + 'Base)'])}:`, id]);
    } else {
      lines.push([`${indent}${pick(['', 'async '])}def ${self.name}(${pick(['', 'self', '\n' + anyIndent() + 'a,\n' + anyIndent()])}):`, id]);
    }
    const body = indent + pick(['  ', '    ', '\t', ' ', '        ']);
    const count = 1 + Math.floor(random() * 4);
    for (let i = 0; i < count; i++) {
      if (depth < 3 && random() < 0.35) block(body, [...chain, self], depth + 1);
      else statement(body, id);
    }
    // A block must have a statement after its last nested block's lines to own them: the parser cannot
    // tell a trailing blank line of a nested block from one of its parent.
  }

  for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
    if (random() < 0.3) statement('', null);
    block('', [], 0);
  }
  // Multi-line headers carry embedded newlines: split them, every piece keeps its block's id.
  const text = [];
  const expected = [];
  let last = null;
  for (const [line, id] of lines) {
    for (const piece of line.split('\n')) {
      text.push(piece);
      if (id !== undefined) last = id;
      expected.push(id === undefined ? last : id);
    }
  }
  return { text: text.join('\n'), expected };
}

test('property: random nesting, indentation and continuations', () => {
  for (let seed = 1; seed <= 400; seed++) {
    const { text, expected } = generateFile(seeded(seed));
    const actual = idsPerLine(text);
    for (let line = 0; line < expected.length; line++) {
      if (actual[line] !== expected[line]) {
        assert.fail(`seed ${seed}, line ${line + 1}: expected ${expected[line]}, got ${actual[line]}\n${text.split('\n').map((l, i) => `${String(i + 1).padStart(3)}| ${l}`).join('\n')}`);
      }
    }
  }
});
