// The administrator's overview of accounts in Debian's chromium against the real daemon: many
// accounts paged by the daemon, sorted by any figure (its column's heading), searched and filtered, several blocked
// at once with a reason, and a row opening the account's tab; in English and Polish, at every
// width, checked by axe-core. Run: node --test tests/browser/overview.test.mjs (MW_BIN: the
// built programs; MW_SCREENSHOTS=DIR saves the overview at 1280, 390 and 320 px).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ADMIN, Daemon, launch, openPanel, panelDir, shots, signIn, waitFor } from './harness.mjs';

const root = process.getuid() === 0;
const me = process.getuid();
// As root the drop-in runs as each account's own uid; otherwise only "demo" sends.
const daemon = new Daemon({
  // Above every account's sends here but the flood of the fleet summary's test.
  policy: 'spam_per_hour = 5',
  accounts: [
    { name: 'demo', uid: me },
    { name: 'busy', uid: root ? 4311 : 4311 },
    { name: 'quiet', uid: root ? 4312 : 4312 },
  ],
});
let browser;

before(async () => {
  assert.ok(fs.existsSync(path.join(panelDir, 'index.html')), 'build the panel first: npm run build in web/');
  await daemon.start();
  // 120 more accounts: three pages of 50.
  const rows = Array.from({ length: 120 }, (_, i) => ({ name: `shop${String(i).padStart(3, '0')}`, report_to: `owner${i}@example.com` }));
  const imported = await daemon.api('POST', '/accounts:import', { body: { accounts: rows } });
  assert.equal(imported.status, 200, JSON.stringify(imported.body));
  assert.equal(imported.body.created, 120);
  const sends = root ? { busy: 4, demo: 2, quiet: 1 } : { demo: 2 };
  for (const [account, n] of Object.entries(sends)) {
    for (let i = 0; i < n; ++i) daemon.sendmail(account, `${account} order ${i}`);
  }
  await waitFor('the mail sent', async () => {
    for (const [account, n] of Object.entries(sends)) {
      if ((await daemon.status(account)).sent_today !== n) return false;
    }
    return true;
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await daemon.stop();
});

const names = (page) => page.$$eval('#ov-table tbody tr', (rows) => rows.map((r) => r.getAttribute('data-account')));

async function openOverview(locale) {
  const opened = await openPanel(browser, daemon.url, { locale });
  await signIn(opened.page, ADMIN);
  await opened.page.click('#open-overview');
  await opened.page.waitForSelector('#ov-table');
  return opened;
}

test('the overview pages, sorts, searches and filters as the daemon does', async () => {
  const { context, page, problems } = await openOverview('en-GB');
  assert.equal(await page.textContent('#overview-heading'), 'All accounts');

  // Page by page, by name: 123 accounts in pages of 50, each on exactly one page.
  const seen = [];
  seen.push(...(await names(page)));
  assert.equal(seen.length, 50);
  assert.equal(await page.isDisabled('#ov-prev'), true);
  for (const expected of [50, 23]) {
    const first = seen[seen.length - 1];
    await page.click('#ov-next');
    await waitFor('the next page', async () => (await names(page))[0] > first);
    const shown = await names(page);
    assert.equal(shown.length, expected);
    seen.push(...shown);
  }
  assert.equal(await page.isDisabled('#ov-next'), true);
  assert.match(await page.textContent('#ov-page'), /Page 3/);
  assert.deepEqual(seen, [...seen].sort());
  assert.equal(new Set(seen).size, 123);
  await page.click('#ov-prev');
  await page.waitForSelector('#ov-page:has-text("Page 2")');

  // Most sent today first; the row shows the day's figures.
  await page.selectOption('#ov-sort', 'sent_today');
  const busiest = root ? ['busy', 'demo', 'quiet'] : ['demo'];
  await waitFor('the busiest first', async () => JSON.stringify(await names(page)) === JSON.stringify(busiest));
  const first = page.locator(`#ov-table tr[data-account="${busiest[0]}"]`);
  assert.match(await first.textContent(), new RegExp(`Active.*${root ? 4 : 2}`));
  assert.equal(await page.isDisabled('#ov-prev'), true, 'a new order starts at its first page');

  // A column's heading sorts by its figure: nobody failed today, so nobody has a failure rate.
  await page.click('#ov-sort-error_rate');
  await page.waitForSelector('#ov-empty');
  assert.equal(await page.inputValue('#ov-sort'), 'error_rate');
  // The mail submitted in the last hours, most first, marked on its heading.
  await page.selectOption('#ov-sort', 'submitted_recently');
  await waitFor('the recent senders first', async () => JSON.stringify(await names(page)) === JSON.stringify(busiest));
  assert.equal(await page.getAttribute('th:has(#ov-sort-submitted_recently)', 'aria-sort'), 'descending');
  assert.equal(await page.getAttribute('th:has(#ov-sort-sent_today)', 'aria-sort'), null);
  // Back to every account by name, from its heading.
  await page.click('#ov-sort-name');
  await waitFor('every account by name', async () => (await names(page)).length === 50);
  assert.equal((await names(page))[0], root ? 'busy' : 'demo');

  // A part of the name.
  await page.selectOption('#ov-sort', 'name');
  await page.fill('#ov-q', 'shop11');
  await page.click('#ov-search');
  await waitFor('the search', async () => (await names(page)).length === 10);
  assert.deepEqual(await names(page), Array.from({ length: 10 }, (_, i) => `shop11${i}`));
  await page.fill('#ov-q', 'no-such-account');
  await page.click('#ov-search');
  await page.waitForSelector('#ov-empty');
  assert.deepEqual(problems, []);
  await context.close();
});

test('several accounts blocked at once with a reason; a row opens the account', async () => {
  const { context, page, problems } = await openOverview('en-GB');
  await page.fill('#ov-q', 'shop00');
  await page.click('#ov-search');
  await waitFor('the search', async () => (await names(page)).length === 10);
  assert.equal(await page.getAttribute('#ov-block', 'aria-disabled'), 'true', 'nothing chosen yet');
  await page.check('#ov-check-shop003');
  await page.check('#ov-check-shop007');
  assert.match(await page.textContent('#ov-block'), /Block 2 chosen accounts/);
  await page.click('#ov-block');
  await page.waitForSelector('dialog[open]');
  assert.match(await page.textContent('#dialog-title'), /Block sending of 2 accounts\?/);
  await page.click('#dialog-confirm');
  assert.match(await page.textContent('#dialog-error'), /Give a reason/);
  await page.fill('#dialog-input', 'Hacked site: a phishing run, ticket 4711');
  await page.click('#dialog-confirm');
  await page.waitForSelector('dialog[open]', { state: 'detached' });
  assert.match(await page.textContent('#notice'), /2 accounts blocked\./);
  for (const name of ['shop003', 'shop007']) {
    const s = await daemon.status(name);
    assert.equal(s.state, 'blocked');
    assert.equal(s.blocked_by, 'admin');
    assert.equal(s.reason, 'Hacked site: a phishing run, ticket 4711');
  }
  assert.equal((await daemon.status('shop004')).state, 'active', 'only the chosen ones');

  // Blocked by the administrator, whatever the name.
  await page.fill('#ov-q', '');
  await page.click('#ov-search');
  await page.selectOption('#ov-state', 'blocked');
  await page.selectOption('#ov-blocker', 'admin');
  await waitFor('the filter', async () => JSON.stringify(await names(page)) === '["shop003","shop007"]');
  assert.match(await page.locator('#ov-table tr[data-account="shop003"]').textContent(), /Blocked by the administrator/);
  await shots(page, 'overview-en');

  // The row opens the account's own tab, with the reason given.
  await page.click('#ov-open-shop007');
  await page.waitForSelector('#state[data-state="blocked"]');
  assert.equal(await page.inputValue('#account'), 'shop007');
  assert.match(await page.textContent('#block-reason'), /ticket 4711/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('in Polish', async () => {
  const { context, page, problems } = await openOverview('pl-PL');
  assert.equal(await page.textContent('#overview-heading'), 'Wszystkie konta');
  await page.selectOption('#ov-state', 'blocked');
  await waitFor('the filter', async () => (await names(page)).length === 2);
  assert.match(await page.locator('#ov-table tr[data-account="shop003"]').textContent(), /Zablokował: administrator/);
  assert.match(await page.textContent('#ov-page'), /Strona 1/);
  await page.check('#ov-check-shop003');
  assert.match(await page.textContent('#ov-block'), /Zablokuj 1 wybrane konto/);
  await shots(page, 'overview-pl');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the fleet summary: accounts per state, a guard block, the busiest, the server', async () => {
  // A hacked site floods: its guard blocks it (the drop-in runs as its uid only as root).
  const created = await daemon.api('POST', '/accounts', { body: { name: 'flood', uids: [4313], report_to: 'flood@example.com' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  daemon.accounts.push({ name: 'flood', uid: 4313 });
  if (root) {
    for (let i = 0; i < 6; ++i) daemon.sendmail('flood', `cheap pills ${i}`);
    await waitFor('the spam guard', async () => (await daemon.status('flood')).blocked_by === 'spam_guard');
  }
  const { context, page, problems } = await openOverview('en-GB');
  await page.waitForSelector('#fleet');
  assert.equal(await page.textContent('#fleet-heading'), 'Summary');
  assert.match(await page.textContent('#fleet-accounts'), /Accounts\s*124/);
  const blocked = root ? 3 : 2; // shop003 and shop007 by the administrator, the flood by its guard
  assert.match(await page.textContent('#fleet-blocked'), new RegExp(`Inactive\\s*${blocked}`));
  assert.match(await page.textContent('#fleet-blocked'), /the administrator: 2/);
  assert.match(await page.textContent('#fleet-nodes'), /running, last seen/);
  if (root) {
    assert.match(await page.textContent('#fleet-blocks li'), /flood the spam guard/);
    assert.match(await page.textContent('#fleet-blocks li'), /6 messages submitted in the last hour/);
    assert.match(await page.textContent('#fleet-busiest li'), /^flood 6 e-mails since/);
  } else {
    assert.match(await page.textContent('#fleet-blocks'), /No account\./);
  }
  await shots(page, 'overview-fleet-en');
  // From the summary, the account's tab.
  await page.click(`#fleet-busiest li:first-child button`);
  await page.waitForSelector('#status-heading');
  assert.equal(await page.inputValue('#account'), root ? 'flood' : 'demo');
  assert.deepEqual(problems, []);
  await context.close();

  const pl = await openOverview('pl-PL');
  await pl.page.waitForSelector('#fleet');
  assert.equal(await pl.page.textContent('#fleet-heading'), 'Podsumowanie');
  assert.match(await pl.page.textContent('#fleet-nodes'), /działa, ostatnio/);
  if (root) assert.match(await pl.page.textContent('#fleet-blocks li'), /flood ochrona przed spamem/);
  await shots(pl.page, 'overview-fleet-pl');
  assert.deepEqual(pl.problems, []);
  await pl.context.close();
});
