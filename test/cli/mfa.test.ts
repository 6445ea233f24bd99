import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generate } from 'otplib';
import { systemActor } from '../../src/domain/audit.js';
import { type CliFixture, createCliFixture, errorLine, seed } from './helpers.js';

let cli: CliFixture;
before(async () => {
  cli = await createCliFixture();
  await seed(cli, { users: ['alice', 'bob'], orgs: [['acme', 'alice']] });
  await cli.withDomain((domain) => domain.accounts.setMember(systemActor, { owner: 'acme', user: 'bob', role: 'write' }));
});
after(async () => {
  await cli?.drop();
});

interface Status {
  user: string;
  enabled: boolean;
  pending: boolean;
  confirmedAt: string | null;
  recoveryCodesLeft: number;
}

let recoveryCodes: string[] = [];

test('mfa status of a user without an authenticator', async () => {
  const result = await cli.run(['mfa', 'status', 'alice']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'alice: not enabled\n');
});

test('mfa enroll --code without a started enrollment says what to run first', async () => {
  const result = await cli.run(['mfa', 'enroll', 'alice', '--code', '123456']);
  assert.equal(result.code, 1);
  assert.equal(errorLine(result), 'stockade: no enrollment of alice waits for a code: run `stockade mfa enroll alice` first');
});

test('mfa enroll shows the QR code and secret, then --code confirms and prints the recovery codes once', async () => {
  const started = await cli.run(['mfa', 'enroll', 'alice']);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stderr, /otpauth:\/\/totp\/Stockade:alice\?secret=[A-Z2-7]+&issuer=Stockade&algorithm=SHA1&digits=6&period=30/);
  assert.match(started.stderr, /[▀▄█]/, 'a terminal QR code');
  assert.equal(started.stdout, 'then confirm it with: stockade mfa enroll alice --code <code from the app>\n');

  // The JSON form carries the secret, which is how a script (or this test) gets at the code.
  const again = await cli.run(['mfa', 'enroll', 'alice', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const enrollment = JSON.parse(again.stdout) as { user: string; pending: boolean; secret: string; uri: string };
  assert.equal(enrollment.pending, true);
  assert.equal(again.stderr, '', 'no QR code in JSON mode');

  const confirmed = await cli.run(['mfa', 'enroll', 'alice', '--code', await generate({ secret: enrollment.secret }), '--json']);
  assert.equal(confirmed.code, 0, confirmed.stderr);
  const body = JSON.parse(confirmed.stdout) as { user: string; enabled: boolean; recoveryCodes: string[] };
  assert.equal(body.enabled, true);
  assert.equal(body.recoveryCodes.length, 10);
  recoveryCodes = body.recoveryCodes;

  const status = await cli.run(['mfa', 'status', 'alice', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const parsed = JSON.parse(status.stdout) as Status;
  assert.equal(parsed.user, 'alice');
  assert.equal(parsed.enabled, true);
  assert.equal(parsed.pending, false);
  assert.equal(parsed.recoveryCodesLeft, 10);
  assert.match(parsed.confirmedAt ?? '', /^\d{4}-\d\d-\d\dT/);
});

test('mfa require and noncompliant list the members without an authenticator', async () => {
  const required = await cli.run(['mfa', 'require', 'acme']);
  assert.equal(required.code, 0, required.stderr);
  assert.equal(required.stdout, 'acme now requires two-factor authentication; 1 member(s) without it: bob\n');
  const listed = await cli.run(['mfa', 'noncompliant', 'acme', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(JSON.parse(listed.stdout), [{ user: 'bob', role: 'write' }]);
  const owner = await cli.withDomain(async (domain) => domain.mfa.getOwnerRequirement('acme'));
  assert.equal(owner, true);
  const off = await cli.run(['mfa', 'require', 'acme', '--off', '--json']);
  assert.equal(off.code, 0, off.stderr);
  assert.equal((JSON.parse(off.stdout) as { required: boolean }).required, false);
  assert.equal(errorLine(await cli.run(['mfa', 'require', 'nope'])), 'stockade: owner nope not found');
});

test('mfa disable needs a valid code; a recovery code does', async () => {
  const wrong = await cli.run(['mfa', 'disable', 'alice', '--code', 'aaaa-bbbb-cccc']);
  assert.equal(wrong.code, 1);
  assert.equal(errorLine(wrong), 'stockade: the one-time password is wrong, expired or already used: wait for the next code from your authenticator app');
  const missing = await cli.run(['mfa', 'disable', 'alice']);
  assert.equal(missing.code, 2);
  const disabled = await cli.run(['mfa', 'disable', 'alice', '--code', recoveryCodes[0]!]);
  assert.equal(disabled.code, 0, disabled.stderr);
  assert.equal(disabled.stdout, 'two-factor authentication is off for alice\n');
});

test('mfa reset removes an authenticator without a code', async () => {
  const started = JSON.parse((await cli.run(['mfa', 'enroll', 'bob', '--json'])).stdout) as { secret: string };
  assert.equal((await cli.run(['mfa', 'enroll', 'bob', '--code', await generate({ secret: started.secret })])).code, 0);
  const reset = await cli.run(['mfa', 'reset', 'bob', '--json']);
  assert.equal(reset.code, 0, reset.stderr);
  assert.deepEqual(JSON.parse(reset.stdout), { user: 'bob', enabled: false });
  const status = await cli.withDomain(async (domain) => domain.mfa.status((await domain.accounts.getUser('bob'))!.id));
  assert.equal(status.enabled, false);
  const audited = await cli.withDomain((domain) => domain.audit.query(domain.db, { action: 'mfa.reset', target: 'user:bob' }));
  assert.equal(audited.length, 1);
  assert.match(audited[0]!.actor, /^cli:/);
});
