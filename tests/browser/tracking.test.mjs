// The panel's tracking card, "where is my e-mail?": the customer searches by a recipient, the
// list shows each e-mail's status, and History opens one on its attempts with the receiving
// server's reply, in English and Polish, at phone width too. The e-mails go through the real
// drop-in and the daemon's delivery; one attempt the receiving server deferred is written into
// the store's history as a relay's answer would have left it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { Daemon, axe, launch, openPanel, shots, signIn, waitFor } from './harness.mjs';

const daemon = new Daemon({ accounts: [{ name: 'demo', uid: process.getuid() }] });
let browser;
let token;

before(async () => {
  await daemon.start();
  token = await daemon.token('demo');
  browser = await launch();
  daemon.sendmail('demo', 'Order 1001');
  daemon.sendmail('demo', 'Order 1002');
  await waitFor('both delivered', async () => {
    const r = await daemon.api('GET', '/accounts/demo/email/messages?q=buyer@example.net&status=delivered');
    return r.body.items.length === 2;
  });
  // The first attempt of Order 1001 was deferred by the receiving server; it went 5 minutes later.
  // The daemon writes to the store now and then (its heartbeat, its timers): wait for it
  // rather than fail with "database is locked".
  execFileSync('sqlite3', [
    '-cmd', '.timeout 30000',
    path.join(daemon.dir, 'mailwarden.db'),
    `INSERT INTO message_events (message_id, account_id, at_ms, kind, recipient, detail)
     SELECT m.id, m.account_id, m.received_ms + 1, 'deferred', 0,
            '451 4.7.1 <buyer@example.net>: greylisted, try again in 5 minutes'
     FROM messages m WHERE m.subject = 'Order 1001';
     UPDATE message_events SET at_ms = at_ms + 300000 WHERE kind = 'delivered'
       AND message_id = (SELECT id FROM messages WHERE subject = 'Order 1001')`,
  ]);
});

after(async () => {
  await browser?.close();
  await daemon.stop();
});

for (const [lang, locale, title, delivered, deferred] of [
  ['en', 'en-GB', /Where is my e-mail\?/, /Delivered/, /Not accepted yet/],
  ['pl', 'pl-PL', /Gdzie jest mój e-mail\?/, /Dostarczony/, /Jeszcze nieprzyjęty/],
]) {
  test(`search by recipient and open an e-mail's history (${lang})`, async () => {
    const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
    await signIn(page, token);
    await page.locator('#tracking').waitFor();
    assert.match(await page.locator('#tracking-heading').innerText(), title);

    await page.fill('#track-q', 'buyer@example.net');
    await page.click('#track-search');
    await waitFor('two e-mails listed', async () => (await page.locator('#track-list tbody tr').count()) === 2);
    const listed = await page.locator('#track-list').innerText();
    assert.match(listed, /Order 1002[\s\S]*Order 1001/, 'newest first');
    assert.match(listed, delivered);
    await axe(page, `tracking ${lang}`);
    await shots(page, `tracking-${lang}`);

    const row = page.locator('#track-list tbody tr', { hasText: 'Order 1001' });
    await row.locator('button').click();
    await page.locator('#track-history').waitFor();
    const history = await page.locator('#track-history').innerText();
    assert.match(history, /Order 1001/);
    assert.match(history, deferred);
    assert.match(history, /451 4\.7\.1 <buyer@example\.net>: greylisted/);
    assert.match(history, /buyer@example\.net/);
    await axe(page, `tracking history ${lang}`);
    await shots(page, `tracking-history-${lang}`);

    // A search that finds nothing says so.
    await page.fill('#track-q', 'nobody@example.net');
    await page.click('#track-search');
    await page.locator('#track-empty').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });
}
