// What the browser tests share: the real daemon in a temporary folder, Debian's chromium driven
// by playwright-core, and axe-core run in the page.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const bin = process.env.MW_BIN ?? path.join(root, 'build/bin');
export const panelDir = process.env.MW_PANEL_DIR ?? path.join(root, 'web/dist');
export const shotsDir = process.env.MW_SCREENSHOTS ? path.resolve(root, process.env.MW_SCREENSHOTS) : null;
// playwright-core and axe-core are dev dependencies of the panel: one npm install serves all.
const requireWeb = createRequire(path.join(root, 'web/package.json'));
export const { chromium } = requireWeb('playwright-core');
const axeSource = fs.readFileSync(requireWeb.resolve('axe-core/axe.min.js'), 'utf8');

export const ADMIN = 'browser-test-admin-token';
export const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 }, narrow: { width: 320, height: 640 } };

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls fn until it returns something truthy, up to a bounded deadline. */
export async function waitFor(what, fn, timeoutMs = 20000) {
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

/** The real mailwardend; `accounts`: [{name, uid, extra}] where extra is more TOML lines. */
export class Daemon {
  constructor({ policy = '', accounts }) {
    this.policy = policy;
    this.accounts = accounts;
  }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-browser-'));
    // The socket's folder must be reachable by every uid that submits.
    this.sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mw-sock-'));
    fs.chmodSync(this.sockDir, 0o755);
    this.socket = path.join(this.sockDir, 'submit.sock');
    this.port = await freePort();
    fs.writeFileSync(path.join(this.dir, 'admin.token'), `${ADMIN}\n`, { mode: 0o600 });
    const accounts = this.accounts
      .map((a) => `[[account]]\nname = "${a.name}"\nuids = [${a.uid}]\nreport_to = "${a.name}@example.com"\n${a.extra ?? ''}\n`)
      .join('');
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
[policy]
${this.policy}
[log]
level = "info"
${process.getuid() === 0 ? '[daemon]\nuser = "root"  # tests as root: root handles mail only when told so\n' : ''}${accounts}`,
    );
    this.logPath = path.join(this.dir, 'daemon.log');
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn(path.join(bin, 'mailwardend'), ['--config', path.join(this.dir, 'mailwarden.toml')], {
      stdio: ['ignore', log, log],
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor("the daemon's HTTP API", async () => {
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

  async status(account) {
    return (await this.api('GET', `/accounts/${account}/email`)).body;
  }

  /** One message through the real drop-in, as the uid of `account`. */
  sendmail(account, subject, from = 'shop@example.com') {
    const a = this.accounts.find((x) => x.name === account);
    const message = `From: ${from}\nTo: buyer@example.net\nSubject: ${subject}\nX-PHP-Originating-Script: ${a.uid}:order.php\n\nHello.\n`;
    const r = spawnSync(path.join(bin, 'mailwarden-sendmail'), ['-t', '-i'], {
      input: message,
      env: { ...process.env, MAILWARDEN_SOCKET: this.socket },
      timeout: 30000,
      ...(a.uid !== process.getuid() ? { uid: a.uid, gid: a.uid } : {}),
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

export async function launch() {
  return chromium.launch({
    executablePath: process.env.MW_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A page of the panel in its own context; `problems` collects page errors. */
export async function openPanel(browser, url, { locale = 'en-GB', viewport = WIDTHS.desktop } = {}) {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A refused request shows in the console as a failed load: that one is expected.
    if (m.type() === 'error' && !/status of (4\d\d|50\d)|ERR_FAILED|ERR_CONNECTION/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  await page.goto(url);
  return { context, page, problems };
}

export async function signIn(page, token) {
  await page.fill('#token', token);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#state');
}

/** axe-core's check of the page as it is: the serious and critical violations. */
export async function axe(page, what) {
  // Injected through the DevTools protocol: the panel's CSP forbids inline scripts.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Runtime.evaluate', { expression: axeSource });
  const { result } = await cdp.send('Runtime.evaluate', {
    expression: `axe.run(document, { resultTypes: ['violations'], rules: { 'target-size': { enabled: true } } }).then((r) => JSON.stringify(r.violations))`,
    awaitPromise: true,
    returnByValue: true,
  });
  await cdp.detach();
  const violations = JSON.parse(result.value).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const told = violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(told, [], `axe on ${what}`);
}

/** The accessible description of the element that has the focus, as chromium computes it. */
export async function focusedDescription(page) {
  const cdp = await page.context().newCDPSession(page);
  const { result } = await cdp.send('Runtime.evaluate', { expression: 'document.activeElement' });
  const { node } = await cdp.send('DOM.describeNode', { objectId: result.objectId });
  const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { backendNodeId: node.backendNodeId, fetchRelatives: false });
  await cdp.detach();
  const ax = nodes[0];
  return { name: ax?.name?.value ?? '', description: ax?.description?.value ?? '', role: ax?.role?.value ?? '' };
}

/** The page at every width (1280, 390, 320 px): nothing wider than the screen, no serious
 * axe-core violation; with MW_SCREENSHOTS, a picture of each. */
export async function shots(page, name) {
  if (shotsDir) fs.mkdirSync(shotsDir, { recursive: true });
  const before = page.viewportSize();
  for (const [width, viewport] of Object.entries(WIDTHS)) {
    await page.setViewportSize(viewport);
    // The chart follows the new width a frame or two later.
    const wide = () => page.evaluate(() => document.documentElement.scrollWidth);
    await waitFor(`${name} to fit ${viewport.width} px`, async () => (await wide()) <= viewport.width, 15000).catch(() => {});
    const widest = await page.evaluate(() => {
      const w = document.documentElement.clientWidth;
      return [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > w + 1)
        .slice(0, 5)
        .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
    });
    assert.ok((await wide()) <= viewport.width, `${name} at ${viewport.width} px is ${await wide()} px wide: ${widest}`);
    if (viewport.width < 1280) await axe(page, `${name} at ${viewport.width} px`);
    if (!shotsDir) continue;
    await page.waitForTimeout(150); // the chart redraws on resize
    await page.screenshot({ path: path.join(shotsDir, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(before);
}

/** The text a person sees on the page (dialog included). */
export async function visibleText(page) {
  return page.locator('body').innerText();
}
