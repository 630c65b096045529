// The "Email scripts" panel in a real browser (Debian's chromium, driven by playwright-core),
// against the real daemon and the real mailwarden-sendmail.
// Run: node --test tests/browser/panel.test.mjs   (MW_BIN: the folder of the built programs;
// the screenshots of each state are made by customer.test.mjs.)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.MW_BIN ?? path.join(root, 'build/bin');
const panelDir = path.join(root, 'web/dist');
// playwright-core is a dev dependency of the panel: one npm install serves both.
const { chromium } = createRequire(path.join(root, 'web/package.json'))('playwright-core');

const ADMIN = 'browser-test-admin-token';
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

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
      const v = await fn();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class Daemon {
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-browser-'));
    // The socket's folder must be reachable by every uid that submits.
    this.sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-sock-'));
    fs.chmodSync(this.sockDir, 0o755);
    this.socket = path.join(this.sockDir, 'submit.sock');
    this.port = await freePort();
    fs.writeFileSync(path.join(this.dir, 'admin.token'), `${ADMIN}\n`, { mode: 0o600 });
    const uid = process.getuid();
    fs.writeFileSync(
      path.join(this.dir, 'mailwarden.toml'),
      `[store]
url = "sqlite:mailwarden.db"
[submit]
socket = "${this.socket}"
[http]
listen = "127.0.0.1:${this.port}"
admin_token_file = "admin.token"
panel_dir = "${panelDir}"
[delivery]
mode = "maildir"
maildir = "outbox"
[log]
level = "info"
${uid === 0 ? '[daemon]\nuser = "root"  # tests as root: root handles mail only when told so\n' : ''}[[account]]
name = "demo"
uids = [${uid}]
report_to = "owner@example.com"
[[account]]
name = "other"
uids = [${uid === 4243 ? 4244 : 4243}]
report_to = "other@example.com"
`,
    );
    this.logPath = path.join(this.dir, 'daemon.log');
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn(path.join(bin, 'mailwardend'), ['--config', path.join(this.dir, 'mailwarden.toml')], {
      stdio: ['ignore', log, log],
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor('the daemon\'s HTTP API', async () => {
      if (this.proc.exitCode !== null) throw new Error(`mailwardend exited:\n${this.log()}`);
      const r = await fetch(`${this.url}/api/v1/whoami`, { headers: { Authorization: `Bearer ${ADMIN}` } });
      return r.ok;
    });
    return this;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  log() {
    return fs.readFileSync(this.logPath, 'utf8');
  }

  async api(method, p, { token = ADMIN, body } = {}) {
    const r = await fetch(`${this.url}/api/v1${p}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: await r.json() };
  }

  async token(account) {
    const r = await this.api('POST', `/accounts/${account}/tokens`);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.token;
  }

  sendmail(subject) {
    const message = `From: shop@example.com\nTo: buyer@example.net\nSubject: ${subject}\n\nHello.\n`;
    const r = spawnSync(path.join(bin, 'mailwarden-sendmail'), ['-t', '-i'], {
      input: message,
      env: { ...process.env, MAILWARDEN_SOCKET: this.socket },
      timeout: 30000,
    });
    assert.equal(r.status, 0, `sendmail failed: ${r.stderr}`);
  }

  async stop() {
    if (!this.proc) return;
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
    const { code } = await this.exited;
    fs.rmSync(this.sockDir, { recursive: true, force: true });
    if (code !== 0) throw new Error(`mailwardend exited ${code} on SIGTERM:\n${this.log().slice(-4000)}`);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const daemon = new Daemon();
let browser;
let demoToken;
let otherToken;

before(async () => {
  assert.ok(fs.existsSync(path.join(panelDir, 'index.html')), 'build the panel first: npm run build in web/');
  await daemon.start();
  demoToken = await daemon.token('demo');
  otherToken = await daemon.token('other');
  browser = await chromium.launch({
    executablePath: process.env.MW_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  await daemon.stop();
});

async function openPanel({ locale = 'en-GB', viewport = DESKTOP } = {}) {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A refused request (401/403/409) shows in the console as a failed load: that one is expected.
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(daemon.url);
  return { context, page, problems };
}

async function signIn(page, token) {
  await page.fill('#token', token);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#state');
}

// Waits without evaluating code in the page: the panel's CSP forbids eval, as it should.
async function waitText(page, selector, text, timeout = 10000) {
  const exact = (t) => new RegExp(`^${t.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')}$`);
  const hasText = typeof text === 'string' ? exact(text) : text;
  await page.locator(selector, { hasText }).waitFor({ timeout });
}

async function closed(page) {
  await page.waitForSelector('dialog[open]', { state: 'detached' });
}

async function state(page) {
  return page.textContent('#state');
}

async function confirmAction(page, button) {
  await page.click(button);
  await page.waitForSelector('dialog[open]');
  await page.click('#dialog-confirm');
  await closed(page);
}

async function heldCount() {
  const r = await daemon.api('GET', '/accounts/demo/email');
  return r.body.held;
}

// Each test starts with the demo account active and nothing held.
async function resetDemo() {
  const now = await daemon.api('GET', '/accounts/demo/email');
  if (now.body.state === 'blocked') {
    await daemon.api('POST', '/accounts/demo/email/request', { body: { action: 'PURGE' } });
  }
  await waitFor('demo active', async () => (await daemon.api('GET', '/accounts/demo/email')).body.state === 'active');
}

describe('the Email scripts panel', () => {
  beforeEach(resetDemo);

  test('signs in with a token kept out of the URL, and shows the account active', async () => {
    const { context, page, problems } = await openPanel();
    await page.waitForSelector('#sign-in');
    await signIn(page, demoToken);
    assert.equal(await state(page), 'Active');
    assert.equal(await page.textContent('#account-name'), 'demo');
    assert.ok(!page.url().includes(demoToken), 'the token is not in the URL');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mailwarden.token')), demoToken);
    assert.match(await page.textContent('#counter-today'), /daily limit 1,000/);
    assert.ok(await page.isVisible('#chart'));
    // Sign out forgets the token.
    await page.click('#sign-out');
    await page.waitForSelector('#sign-in');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mailwarden.token')), null);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('a token the daemon refuses sends back to sign-in', async () => {
    const { context, page } = await openPanel();
    await page.evaluate(() => sessionStorage.setItem('mailwarden.token', 'not-a-real-token'));
    await page.reload();
    await page.waitForSelector('#sign-in');
    assert.match(await page.textContent('#sign-in-error'), /session has ended/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mailwarden.token')), null);
    await page.fill('#token', 'still-wrong');
    await page.click('#sign-in button[type=submit]');
    await waitText(page, '#sign-in-error', /This token is not valid/);
    await context.close();
  });

  test('purge is disabled while active, with the hint why; block asks, then confirms', async () => {
    const { context, page, problems } = await openPanel();
    await signIn(page, demoToken);
    assert.equal(await page.isDisabled('#action-purge'), true);
    assert.equal(await page.textContent('#action-purge-hint'), 'Block sending first.');
    assert.equal(await page.isDisabled('#action-unblock'), true);
    // Escape closes the dialog, and nothing happens.
    await page.click('#action-block');
    await page.waitForSelector('dialog[open]');
    assert.match(await page.textContent('#dialog-text'), /72 hours/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'dialog-confirm');
    await page.keyboard.press('Escape');
    await closed(page);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'action-block');
    assert.equal(await state(page), 'Active');

    await confirmAction(page, '#action-block');
    await waitText(page, '#state', 'Inactive');
    assert.match(await page.textContent('#notice'), /Sending is blocked/);
    assert.match(await page.textContent('.details'), /Blocked by\s*you/);
    assert.equal(await page.isDisabled('#action-block'), true);
    assert.equal(await page.isEnabled('#action-unblock'), true);
    assert.equal(await page.isEnabled('#action-purge'), true);
    const r = await daemon.api('GET', '/accounts/demo/email');
    assert.equal(r.body.state, 'blocked');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('held mail is listed, chosen mail deleted, then a purge runs and unblocks by itself', async () => {
    await daemon.api('POST', '/accounts/demo/email/request', { token: demoToken, body: { action: 'BLOCK' } });
    for (const s of ['order 1', 'order 2', 'order 3', 'order 4']) daemon.sendmail(s);
    await waitFor('four held', async () => (await heldCount()) === 4);
    const { context, page, problems } = await openPanel();
    await signIn(page, demoToken);
    assert.equal(await state(page), 'Inactive');
    assert.equal(await page.locator('#held tbody tr').count(), 4);
    assert.equal(await page.isDisabled('#held-delete'), true);
    // Delete one chosen message: the other three stay held.
    await page.locator('#held tbody tr', { hasText: 'order 4' }).locator('input[type=checkbox]').check();
    await confirmAction(page, '#held-delete');
    await waitText(page, '#notice', 'Deleted: 1.');
    assert.equal(await page.locator('#held tbody tr').count(), 3);
    assert.equal(await page.textContent('#counter-held .value'), '3');
    assert.equal(await heldCount(), 3);

    // The purge: "Purging" first, then, polled, "Active" with nothing held.
    await page.click('#action-purge');
    await page.waitForSelector('dialog[open]');
    assert.match(await page.textContent('#dialog-text'), /3 held e-mails will be deleted for good/);
    await page.click('#dialog-confirm');
    // The page reads the state again at once, and every two seconds while the purge runs (a
    // purge of three e-mails may well have ended by then).
    await waitText(page, '#state', 'Active', 30000);
    assert.match(await page.textContent('#notice'), /purge has ended/);
    assert.equal(await page.textContent('#counter-held .value'), '0');
    assert.equal(await page.locator('#held').count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('unblock sends the held mail', async () => {
    await daemon.api('POST', '/accounts/demo/email/request', { token: demoToken, body: { action: 'BLOCK' } });
    daemon.sendmail('after the block');
    await waitFor('one held', async () => (await heldCount()) === 1);
    const { context, page } = await openPanel();
    await signIn(page, demoToken);
    assert.equal(await page.isDisabled('#action-block'), true);
    assert.equal(await page.textContent('#action-block-hint'), 'Sending is already blocked.');
    await confirmAction(page, '#action-unblock');
    await waitText(page, '#state', 'Active');
    assert.match(await page.textContent('#notice'), /Sending is unblocked/);
    await waitFor('the held mail sent', async () => (await heldCount()) === 0);
    await context.close();
  });

  test('the buttons and their hints follow the daemon\'s answer: an admin block seen by the customer', async () => {
    await daemon.api('POST', '/accounts/demo/email/request', { body: { action: 'BLOCK' } });
    const seen = (await daemon.api('GET', '/accounts/demo/email', { token: demoToken })).body.actions;
    assert.deepEqual(
      [seen.BLOCK.reason, seen.PURGE.reason, seen.UNBLOCK.reason],
      ['already_blocked_by_admin', 'admin_block', 'admin_block'],
    );
    const { context, page, problems } = await openPanel({ locale: 'pl-PL' });
    await signIn(page, demoToken);
    assert.equal(await state(page), 'Nieaktywny');
    for (const id of ['#action-block', '#action-purge', '#action-unblock']) {
      assert.equal(await page.isDisabled(id), true, id);
    }
    const adminBlockPl = 'Zablokowane przez administratora. Tylko administrator może zdjąć tę blokadę.';
    assert.equal(await page.textContent('#action-unblock-hint'), adminBlockPl);
    assert.equal(await page.textContent('#action-purge-hint'), adminBlockPl);
    assert.equal(await page.textContent('#action-block-hint'), 'Wysyłka jest już zablokowana przez administratora.');
    await page.selectOption('#lang', 'en');
    assert.equal(
      await page.textContent('#action-unblock-hint'),
      'Blocked by the administrator. Only the administrator can lift this block.',
    );
    assert.equal(await page.textContent('#action-block-hint'), 'Sending is already blocked by the administrator.');
    await context.close();

    // The administrator, on the same block, may purge or unblock: no hint there.
    const admin = await openPanel();
    await signIn(admin.page, ADMIN);
    await admin.page.selectOption('#account', 'demo');
    await admin.page.waitForSelector('#state[data-state=blocked]');
    assert.equal(await admin.page.textContent('#account option:checked'), 'demo');
    assert.equal(await admin.page.isEnabled('#action-unblock'), true);
    assert.equal(await admin.page.isEnabled('#action-purge'), true);
    assert.equal(await admin.page.locator('#action-unblock-hint').count(), 0);
    assert.equal(await admin.page.isDisabled('#action-block'), true);
    assert.deepEqual([...problems, ...admin.problems], []);
    await admin.context.close();
  });

  test('a refusal the panel has no words for is shown in the daemon\'s sentence', async () => {
    const { context, page } = await openPanel({ locale: 'pl-PL' });
    // The daemon's answer, with BLOCK refused for a reason this panel does not know yet.
    await page.route('**/api/v1/accounts/demo/email', async (route) => {
      if (route.request().method() !== 'GET') return route.continue();
      const response = await route.fetch();
      const body = await response.json();
      body.actions.BLOCK = { allowed: false, reason: 'some_new_rule', message: 'A rule the panel does not know.' };
      return route.fulfill({ response, json: body });
    });
    await signIn(page, demoToken);
    assert.equal(await page.isDisabled('#action-block'), true);
    assert.equal(await page.textContent('#action-block-hint'), 'A rule the panel does not know.');
    await context.close();
  });

  test('change recipient checks the address, shows the daemon\'s refusal, then the new address', async () => {
    const { context, page } = await openPanel();
    await signIn(page, demoToken);
    assert.equal(await page.textContent('#report-to'), 'owner@example.com');
    await page.click('#action-recipient');
    await page.waitForSelector('dialog[open]');
    await page.fill('#dialog-input', 'not an address');
    await page.click('#dialog-confirm');
    assert.match(await page.textContent('#dialog-error'), /Enter one e-mail address/);
    assert.equal(await page.getAttribute('#dialog-input', 'aria-invalid'), 'true');
    // One the form lets through and the daemon refuses: its 400 sentence is shown.
    await page.fill('#dialog-input', 'owner@example..com');
    await page.click('#dialog-confirm');
    await waitText(page, '#dialog-error', /cannot receive the reports/);
    assert.match(await page.textContent('#dialog-error'), /^Not done: This address cannot receive the reports\./);
    assert.equal((await daemon.api('GET', '/accounts/demo/email')).body.report_to, 'owner@example.com');
    await page.fill('#dialog-input', 'reports@example.com');
    await page.click('#dialog-confirm');
    await waitText(page, '#report-to', 'reports@example.com');
    assert.match(await page.textContent('#notice'), /now go to reports@example.com/);
    await context.close();
  });

  test('Polish: chosen from the browser language, and switchable', async () => {
    const { context, page } = await openPanel({ locale: 'pl-PL' });
    assert.equal(await page.textContent('#sign-in button[type=submit]'), 'Zaloguj się');
    await signIn(page, demoToken);
    assert.equal(await state(page), 'Aktywny');
    assert.equal(await page.textContent('#action-block'), 'Zablokuj wysyłkę');
    assert.equal(await page.textContent('#action-purge'), 'Wyczyść e-maile');
    assert.equal(await page.textContent('#action-unblock'), 'Odblokuj wysyłkę');
    assert.equal(await page.textContent('#action-recipient'), 'Zmień odbiorcę');
    assert.equal(await page.textContent('#action-purge-hint'), 'Najpierw zablokuj wysyłkę.');
    await page.click('#action-block');
    assert.equal(await page.textContent('#dialog-confirm'), 'Zatwierdź');
    await page.click('#dialog-confirm');
    await waitText(page, '#state', 'Nieaktywny');
    assert.match(await page.textContent('#notice'), /Wysyłka jest zablokowana/);
    await page.selectOption('#lang', 'en');
    assert.equal(await state(page), 'Inactive');
    await page.selectOption('#lang', 'pl');
    assert.equal(await state(page), 'Nieaktywny');
    await daemon.api('POST', '/accounts/demo/email/request', { token: demoToken, body: { action: 'UNBLOCK' } });
    await context.close();
  });

  test('another account\'s token sees its own account only', async () => {
    const { context, page } = await openPanel();
    await signIn(page, otherToken);
    assert.equal(await page.textContent('#account-name'), 'other');
    assert.equal(await page.locator('#account').count(), 0, 'no account picker for a customer');
    assert.ok(!(await page.textContent('main')).includes('owner@example.com'));
    const status = await page.evaluate(async () => {
      const token = sessionStorage.getItem('mailwarden.token');
      const r = await fetch('/api/v1/accounts/demo/email', { headers: { Authorization: `Bearer ${token}` } });
      return r.status;
    });
    assert.equal(status, 403);
    await context.close();
  });

  test('the administrator picks an account', async () => {
    const { context, page } = await openPanel();
    await signIn(page, ADMIN);
    const options = await page.locator('#account option').allTextContents();
    assert.deepEqual(options.sort(), ['demo', 'other']);
    await page.selectOption('#account', 'other');
    await waitText(page, '#report-to', 'other@example.com');
    await context.close();
  });
});
