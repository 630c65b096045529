// The panel's Suppressed addresses card: the account's suppressed recipients with why, since
// and until when, in English and Polish, and its Remove button lifting one (DELETE
// .../email/suppressions/{address}) against a real daemon. The suppressions are written into
// the daemon's store as a bounce would have left them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Daemon, axe, launch, openPanel, shots, signIn, waitFor } from './harness.mjs';

const daemon = new Daemon({ accounts: [{ name: 'demo', uid: process.getuid() }] });
let browser;
let token;

function suppress(address, category, status, reply) {
  const now = Date.now();
  const until = now + 30 * 86400 * 1000;
  const q = (s) => `'${s.replaceAll("'", "''")}'`;
  // The daemon writes to the store now and then (its heartbeat, its timers): wait for it
  // rather than fail with "database is locked".
  execFileSync('sqlite3', [
    '-cmd', '.timeout 30000',
    path.join(daemon.dir, 'mailwarden.db'),
    `INSERT INTO suppressions (account_id, address, category, status, reply, message_id, at_ms, until_ms)
     SELECT id, ${q(address)}, ${q(category)}, ${q(status)}, ${q(reply)}, 1, ${now}, ${until}
     FROM accounts WHERE name = 'demo'`,
  ]);
}

before(async () => {
  await daemon.start();
  token = await daemon.token('demo');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await daemon.stop();
});

for (const [lang, locale, title, removed] of [
  ['en', 'en-GB', /Suppressed addresses \(2\)/, /will be sent again/],
  ['pl', 'pl-PL', /Wstrzymane adresy \(2\)/, /będą znów wysyłane/],
]) {
  test(`the Suppressed addresses card lists them and Remove lifts one (${lang})`, async () => {
    suppress('gone@example.net', 'bad_mailbox', '5.1.1',
      '5.1.1 smtp; 550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown in local recipient table (reported by relay.example.net)');
    suppress('someone@nowhere.example', 'bad_domain', '5.1.2', '550 5.1.2 Host or domain name not found');
    const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
    await signIn(page, token);
    await waitFor('the suppressions card', async () => (await page.locator('#suppressions').count()) > 0);
    const card = page.locator('#suppressions');
    assert.match(await card.innerText(), title);
    const text = await card.innerText();
    assert.match(text, /gone@example\.net/);
    assert.match(text, /someone@nowhere\.example/);
    assert.match(text, /User unknown in local recipient table/);
    await axe(page, `suppressions ${lang}`);
    await shots(page, `suppressions-${lang}`);

    await page.click('#suppression-remove-0');
    await page.waitForSelector('dialog[open]');
    await page.click('#dialog-confirm');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
    await page.locator('#notice', { hasText: removed }).waitFor();
    await waitFor('one address left', async () => (await page.locator('#suppressions tbody tr').count()) === 1);
    assert.doesNotMatch(await page.locator('#suppressions').innerText(), /gone@example\.net/);
    const listed = await daemon.api('GET', '/accounts/demo/email/suppressions');
    assert.deepEqual(listed.body.items.map((s) => s.address), ['someone@nowhere.example']);
    await shots(page, `suppressions-removed-${lang}`);
    assert.deepEqual(problems, []);
    await context.close();
    // The other one, for the next language's run.
    await daemon.api('DELETE', '/accounts/demo/email/suppressions/someone@nowhere.example');
  });
}
