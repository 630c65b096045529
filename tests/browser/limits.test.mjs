// The panel's limits card: each effective limit and where it comes from (the account, its
// plan, the server), in English and Polish, against a real daemon with a [[plan]].
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.MW_BIN ?? path.join(root, 'build/bin');
const panelDir = path.join(root, 'web/dist');
const { chromium } = createRequire(path.join(root, 'web/package.json'))('playwright-core');
const ADMIN = 'browser-limits-admin-token';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let proc;
let dir;
let url;
let browser;
let token;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-limits-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  fs.writeFileSync(path.join(dir, 'admin.token'), `${ADMIN}\n`, { mode: 0o600 });
  fs.writeFileSync(
    path.join(dir, 'mailwarden.toml'),
    `[store]
url = "sqlite:mailwarden.db"
[submit]
socket = "${path.join(dir, 'submit.sock')}"
[http]
listen = "127.0.0.1:${port}"
admin_token_file = "admin.token"
panel_dir = "${panelDir}"
[delivery]
mode = "maildir"
maildir = "outbox"
${process.getuid() === 0 ? '[daemon]\nuser = "root"\n' : ''}[[plan]]
name = "small"
max_per_day = 200
max_recipients = 10
[[account]]
name = "demo"
uids = [${process.getuid()}]
report_to = "owner@example.com"
plan = "small"
`,
  );
  const log = fs.openSync(path.join(dir, 'daemon.log'), 'a');
  proc = spawn(path.join(bin, 'mailwardend'), ['--config', path.join(dir, 'mailwarden.toml')], {
    stdio: ['ignore', log, log],
  });
  const headers = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };
  await waitFor('the API', async () => (await fetch(`${url}/api/v1/whoami`, { headers })).ok);
  const patched = await fetch(`${url}/api/v1/accounts/demo`, {
    method: 'PATCH',
    headers,
    body: JSON.stringify({ limits: { max_per_hour: 50 } }),
  });
  assert.equal(patched.status, 200);
  token = (await (await fetch(`${url}/api/v1/accounts/demo/tokens`, { method: 'POST', headers })).json()).token;
  browser = await chromium.launch({
    executablePath: process.env.MW_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  proc?.kill('SIGTERM');
});

async function limitsIn(locale) {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('#token', token);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#limits-heading');
  const rows = await page.$$eval('#limits tbody tr', (trs) =>
    trs.map((tr) => [tr.id, tr.dataset.source, ...[...tr.cells].map((c) => c.textContent)]),
  );
  const plan = await page.textContent('#limits-plan');
  await context.close();
  return { rows, plan };
}

test('the limits card shows each effective limit and where it comes from', async () => {
  const { rows, plan } = await limitsIn('en-GB');
  assert.equal(plan, 'Plan: small');
  const byId = Object.fromEntries(rows.map((r) => [r[0], r]));
  assert.deepEqual(byId['limit-max_per_hour'].slice(1), ['account', 'E-mails an hour', '50', 'this account']);
  assert.deepEqual(byId['limit-max_per_day'].slice(1), ['plan', 'E-mails a day', '200', 'the plan']);
  assert.deepEqual(byId['limit-max_recipients'].slice(1, 2), ['plan']);
  assert.deepEqual(byId['limit-over_limit'].slice(1), ['server', 'Past a limit', 'e-mails wait', 'the server']);
  assert.equal(byId['limit-warn_at'][3], '80%');
  assert.deepEqual(byId['limit-suppress_for'].slice(1), [
    'server', 'Addresses that do not exist are not sent to for', '30 days', 'the server']);
});

test('the limits card speaks Polish', async () => {
  const { rows } = await limitsIn('pl-PL');
  const byId = Object.fromEntries(rows.map((r) => [r[0], r]));
  assert.deepEqual(byId['limit-max_per_day'].slice(2), ['E-maile na dzień', '200', 'plan']);
  assert.deepEqual(byId['limit-suppress_for'].slice(2, 4), ['Nieistniejące adresy są pomijane przez', '30 dni']);
});
