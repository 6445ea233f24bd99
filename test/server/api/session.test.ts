import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate as generateTotp } from 'otplib';
import { type TestServer, startTestServer } from '../../helpers/server.js';
import { type Answer, type ApiClient, apiClient, assertError, assertStatus } from './api-client.js';

interface LoginBody {
  user: { id: number; name: string };
  csrfToken: string;
  expiresAt: string;
}

/** One parsed Set-Cookie line: the name=value pair and its attributes, lower-cased keys. */
function parseSetCookie(line: string): { name: string; value: string; attributes: Map<string, string> } {
  const [pair = '', ...rest] = line.split(';').map((part) => part.trim());
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const attribute of rest) {
    const at = attribute.indexOf('=');
    attributes.set((at < 0 ? attribute : attribute.slice(0, at)).toLowerCase(), at < 0 ? '' : attribute.slice(at + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

function sessionCookies(answer: Answer<unknown>) {
  return answer.headers.getSetCookie().map(parseSetCookie).filter((c) => c.name === 'stockade_session');
}

/** Asserts the answer tells the browser to drop its session cookie. */
function assertCleared(answer: Answer<unknown>): void {
  const cookies = sessionCookies(answer);
  assert.equal(cookies.length, 1, `one Set-Cookie for the session, got ${JSON.stringify(answer.headers.getSetCookie())}`);
  assert.equal(cookies[0]!.value, '');
  assert.equal(cookies[0]!.attributes.get('max-age'), '0');
}

describe('REST API: browser sessions', () => {
  let server: TestServer;
  let api: ApiClient;
  let alice: { name: string; password: string; token: string; id: number };

  /** A request as a browser makes it: the session cookie, an optional CSRF header, JSON in and out. */
  async function browser<T = unknown>(
    method: string,
    urlPath: string,
    options: { cookie?: string; csrf?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.cookie !== undefined) headers.cookie = `theme=dark; stockade_session=${options.cookie}`;
    if (options.csrf !== undefined) headers['x-csrf-token'] = options.csrf;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.url}/api/v1${urlPath}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    const parsed: unknown = text && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined;
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }

  async function login(name: string, password: string, extra: { cookie?: string } = {}): Promise<{ cookie: string; csrf: string; answer: Answer<LoginBody> }> {
    const answer = await browser<LoginBody>('POST', '/session', { body: { user: name, password }, ...extra });
    assertStatus(answer, 201);
    const cookies = sessionCookies(answer);
    assert.equal(cookies.length, 1);
    return { cookie: cookies[0]!.value, csrf: answer.body.csrfToken, answer };
  }

  before(async () => {
    server = await startTestServer();
    api = apiClient(server);
    alice = await server.createUser('alice');
  });
  after(() => server.close());

  it('logs in with a password and sets an HttpOnly, SameSite=Lax session cookie', async () => {
    const { cookie, csrf, answer } = await login('alice', alice.password);
    assert.equal(answer.body.user.name, 'alice');
    assert.equal(typeof csrf, 'string');
    assert.ok(csrf.length >= 32);
    assert.ok(Date.parse(answer.body.expiresAt) > Date.now());
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    const [set] = sessionCookies(answer);
    assert.equal(Buffer.from(cookie, 'base64url').length, 32);
    assert.equal(set!.attributes.get('httponly'), '');
    assert.equal(set!.attributes.get('samesite'), 'Lax');
    assert.equal(set!.attributes.get('path'), '/');
    assert.equal(set!.attributes.get('max-age'), String(server.config.auth.sessions.absoluteHours * 3600));
    assert.equal(set!.attributes.has('secure'), false, 'plain HTTP: a Secure cookie would never come back');
  });

  it('authenticates GET requests with only the cookie', async () => {
    const { cookie, answer } = await login('alice', alice.password);
    const who = await browser<{ name: string; token: unknown }>('GET', '/whoami', { cookie });
    assertStatus(who, 200);
    assert.equal(who.body.name, 'alice');
    assert.equal(who.body.token, null);

    const session = await browser<{ user: { name: string }; expiresAt: string; createdAt: string }>('GET', '/session', { cookie });
    assertStatus(session, 200);
    assert.equal(session.body.user.name, 'alice');
    assert.equal(session.body.expiresAt, answer.body.expiresAt);
    assert.equal(sessionCookies(session).length, 0, 'a live session keeps its cookie');
  });

  it('refuses unsafe requests of a session without its CSRF token', async () => {
    const { cookie, csrf } = await login('alice', alice.password);
    const other = await login('alice', alice.password);
    const body = { name: 'from the browser', scopes: ['read'] };
    assertError(await browser('POST', '/tokens', { cookie, body }), 403, 'CSRF_FAILED');
    assertError(await browser('POST', '/tokens', { cookie, body, csrf: 'guessed' }), 403, 'CSRF_FAILED');
    assertError(await browser('POST', '/tokens', { cookie, body, csrf: other.csrf }), 403, 'CSRF_FAILED');
    assertError(await browser('PUT', '/users/alice/password', { cookie, body: { password: 'x'.repeat(20), currentPassword: alice.password } }), 403, 'CSRF_FAILED');
    assertError(await browser('DELETE', '/session', { cookie }), 403, 'CSRF_FAILED');
    assertError(await browser('POST', '/session/logout-all', { cookie }), 403, 'CSRF_FAILED');
    // None of the refused requests ended the session.
    assertStatus(await browser('GET', '/whoami', { cookie }), 200);

    const created = await browser<{ name: string }>('POST', '/tokens', { cookie, body, csrf });
    assertStatus(created, 201);
    assert.equal(created.body.name, 'from the browser');
  });

  it('lets a token in the Authorization header win over a cookie, without CSRF', async () => {
    const { cookie } = await login('alice', alice.password);
    const created = await browser('POST', '/tokens', { cookie, body: { name: 'by token', scopes: ['read'] }, headers: { authorization: `Bearer ${alice.token}` } });
    assertStatus(created, 201);
  });

  it('answers 401 to a wrong password and sets no cookie', async () => {
    const answer = await browser('POST', '/session', { body: { user: 'alice', password: 'wrong password!' } });
    assertError(answer, 401, 'INVALID_CREDENTIALS');
    assert.equal(sessionCookies(answer).length, 0);
    assertError(await browser('POST', '/session', { body: { user: 'nobody', password: 'wrong password!' } }), 401, 'INVALID_CREDENTIALS');
    assertError(await browser('POST', '/session', { body: { user: 'alice' } }), 400, 'VALIDATION_FAILED');
  });

  it('answers 401 to GET /session without a session', async () => {
    assertError(await api.get('/session'), 401, 'AUTH_REQUIRED');
    assertError(await api.get('/session', alice.token), 401, 'AUTH_REQUIRED');
  });

  it('logs out: ends the session and clears the cookie', async () => {
    const { cookie, csrf } = await login('alice', alice.password);
    const out = await browser('DELETE', '/session', { cookie, csrf });
    assertStatus(out, 204);
    assertCleared(out);
    const after = await browser('GET', '/whoami', { cookie });
    assertError(after, 401, 'AUTH_REQUIRED');
    assertCleared(after);
    // Logging out again is harmless: the browser only gets its cookie cleared once more.
    const again = await browser('DELETE', '/session', { cookie, csrf });
    assertStatus(again, 204);
    assertCleared(again);
  });

  it('logs out everywhere: every session of the user ends', async () => {
    const laptop = await login('alice', alice.password);
    const phone = await login('alice', alice.password);
    const bob = await server.createUser('bob');
    const bobs = await login('bob', bob.password);
    const answer = await browser('POST', '/session/logout-all', { cookie: laptop.cookie, csrf: laptop.csrf });
    assertStatus(answer, 204);
    assertCleared(answer);
    assertError(await browser('GET', '/whoami', { cookie: phone.cookie }), 401, 'AUTH_REQUIRED');
    assertError(await browser('GET', '/whoami', { cookie: laptop.cookie }), 401, 'AUTH_REQUIRED');
    assertStatus(await browser('GET', '/whoami', { cookie: bobs.cookie }), 200);
    // Tokens are not sessions: they keep working.
    assertStatus(await api.get('/whoami', alice.token), 200);
  });

  it('treats a stale cookie on a public GET as anonymous and clears it', async () => {
    const answer = await browser<{ name: string }>('GET', '/', { cookie: 'c3RhbGUtb3ItZm9yZ2VkLXNlc3Npb24tdmFsdWU' });
    assertStatus(answer, 200);
    assert.equal(answer.body.name, 'stockade');
    assertCleared(answer);
    // An unsafe request with a stale cookie is plainly anonymous: no CSRF error, just 401.
    assertError(await browser('POST', '/tokens', { cookie: 'stale', body: { name: 'x', scopes: ['read'] } }), 401, 'AUTH_REQUIRED');
  });

  it('logs in over a stale or live cookie, replacing the old session', async () => {
    const stale = await login('alice', alice.password, { cookie: 'stale' });
    assert.ok(stale.cookie.length > 0);
    const replacement = await login('alice', alice.password, { cookie: stale.cookie });
    assert.notEqual(replacement.cookie, stale.cookie);
    assertError(await browser('GET', '/whoami', { cookie: stale.cookie }), 401, 'AUTH_REQUIRED');
    assertStatus(await browser('GET', '/whoami', { cookie: replacement.cookie }), 200);
  });

  it('sets a Secure cookie when the request came over HTTPS through a trusted proxy', async () => {
    const proxied = await startTestServer({ server: { trustProxy: true } });
    try {
      const carol = await proxied.createUser('carol');
      const response = await fetch(`${proxied.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
        body: JSON.stringify({ user: 'carol', password: carol.password }),
      });
      assert.equal(response.status, 201);
      const [set] = response.headers.getSetCookie().map(parseSetCookie);
      assert.equal(set?.attributes.has('secure'), true);
    } finally {
      await proxied.close();
    }
  });

  it('asks for the second factor when the user has one', async () => {
    const dave = await server.createUser('dave');
    const actor = { name: 'dave', ip: null };
    const enrollment = await server.domain.mfa.startEnrollment(actor, { id: dave.id, name: 'dave' });
    const { recoveryCodes } = await server.domain.mfa.confirmEnrollment(actor, { id: dave.id, name: 'dave' }, await generateTotp({ secret: enrollment.secret }));

    const missing = await browser('POST', '/session', { body: { user: 'dave', password: dave.password } });
    assertError(missing, 401, 'OTP_REQUIRED');
    assert.match((missing.body as { error: { message: string } }).error.message, /send "otp"/);
    assert.equal(sessionCookies(missing).length, 0);
    assertError(await browser('POST', '/session', { body: { user: 'dave', password: dave.password, otp: '000000x' } }), 401, 'INVALID_OTP');

    const answer = await browser<LoginBody>('POST', '/session', { body: { user: 'dave', password: dave.password, otp: recoveryCodes[0] } });
    assertStatus(answer, 201);
    assert.equal(sessionCookies(answer).length, 1);
  });
});
