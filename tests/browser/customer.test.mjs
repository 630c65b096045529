// The panel as a hosting customer meets it (in English and in Polish), in Debian's chromium
// against the real daemon and the real drop-in: every word in the customer's language, a page
// that follows the daemon's state, why mail waits, and keyboard and screen-reader use, each
// state checked by axe-core. Run: node --test tests/browser/customer.test.mjs (MW_BIN: the
// built programs; MW_SCREENSHOTS=docs/screenshots also saves each state at 1280, 390 and 320 px).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ADMIN, Daemon, axe, focusedDescription, launch, openPanel, panelDir, shots, signIn, visibleText, waitFor } from './harness.mjs';

const root = process.getuid() === 0;
const me = process.getuid();
// As root the drop-in can run as each account's own uid; otherwise only "demo" sends.
const daemon = new Daemon({
  policy: 'spam_per_hour = 5',
  accounts: [
    { name: 'demo', uid: root ? 4303 : me },
    { name: 'shop', uid: root ? 4301 : 4301 },
    { name: 'quota', uid: root ? 4302 : 4302, extra: 'max_per_hour = 2' },
  ],
});
const LANGS = [
  ['en', 'en-GB'],
  ['pl', 'pl-PL'],
];
let browser;
const tokens = {};

before(async () => {
  assert.ok(fs.existsSync(path.join(panelDir, 'index.html')), 'build the panel first: npm run build in web/');
  await daemon.start();
  for (const a of ['demo', 'shop', 'quota']) tokens[a] = await daemon.token(a);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await daemon.stop();
});

async function heldCount(account) {
  return (await daemon.status(account)).held;
}

/** Back to active with nothing held. */
async function reset(account) {
  const s = await daemon.status(account);
  if (s.state === 'blocked') await daemon.api('POST', `/accounts/${account}/email/request`, { body: { action: 'PURGE' } });
  await waitFor(`${account} active`, async () => (await daemon.status(account)).state === 'active');
}

async function block(account) {
  await reset(account);
  const r = await daemon.api('POST', `/accounts/${account}/email/request`, { token: tokens[account], body: { action: 'BLOCK' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** Presses Tab until the element with this id has the focus (at most 40 times). */
async function tabTo(page, id) {
  for (let i = 0; i < 40; ++i) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
  }
  throw new Error(`Tab never reached #${id}`);
}

const focused = (page) => page.evaluate(() => document.activeElement?.id ?? '');

describe('the panel as a customer meets it', () => {
  test('sign-in: a wrong token, an ended session and an unreachable daemon are each told', async () => {
    for (const [lang, locale] of LANGS) {
      const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
      await page.waitForSelector('#sign-in');
      const help = await page.textContent('#sign-in-help');
      assert.doesNotMatch(help, /administrat/i, 'customers are not told of the administrator token');
      assert.match(help, lang === 'en' ? /hosting provider/ : /dostawcy hostingu/);
      await axe(page, `sign-in ${lang}`);
      await shots(page, `sign-in-${lang}`);

      // A wrong token on the first try is a wrong token, not an ended session.
      await page.fill('#token', 'not-a-real-token-at-all');
      await page.click('#sign-in button[type=submit]');
      await page.waitForSelector('#sign-in-error:not(:empty)');
      const wrong = await page.textContent('#sign-in-error');
      assert.match(wrong, lang === 'en' ? /not valid/ : /nieprawidłowy/);
      assert.doesNotMatch(wrong, /again|ponownie/);
      await axe(page, `wrong token ${lang}`);
      await shots(page, `wrong-token-${lang}`);

      // The daemon cannot be reached: said so, with a way to try again. While the new attempt
      // runs (its request held here until told), the last attempt's error is no longer shown.
      let answer;
      const answered = new Promise((resolve) => (answer = resolve));
      await page.route('**/api/v1/**', async (route) => {
        await answered;
        await route.abort('connectionrefused');
      });
      await page.fill('#token', tokens.demo);
      await page.click('#sign-in button[type=submit]');
      assert.equal(await page.textContent('#sign-in-error'), '', 'the wrong token is no longer said while the new attempt runs');
      answer();
      await page.locator('#sign-in-error', { hasText: lang === 'en' ? /cannot be reached/ : /nieosiągalna/ }).waitFor();
      await page.unroute('**/api/v1/**');

      // Signed in, the focus goes to the account's status.
      await signIn(page, tokens.demo);
      assert.equal(await focused(page), 'status-heading');
      assert.match(await page.textContent('#read-at'), lang === 'en' ? /Figures read at \d/ : /Dane odczytano o \d/);

      // Then the daemon goes away: the page says the figures are old and offers to read again.
      await page.route('**/api/v1/**', (route) => route.abort('connectionrefused'));
      await page.evaluate(() => window.dispatchEvent(new Event('focus')));
      await page.waitForSelector('#retry');
      const told = await page.textContent('#notice');
      assert.match(told, lang === 'en' ? /cannot be reached/ : /nieosiągalna/);
      assert.doesNotMatch(told, /Not done|Nie wykonano/, 'a failed read is not a failed action');
      assert.match(await page.textContent('#read-at'), lang === 'en' ? /were read at/ : /odczytano o/);
      await axe(page, `unreachable ${lang}`);
      await shots(page, `unreachable-${lang}`);
      await page.unroute('**/api/v1/**');
      await page.click('#retry');
      await page.waitForSelector('#retry', { state: 'detached' });

      // A session whose token was revoked meanwhile has ended: that is what it says.
      const listed = await daemon.api('GET', '/accounts/demo/tokens');
      const extra = await daemon.token('demo');
      await page.click('#sign-out');
      await signIn(page, extra);
      const after = await daemon.api('GET', '/accounts/demo/tokens');
      const added = after.body.items.find((x) => !listed.body.items.some((y) => y.id === x.id));
      await daemon.api('DELETE', `/accounts/demo/tokens/${added.id}`);
      await page.reload();
      await page.waitForSelector('#sign-in-error:not(:empty)');
      assert.match(await page.textContent('#sign-in-error'), lang === 'en' ? /session has ended/ : /Sesja się zakończyła/);
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  for (const [lang, locale] of LANGS) {
    test(`${lang}: under a spam_guard block the page holds no English sentence and no internal name`, { skip: !root && 'needs root to send as the shop account' }, async () => {
      await reset('shop');
      // A flood: after an earlier block's lift the guard forgets up to one limit's worth, so
      // send until it trips (bounded).
      for (let i = 0; i < 20 && (await daemon.status('shop')).state === 'active'; ++i) {
        daemon.sendmail('shop', `zamówienie ${i}`);
      }
      await waitFor('the spam guard', async () => (await daemon.status('shop')).blocked_by === 'spam_guard');
      const status = await daemon.status('shop');
      assert.equal(status.reason_code, 'spam_flood');
      assert.equal(status.reason_params.limit, 5);
      const submitted = status.reason_params.submitted;
      assert.ok(submitted > 5, JSON.stringify(status));

      const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
      // An expired e-mail in the errors list, as the daemon reports it with its category.
      await page.route('**/api/v1/accounts/shop/email/errors*', (route) =>
        route.fulfill({
          json: {
            items: [{ date: new Date().toISOString(), id: 1, recipient: 'klient@example.net', reply: 'expired: held for longer than policy.hold', subject: 'zamówienie', category: 'expired' }],
            next: null,
          },
        }),
      );
      await signIn(page, tokens.shop);
      assert.equal(await page.getAttribute('#state', 'data-state'), 'blocked');
      const text = await visibleText(page);
      for (const internal of ['spam_guard', 'policy.hold', 'policy.', 'spam_flood', 'by_spam_guard', 'cat_']) {
        assert.ok(!text.includes(internal), `"${internal}" is on the page:\n${text}`);
      }
      // None of the daemon's English sentences: its reason and its refusals.
      const sentences = [status.reason, ...Object.values(status.actions).map((a) => a.message)].filter(Boolean);
      for (const s of sentences) assert.ok(!text.includes(s), `the daemon's sentence "${s}" is on the page`);
      const reason = await page.textContent('#block-reason');
      assert.match(reason, new RegExp(`\\b${submitted}\\b`));
      assert.match(reason, /\b5\b/);
      if (lang === 'pl') {
        assert.doesNotMatch(text, /\b(Sending|blocked|held|e-mails|Purge|Unblock|Not done|expired)\b/, text);
        assert.match(reason, new RegExp(`w ostatniej godzinie Twoje skrypty wysłały ${submitted}, a limit to 5`));
      } else {
        assert.match(reason, new RegExp(`your scripts sent ${submitted} in the last hour, more than the limit of 5`));
      }

      // The Unblock button does not apply, yet Tab reaches it, and its hint is its description.
      await page.focus('#sign-out');
      await tabTo(page, 'action-unblock');
      const ax = await focusedDescription(page);
      assert.equal(ax.description, await page.textContent('#action-unblock-hint'));
      assert.match(ax.description, lang === 'en' ? /flood/ : /zalewie/);
      // Activating it does nothing.
      await page.keyboard.press('Enter');
      assert.equal(await page.locator('dialog[open]').count(), 0);
      await axe(page, `spam block ${lang}`);
      await shots(page, `spam-block-${lang}`);
      assert.deepEqual(problems, []);
      await context.close();
      await reset('shop');
    });
  }

  for (const [lang, locale] of LANGS) {
    test(`${lang}: held mail added after the page opened appears without a reload`, async () => {
      await block('demo');
      const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
      await signIn(page, tokens.demo);
      assert.equal(await page.textContent('#counter-held .value'), '0');
      const stateBefore = await page.locator('#state').elementHandle();
      await page.click('#chart-details summary'); // the chart's table, opened by the reader
      daemon.sendmail('demo', 'spóźnione zamówienie', 'sklep@example.com');
      daemon.sendmail('demo', 'drugie zamówienie', 'sklep@example.com');
      await waitFor('two held', async () => (await heldCount('demo')) === 2);
      if (lang === 'en') {
        // Coming back to the tab reads the figures again.
        await page.evaluate(() => window.dispatchEvent(new Event('focus')));
      }
      // Otherwise the calm interval does (30 seconds).
      await page.locator('#held tbody tr', { hasText: 'spóźnione zamówienie' }).waitFor({ timeout: 45000 });
      assert.equal(await page.textContent('#counter-held .value'), '2');
      // Updated in place: the status badge is the same element as before.
      assert.ok(await stateBefore.evaluate((el) => el.isConnected), 'the page was updated in place, not rebuilt');
      assert.equal(await page.getAttribute('#chart-details', 'open'), '', 'what the reader opened stays open');

      const row = page.locator('#held tbody tr', { hasText: 'spóźnione zamówienie' });
      const cells = await row.locator('td').allTextContents();
      assert.ok(cells.some((c) => c.includes('sklep@example.com')), 'the From column');
      assert.ok(cells.some((c) => /order\.php$/.test(c) && !/\d+:order/.test(c)), `the script without its uid: ${cells}`);
      assert.match(await page.textContent('#held thead'), lang === 'en' ? /Expires/ : /Wygasa/);
      const label = await row.locator('input[type=checkbox]').getAttribute('aria-label');
      assert.match(label, /buyer@example\.net/, 'the row box is labelled with more than the subject');
      assert.match(await page.textContent('#held thead .check'), lang === 'en' ? /Select all 2 shown/ : /Zaznacz wszystkie widoczne \(2\)/);

      // Send selected does not apply until something is chosen; it says so, and Tab reaches it.
      await page.focus('#held-release');
      const ax = await focusedDescription(page);
      assert.match(ax.description, lang === 'en' ? /Choose e-mails/ : /Najpierw zaznacz/);
      await axe(page, `blocked with held mail ${lang}`);
      await shots(page, `blocked-held-${lang}`);

      // Escape closes a dialog and the focus returns to the button that opened it; a destructive
      // dialog opens on Cancel.
      await page.click('#action-purge');
      await page.waitForSelector('dialog[open]');
      assert.equal(await focused(page), 'dialog-cancel');
      assert.match(await page.textContent('#dialog-text'), lang === 'en' ? /2 held e-mails will be deleted/ : /2 wstrzymane e-maile zostaną trwale usunięte/);
      await axe(page, `purge dialog ${lang}`);
      await shots(page, `confirm-purge-${lang}`);
      await page.keyboard.press('Escape');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      assert.equal(await focused(page), 'action-purge');
      const headers = page.locator('#held tbody tr', { hasText: 'drugie' }).locator('button');
      await headers.click();
      await page.waitForSelector('dialog[open]');
      await page.keyboard.press('Escape');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      assert.equal(await focused(page), await headers.getAttribute('id'));

      // Everything with one subject, at once (the API's match).
      await page.selectOption('#held-match', { label: lang === 'en' ? 'Subject: drugie zamówienie' : 'Temat: drugie zamówienie' });
      await page.click('#held-match-delete');
      await page.waitForSelector('dialog[open]');
      await page.click('#dialog-confirm');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      await waitFor('one held', async () => (await page.textContent('#counter-held .value')) === '1');
      assert.equal(await heldCount('demo'), 1);
      assert.deepEqual(problems, []);
      await context.close();
      await reset('demo');
    });
  }

  for (const [lang, locale] of LANGS) {
    test(`${lang}: a purge with nothing held says so`, async () => {
      await block('demo');
      const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
      await signIn(page, tokens.demo);
      await page.click('#action-purge');
      await page.waitForSelector('dialog[open]');
      const text = await page.textContent('#dialog-text');
      assert.match(text, lang === 'en' ? /No e-mails are held, so nothing is deleted/ : /Nie ma wstrzymanych e-maili, więc nic nie zostanie usunięte/);
      assert.doesNotMatch(text, /\(0\)|\b0\b|5-10|5–10|minut/);
      await axe(page, `purge nothing ${lang}`);
      await shots(page, `confirm-purge-none-${lang}`);
      await page.keyboard.press('Escape');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      assert.equal(await focused(page), 'action-purge');
      assert.deepEqual(problems, []);
      await context.close();
      await reset('demo');
    });
  }

  for (const [lang, locale] of LANGS) {
    test(`${lang}: a refusal re-reads the page`, async () => {
      await reset('demo');
      const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
      await signIn(page, tokens.demo);
      assert.equal(await page.getAttribute('#state', 'data-state'), 'active');
      await axe(page, `active ${lang}`);
      await shots(page, `active-${lang}`);
      // The administrator blocks behind the page's back; the customer then asks to block.
      await daemon.api('POST', '/accounts/demo/email/request', { body: { action: 'BLOCK' } });
      await page.click('#action-block');
      await page.waitForSelector('dialog[open]');
      await page.click('#dialog-confirm');
      await page.waitForSelector('#dialog-error:not(:empty)');
      assert.equal(
        await page.textContent('#dialog-error'),
        lang === 'en' ? 'Not done: Sending is already blocked by the administrator.' : 'Nie wykonano: Wysyłka jest już zablokowana przez administratora.',
      );
      // Behind the dialog the page has read the state again.
      await page.waitForSelector('#state[data-state=blocked]');
      assert.match(await page.textContent('.details'), lang === 'en' ? /the administrator/ : /administrator/);
      await page.keyboard.press('Escape');
      await page.waitForSelector('dialog[open]', { state: 'detached' });
      assert.equal(await focused(page), 'action-block');
      await axe(page, `admin block ${lang}`);
      await shots(page, `admin-block-${lang}`);
      assert.deepEqual(problems, []);
      await context.close();
      await reset('demo');
    });
  }

  for (const [lang, locale] of LANGS) {
    test(`${lang}: a reached hourly limit says why mail waits and when it goes on`, { skip: !root && 'needs root to send as the quota account' }, async () => {
      if (lang === 'en') {
        for (let i = 0; i < 3; ++i) daemon.sendmail('quota', `order ${i}`);
      }
      await waitFor('two sent, one waiting', async () => {
        const s = await daemon.status('quota');
        return s.sent === 2 && s.queued === 1 && s.limit_reached === 'hour';
      });
      const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
      await signIn(page, tokens.quota);
      const said = await page.textContent('#limit-reached');
      assert.match(said, lang === 'en' ? /The hourly limit of 2 is reached\. E-mails wait in the queue and go on from \d/ : /Osiągnięto godzinny limit 2\. E-maile czekają w kolejce i zostaną wysłane od \d/);
      assert.match(await page.textContent('#counter-hour'), lang === 'en' ? /2 of an hourly limit of 2/ : /2 z godzinnego limitu 2/);
      assert.match(await page.textContent('#counter-today'), lang === 'en' ? /daily limit 1,000/ : /limit dzienny 1000/);
      await axe(page, `limit reached ${lang}`);
      await shots(page, `limit-reached-${lang}`);
      assert.deepEqual(problems, []);
      await context.close();
    });
  }
  for (const [lang, locale] of LANGS) {
    test(`${lang}: while a purge runs the page is read again in place, and says so when it ends`, async () => {
      await block('demo');
      const { context, page, problems } = await openPanel(browser, daemon.url, { locale });
      // The daemon's purges end within a second here: the answers say "purging" until told.
      let purging = true;
      await page.route('**/api/v1/accounts/demo/email', async (route) => {
        if (route.request().method() !== 'GET' || !purging) return route.continue();
        const response = await route.fetch();
        const body = await response.json();
        Object.assign(body, { state: 'purging', held: 0 });
        for (const a of Object.values(body.actions)) Object.assign(a, { allowed: false, reason: 'purge_running', message: 'A purge is running.' });
        return route.fulfill({ response, json: body });
      });
      await signIn(page, tokens.demo);
      await page.waitForSelector('#state[data-state=purging]');
      assert.match(await page.textContent('#action-unblock-hint'), lang === 'en' ? /A purge is running\. Wait/ : /Trwa czyszczenie\. Poczekaj/);
      assert.doesNotMatch(await page.textContent('#state-text'), /5-10|5–10|minut/);
      await page.focus('#action-unblock');
      const badge = await page.locator('#state').elementHandle();
      await axe(page, `purging ${lang}`);
      await shots(page, `purging-${lang}`);
      // The purge ends: the page says so by itself, and what had the focus still has it.
      await daemon.api('POST', '/accounts/demo/email/request', { token: tokens.demo, body: { action: 'PURGE' } });
      purging = false;
      await page.waitForSelector('#state[data-state=active]', { timeout: 30000 });
      assert.match(await page.textContent('#notice'), lang === 'en' ? /The purge has ended/ : /Czyszczenie zakończone/);
      assert.equal(await focused(page), 'action-unblock');
      assert.ok(await badge.evaluate((el) => el.isConnected), 'updated in place');
      assert.deepEqual(problems, []);
      await context.close();
    });
  }

  test('the administrator picks an account; its state is shown as the customer sees it', async () => {
    await block('demo');
    const { context, page, problems } = await openPanel(browser, daemon.url);
    await signIn(page, ADMIN);
    await page.selectOption('#account', 'demo');
    await page.waitForSelector('#state[data-state=blocked]');
    assert.equal(await page.getAttribute('#action-unblock', 'aria-disabled'), null);
    await axe(page, 'administrator');
    await shots(page, 'admin-picker-en');
    assert.deepEqual(problems, []);
    await context.close();
    await reset('demo');
  });
});
