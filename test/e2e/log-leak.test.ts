/**
 * No credential ever reaches the logs. A server logging every request at debug level is driven
 * through everything that carries a secret: users created with passwords, tokens created and
 * revoked over the API, Basic-auth calls with right and wrong passwords, wrong and revoked tokens,
 * a password change, npm login (right and wrong password), npm publish, install and logout. Every
 * secret issued or sent is collected, and no captured log line and no error answer may hold one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { type Sandbox, assertFailed, assertOk, createSandbox, describeRun, writePackage, writeProject } from './clients.js';
import { type HttpAnswer, http, packageUrl } from './registry.js';

/**
 * A secret made only of letters and digits that no log field plausibly contains by chance
 * (hex hashes cannot hold `z`), and that JSON leaves unescaped, so a plain substring test finds it.
 */
function uniqueSecret(label: string): string {
  return `${label}Z${randomBytes(12).toString('base64url').replace(/[-_]/g, 'z')}`;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('credentials never reach the logs', () => {
  const logLines: string[] = [];
  /** Every password, token and Basic credential issued or sent, with what it was. */
  const secrets = new Map<string, string>();
  /** Every answer with status >= 400, to check that none echoes a credential. */
  const errorAnswers: { what: string; answer: HttpAnswer }[] = [];
  const sandboxes: Sandbox[] = [];
  let server: TestServer;
  let registry: string;

  function remember(what: string, secret: string): string {
    assert.ok(secret.length >= 8, `${what} is long enough to be searched for`);
    secrets.set(secret, what);
    return secret;
  }

  function rememberBasic(user: string, password: string): string {
    remember(`password of ${user}`, password);
    const header = basic(user, password);
    remember(`Basic credentials of ${user}`, header.slice('Basic '.length));
    return header;
  }

  /** A request to the server; an error answer is kept for the echo check. */
  async function call(what: string, method: string, url: string, options: Parameters<typeof http>[2] = {}): Promise<HttpAnswer> {
    const answer = await http(method, url, options);
    if (answer.status >= 400) errorAnswers.push({ what, answer });
    return answer;
  }

  const api = (p: string) => `${server.url}/api/v1${p}`;

  before(async () => {
    // Every failure here comes from 127.0.0.1; the lockout must not end the scenario early.
    server = await startTestServer({ auth: { lockout: { threshold: 1000 } } }, { logLines });
    remember('admin password', server.adminPassword);
    remember('admin token', server.adminToken);
  });

  after(async () => {
    for (const sandbox of sandboxes) await sandbox.remove();
    await server?.close();
  });

  it('drives the API through every path that carries a credential', async () => {
    // A user created with a password by the site admin.
    const password = remember('password of leaky', uniqueSecret('pw'));
    const created = await call('create user', 'POST', api('/users'), { token: server.adminToken, body: { name: 'leaky', password } });
    assert.equal(created.status, 201, created.text);
    // One refused for its weak password: what was sent is a secret all the same.
    const weak = remember('weak password', `wkZ${randomBytes(2).toString('hex')}q`);
    const refused = await call('create user with a weak password', 'POST', api('/users'), { token: server.adminToken, body: { name: 'weakling', password: weak } });
    assert.equal(refused.status, 400, refused.text);

    // Basic auth with the right password, then a wrong one.
    const goodBasic = rememberBasic('leaky', password);
    const whoami = await call('whoami with Basic', 'GET', api('/whoami'), { headers: { authorization: goodBasic } });
    assert.equal(whoami.status, 200, whoami.text);
    const wrongBasic = rememberBasic('leaky', uniqueSecret('wrong'));
    const denied = await call('whoami with a wrong password', 'GET', api('/whoami'), { headers: { authorization: wrongBasic } });
    assert.equal(denied.status, 401, denied.text);
    // A Basic header for a user who does not exist.
    const ghost = await call('whoami as nobody', 'GET', api('/whoami'), { headers: { authorization: rememberBasic('ghost', uniqueSecret('ghost')) } });
    assert.equal(ghost.status, 401, ghost.text);

    // Tokens created with Basic auth; one is then revoked and tried again.
    const createToken = async (name: string) => {
      const answer = await call(`create token ${name}`, 'POST', api('/tokens'), { headers: { authorization: goodBasic }, body: { name, scopes: ['write'] } });
      assert.equal(answer.status, 201, answer.text);
      const body = answer.json as { token: string; id: number };
      remember(`token ${name}`, body.token);
      return body;
    };
    const kept = await createToken('kept');
    const doomed = await createToken('doomed');
    assert.equal((await call('use a fresh token', 'GET', api('/whoami'), { token: doomed.token })).status, 200);
    const revoke = await call('revoke a token', 'DELETE', api(`/tokens/${doomed.id}`), { token: kept.token });
    assert.equal(revoke.status, 204, revoke.text);
    const revoked = await call('use a revoked token', 'GET', api('/whoami'), { token: doomed.token });
    assert.equal(revoked.status, 401, revoked.text);

    // Tokens that never existed, well-formed and not.
    for (const forged of [`stk_${uniqueSecret('forged')}`, uniqueSecret('garbage')]) {
      remember('forged token', forged);
      const answer = await call('use a forged token', 'GET', api('/whoami'), { token: forged });
      assert.equal(answer.status, 401, answer.text);
    }

    // A password change: the old one proves who asks, the new one is a secret too.
    const newPassword = remember('new password of leaky', uniqueSecret('newpw'));
    const changed = await call('change password', 'PUT', api('/users/leaky/password'), { token: kept.token, body: { password: newPassword, currentPassword: password } });
    assert.equal(changed.status, 204, changed.text);
    const wrongCurrent = remember('wrong current password', uniqueSecret('notcurrent'));
    const refusedChange = await call('change password with a wrong current one', 'PUT', api('/users/leaky/password'), {
      token: kept.token,
      body: { password: remember('never set', uniqueSecret('neverset')), currentPassword: wrongCurrent },
    });
    assert.equal(refusedChange.status, 403, refusedChange.text);

    // A token where no client should put one: in the query string.
    const inQuery = await call('token in the query string', 'GET', `${api('/whoami')}?access_token=${kept.token}`, { token: kept.token });
    assert.equal(inQuery.status, 200, inQuery.text);
  });

  it('drives npm through login, publish, install and logout', async () => {
    const leakyPassword = [...secrets].find(([, what]) => what === 'new password of leaky')?.[0];
    assert.ok(leakyPassword, 'the API step changed the password first');
    registry = await server.createRepo('leaky', 'private', 'private');

    // npm login (couch flow) with the password: npm writes the token it got into its npmrc.
    const author = await createSandbox({ label: 'leak-author', registry });
    sandboxes.push(author);
    assertOk(
      await author.npm(['login', '--auth-type=legacy'], {
        cwd: author.root,
        answers: [
          { prompt: /Username:/, reply: 'leaky' },
          { prompt: /Password:/, reply: leakyPassword },
        ],
      }),
    );
    const loginToken = /:_authToken=(\S+)/.exec(await readFile(author.npmrc, 'utf8'))?.[1];
    assert.ok(loginToken, 'npm login wrote a token');
    remember('npm login token', loginToken);

    const pkgDir = await writePackage(path.join(author.root, 'pkg'), { name: 'leak-probe', version: '1.0.0' });
    assertOk(await author.npm(['publish'], { cwd: pkgDir }));

    // Installing from the private repository needs the token on every request.
    const consumer = await createSandbox({ label: 'leak-consumer', registry, token: loginToken });
    sandboxes.push(consumer);
    const project = await writeProject(await consumer.dir('project'), { 'leak-probe': '1.0.0' });
    const install = assertOk(await consumer.npm(['install'], { cwd: project }));
    assert.match(await readFile(path.join(project, 'node_modules/leak-probe/package.json'), 'utf8'), /leak-probe/, describeRun(install));

    // A wrong password at npm login, and the same over plain HTTP to see the answer.
    const wrong = await createSandbox({ label: 'leak-wrong', registry });
    sandboxes.push(wrong);
    const wrongPassword = remember('wrong npm login password', uniqueSecret('npmwrong'));
    assertFailed(
      await wrong.npm(['login', '--auth-type=legacy'], {
        cwd: wrong.root,
        answers: [
          { prompt: /Username:/, reply: 'leaky' },
          { prompt: /Password:/, reply: wrongPassword },
        ],
      }),
    );
    const couch = await call('couch login with a wrong password', 'PUT', `${registry}-/user/org.couchdb.user:leaky`, {
      body: { _id: 'org.couchdb.user:leaky', name: 'leaky', password: wrongPassword, type: 'user', roles: [] },
    });
    assert.equal(couch.status, 401, couch.text);

    // npm with a token that does not exist.
    const forged = remember('forged npm token', `stk_${uniqueSecret('npmforged')}`);
    const stranger = await createSandbox({ label: 'leak-forged', registry, token: forged });
    sandboxes.push(stranger);
    assertFailed(await stranger.npm(['whoami'], { cwd: stranger.root }));
    const packument = await call('packument with a forged token', 'GET', packageUrl(registry, 'leak-probe'), { token: forged });
    assert.equal(packument.status, 401, packument.text);

    // npm logout revokes the login token on the server; using it afterwards fails.
    assertOk(await author.npm(['logout'], { cwd: author.root }));
    const afterLogout = await call('whoami with the logged-out token', 'GET', `${registry}-/whoami`, { token: loginToken });
    assert.equal(afterLogout.status, 401, afterLogout.text);
  });

  it('captured the server log at debug level, requests and rejections included', () => {
    const entries = logLines.map((line) => JSON.parse(line) as { msg?: string; level?: number });
    assert.ok(entries.filter((e) => e.msg === 'request').length >= 20, `request lines: ${logLines.length} lines captured`);
    assert.ok(
      entries.some((e) => e.msg === 'request rejected'),
      'debug lines for rejected requests are captured too',
    );
  });

  it('no log line holds any secret that was issued or sent', () => {
    assert.ok(secrets.size >= 15, `collected ${secrets.size} secrets`);
    const leaks: string[] = [];
    for (const line of logLines) {
      for (const [secret, what] of secrets) if (line.includes(secret)) leaks.push(`${what} in: ${line.slice(0, 300)}`);
    }
    assert.deepEqual(leaks, []);
  });

  it('no error answer echoes a secret', () => {
    assert.ok(errorAnswers.length >= 8, `collected ${errorAnswers.length} error answers`);
    const echoes: string[] = [];
    for (const { what, answer } of errorAnswers) {
      const headers = [...answer.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
      for (const [secret, kind] of secrets) {
        if (answer.text.includes(secret) || headers.includes(secret)) echoes.push(`${what} (${answer.status}) echoes the ${kind}: ${answer.text.slice(0, 300)}`);
      }
    }
    assert.deepEqual(echoes, []);
  });
});
