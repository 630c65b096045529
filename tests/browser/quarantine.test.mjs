// The panel's quarantine card in a real browser (Debian's chromium, driven by playwright-core),
// against the real daemon scanning with a real Rspamd (Debian's), both started here.
// Run: node --test tests/browser/quarantine.test.mjs   (MW_BIN: the folder of the built
// programs; MW_SCREENSHOTS=DIR saves the card in English and Polish.)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
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
const shotsDir = process.env.MW_SCREENSHOTS ? path.resolve(root, process.env.MW_SCREENSHOTS) : null;
const { chromium } = createRequire(path.join(root, 'web/package.json'))('playwright-core');

const ADMIN = 'browser-quarantine-admin-token';
const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

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

async function waitFor(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-quarantine-'));
const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-sock-'));
fs.chmodSync(sockDir, 0o755);
const socket = path.join(sockDir, 'submit.sock');
let rspamd;
let daemon;
let daemonExit;
let browser;
let port;

async function startRspamd() {
  const r = path.join(dir, 'rspamd');
  for (const d of ['override.d', 'local.d', 'db', 'run', 'log']) fs.mkdirSync(path.join(r, d), { recursive: true });
  const normal = await freePort();
  const o = path.join(r, 'override.d');
  fs.writeFileSync(path.join(o, 'worker-normal.inc'), `bind_socket = "127.0.0.1:${normal}";\n`);
  fs.writeFileSync(path.join(o, 'worker-controller.inc'), `bind_socket = "127.0.0.1:${await freePort()}";\n`);
  fs.writeFileSync(path.join(o, 'worker-proxy.inc'), `bind_socket = "127.0.0.1:${await freePort()}";\n`);
  fs.writeFileSync(path.join(o, 'worker-fuzzy.inc'), 'count = 0;\n');
  fs.writeFileSync(path.join(o, 'options.inc'), 'dns { nameserver = ["127.0.0.1:1"]; }\n');
  const log = fs.openSync(path.join(r, 'rspamd.out'), 'a');
  rspamd = spawn('rspamd', ['-f', '-i', '-u', 'root', '-g', 'root', '-c', '/etc/rspamd/rspamd.conf',
    `--var=LOCAL_CONFDIR=${r}`, `--var=DBDIR=${r}/db`, `--var=RUNDIR=${r}/run`, `--var=LOGDIR=${r}/log`],
  { stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${normal}`;
  await waitFor('Rspamd', async () => (await fetch(`${url}/ping`)).ok, 120000);
  return url;
}

async function api(method, p, { token = ADMIN, body } = {}) {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json() };
}

function sendmail(subject, text) {
  const message = `From: shop@example.com\nTo: buyer@example.net\nSubject: ${subject}\n\n${text}\n`;
  const r = spawnSync(path.join(bin, 'mailwarden-sendmail'), ['-t', '-i'], {
    input: message,
    env: { ...process.env, MAILWARDEN_SOCKET: socket },
    timeout: 30000,
  });
  assert.equal(r.status, 0, `sendmail failed: ${r.stderr}`);
}

before(async () => {
  assert.ok(fs.existsSync(path.join(panelDir, 'index.html')), 'build the panel first: npm run build in web/');
  const rspamdUrl = await startRspamd();
  port = await freePort();
  fs.writeFileSync(path.join(dir, 'admin.token'), `${ADMIN}\n`, { mode: 0o600 });
  const uid = process.getuid();
  // on_error "hold": a cold Rspamd on a busy machine may take longer than a scan's timeout for
  // its first verdicts, and the test is about the verdict, so mail waits for it.
  fs.writeFileSync(
    path.join(dir, 'mailwarden.toml'),
    `[store]
url = "sqlite:mailwarden.db"
[submit]
socket = "${socket}"
[http]
listen = "127.0.0.1:${port}"
admin_token_file = "admin.token"
panel_dir = "${panelDir}"
[delivery]
mode = "maildir"
maildir = "outbox"
[scan]
rspamd = "${rspamdUrl}"
timeout = "60s"
on_error = "hold"
${uid === 0 ? '[daemon]\nuser = "root"\n' : ''}[[account]]
name = "demo"
uids = [${uid}]
report_to = "owner@example.com"
`,
  );
  const log = fs.openSync(path.join(dir, 'daemon.log'), 'a');
  daemon = spawn(path.join(bin, 'mailwardend'), ['--config', path.join(dir, 'mailwarden.toml')], { stdio: ['ignore', log, log] });
  daemonExit = new Promise((resolve) => daemon.once('exit', (code) => resolve(code)));
  await waitFor('the daemon', async () => (await api('GET', '/whoami')).status === 200);
  browser = await chromium.launch({
    executablePath: process.env.MW_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM');
  if (daemon) assert.equal(await daemonExit, 0);
  if (rspamd && rspamd.exitCode === null) {
    // Its workers still write into its folder while they stop: the folder goes after them.
    const gone = new Promise((resolve) => rspamd.once('exit', resolve));
    rspamd.kill('SIGTERM');
    const killer = setTimeout(() => rspamd.kill('SIGKILL'), 10000);
    await gone;
    clearTimeout(killer);
  }
  fs.rmSync(sockDir, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

async function openAs(token, locale) {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}`);
  await page.fill('#token', token);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#state');
  return { context, page };
}

async function shot(page, name) {
  if (!shotsDir) return;
  fs.mkdirSync(shotsDir, { recursive: true });
  await page.locator('#quarantine').screenshot({ path: path.join(shotsDir, `${name}.png`) });
}

test('quarantined mail shows with its score and symbols; a customer cannot send it, the admin can', async () => {
  sendmail('Your PayPal account is locked', GTUBE);
  sendmail('Order 17 shipped', 'Your order has shipped.');
  const items = await waitFor('the message in quarantine', async () => {
    const r = await api('GET', '/accounts/demo/email/messages?status=quarantined');
    return r.body.items.length === 1 && r.body.items;
  }, 180000);
  const token = (await api('POST', '/accounts/demo/tokens')).body.token;

  // The customer, in English: the card, the verdict, and a refused release.
  let { context, page } = await openAs(token, 'en-GB');
  await page.waitForSelector('#quarantine');
  const row = page.locator(`#quarantine tr[data-id="${items[0].id}"]`);
  assert.match(await row.textContent(), /Your PayPal account is locked/);
  assert.match(await row.locator('.verdict').textContent(), /^spam score 15\.0: GTUBE$/);
  await shot(page, 'quarantine-en');
  await page.click(`#quarantine-release-${items[0].id}`);
  await page.waitForSelector('dialog[open]');
  await page.click('#dialog-confirm');
  await page.locator('#dialog-error', { hasText: /Only your hosting provider can send quarantined e-mails/ }).waitFor();
  await page.click('#dialog-cancel');
  await context.close();

  // In Polish.
  ({ context, page } = await openAs(token, 'pl-PL'));
  await page.waitForSelector('#quarantine');
  assert.match(await page.locator('#quarantine .verdict').first().textContent(), /^wynik spamu 15,0: GTUBE$/);
  assert.match(await page.textContent('#quarantine-heading'), /E-maile w kwarantannie \(1\)/);
  await shot(page, 'quarantine-pl');
  await context.close();

  // The administrator sends it anyway: the card goes away.
  ({ context, page } = await openAs(ADMIN, 'en-GB'));
  await page.waitForSelector('#quarantine');
  await page.click(`#quarantine-release-${items[0].id}`);
  await page.waitForSelector('dialog[open]');
  await page.click('#dialog-confirm');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  await page.waitForSelector('#quarantine', { state: 'detached' });
  assert.equal((await api('GET', '/accounts/demo/email/messages?status=quarantined')).body.items.length, 0);
  await context.close();
});
