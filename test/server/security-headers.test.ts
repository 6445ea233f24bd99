/**
 * Every answer carries the security headers, whichever part of the server wrote it: the API,
 * its error handler, the 404 handler, and the npm format's own JSON and tarball answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HSTS_HEADER, SECURITY_HEADERS } from '../../src/http/security-headers.js';
import { http, packageUrl, publishBody, type HttpAnswer } from '../e2e/registry.js';
import { packageTgz } from '../e2e/tarballs.js';
import { type TestServer, startTestServer } from '../helpers/server.js';

function assertSecurityHeaders(answer: HttpAnswer, what: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    assert.equal(answer.headers.get(name), value, `${what} (status ${answer.status}) must carry ${name}: ${value}`);
  }
  // The test server speaks plain http, where HSTS means nothing and must not be promised.
  assert.equal(answer.headers.get(HSTS_HEADER.name), null, `${what} over http must not carry ${HSTS_HEADER.name}`);
}

describe('security headers', () => {
  let server: TestServer;
  let registry: string;
  let tarballUrl: string;

  before(async () => {
    server = await startTestServer();
    registry = await server.createRepo('admin', 'web');
    const pkgJson = { name: 'headed', version: '1.0.0' };
    const put = await http('PUT', packageUrl(registry, 'headed'), { token: server.adminToken, body: publishBody({ registry, pkgJson, tarball: packageTgz(pkgJson) }) });
    assert.ok(put.status < 300, put.text);
    tarballUrl = `${registry}headed/-/headed-1.0.0.tgz`;
  });
  after(() => server.close());

  it('lists the headers an API and registry server should send', () => {
    assert.deepEqual(SECURITY_HEADERS, {
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'cross-origin-resource-policy': 'same-origin',
    });
    assert.equal(HSTS_HEADER.name, 'strict-transport-security');
    assert.match(HSTS_HEADER.value, /^max-age=\d{7,}$/);
  });

  it('on an API JSON answer', async () => {
    const answer = await http('GET', `${server.url}/api/v1/whoami`, { token: server.adminToken });
    assert.equal(answer.status, 200, answer.text);
    assertSecurityHeaders(answer, 'GET /api/v1/whoami');
  });

  it('on a 404 for an unknown endpoint', async () => {
    const answer = await http('GET', `${server.url}/api/v1/no-such-endpoint`);
    assert.equal(answer.status, 404, answer.text);
    assertSecurityHeaders(answer, 'GET /api/v1/no-such-endpoint');
  });

  it('on a 401', async () => {
    const answer = await http('GET', `${server.url}/api/v1/audit`);
    assert.equal(answer.status, 401, answer.text);
    assertSecurityHeaders(answer, 'anonymous GET /api/v1/audit');
  });

  it('on a 400 validation error', async () => {
    const answer = await http('GET', `${server.url}/api/v1/audit?limit=0`, { token: server.adminToken });
    assert.equal(answer.status, 400, answer.text);
    assertSecurityHeaders(answer, 'GET /api/v1/audit?limit=0');
  });

  it('on an npm packument', async () => {
    const answer = await http('GET', packageUrl(registry, 'headed'));
    assert.equal(answer.status, 200, answer.text);
    assert.equal((answer.json as { name?: string } | undefined)?.name, 'headed');
    assertSecurityHeaders(answer, 'npm packument');
  });

  it('on an npm tarball', async () => {
    const answer = await http('GET', tarballUrl);
    assert.equal(answer.status, 200, answer.text);
    assertSecurityHeaders(answer, 'npm tarball');
  });

  it('on a health check', async () => {
    const answer = await http('GET', `${server.url}/healthz`);
    assert.equal(answer.status, 200, answer.text);
    assertSecurityHeaders(answer, 'GET /healthz');
  });
});
