// The panel's Domains card: the account's domains with their DKIM state and the record to
// publish, in English and Polish, against a real daemon whose account lists a domain with a key.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ADMIN, Daemon, axe, bin, launch, openPanel, shots, signIn, waitFor } from './harness.mjs';

const daemon = new Daemon({ accounts: [{ name: 'demo', uid: process.getuid(), extra: 'domains = ["shop.example"]' }] });
let browser;
let token;

before(async () => {
  await daemon.start();
  const tokenFile = path.join(daemon.dir, 'admin.token');
  execFileSync(path.join(bin, 'mailwardenctl'), ['--url', `127.0.0.1:${daemon.port}`, '--token-file', tokenFile,
    'dkim', 'generate', 'shop.example', '--selector', 'mw1', '--algorithm', 'ed25519']);
  token = await daemon.token('demo');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await daemon.stop();
});

for (const [lang, locale, heading] of [['en', 'en-GB', 'shop.example'], ['pl', 'pl-PL', 'shop.example']]) {
  test(`the Domains card shows the domain, its key and the record to publish (${lang})`, async () => {
    const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
    await signIn(page, token);
    await waitFor('the domains card', async () => (await page.locator('#domains').count()) > 0 ||
      (await page.getByText(heading).count()) > 0);
    const text = await page.locator('main').innerText();
    assert.match(text, /shop\.example/);
    assert.match(text, /mw1/);
    assert.match(text, /v=DKIM1; k=ed25519; p=/);
    await axe(page, `domains ${lang}`);
    await shots(page, `domains-${lang}`);
    assert.deepEqual(problems, []);
    await context.close();
  });
}
