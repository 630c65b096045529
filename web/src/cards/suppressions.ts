// Suppressed addresses: recipients that do not exist (or whose domain takes no mail), to which
// the account's e-mails are not sent for a while (docs/bounces.md, "Suppression"), each with
// why (the category in the page's language and the receiving server's reply), when it failed,
// until when, and a Remove button. The card reads its list itself, at most every few seconds,
// and draws nothing while the account has no suppressed address.
import { type Suppression } from '../api';
import { openDialog } from '../dialog';
import { h } from '../dom';
import { categoryText, formatDate, formatNumber, t } from '../i18n';
import { redraw, refresh, signedOut, view } from '../state';

const kFreshMs = 5000;

let shown: { account: string; at: number; items: Suppression[]; more: boolean } | null = null;
let loading = false;

async function load(account: string): Promise<void> {
  const api = view.api;
  if (!api || loading) return;
  loading = true;
  try {
    const list = await api.suppressions(account);
    shown = { account, at: Date.now(), items: list.items, more: list.next !== null };
  } catch (e) {
    // Nothing to show (an older daemon, a network error): the card stays away.
    shown = { account, at: Date.now(), items: [], more: false };
    if (signedOut(e)) return;
  } finally {
    loading = false;
  }
  if (account === view.account) redraw();
}

function ask(s: Suppression, button: string): void {
  const api = view.api;
  if (!api) return;
  openDialog(
    {
      title: t('confirmRemoveSuppressionTitle'),
      text: t('confirmRemoveSuppressionText', { address: s.address }),
      run: async () => {
        await api.removeSuppression(view.account, s.address);
        shown = null;
        view.notice = { kind: 'ok', text: t('suppressionRemoved', { address: s.address }) };
        await refresh();
      },
    },
    button,
  );
}

export function suppressionsCard(): HTMLElement | null {
  if (!view.account) return null;
  if (!shown || shown.account !== view.account || Date.now() - shown.at > kFreshMs) {
    void load(view.account);
  }
  if (!shown || shown.account !== view.account || shown.items.length === 0) return null;
  const rows = shown.items.map((s, i) =>
    h(
      'tr',
      { 'data-key': s.address },
      h('td', { 'data-label': t('suppressedAddress'), className: 'wrap' }, s.address),
      h(
        'td',
        { 'data-label': t('suppressedWhy') },
        categoryText(s.category) ?? s.category_text,
        h('br', {}),
        h('span', { className: 'reply' }, s.reply),
      ),
      h('td', { 'data-label': t('suppressedSince') }, formatDate(s.date)),
      h('td', { 'data-label': t('suppressedUntil') }, formatDate(s.until)),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            id: `suppression-remove-${i}`,
            className: 'small',
            'aria-label': t('removeSuppressionOf', { address: s.address }),
            onclick: () => ask(s, `suppression-remove-${i}`),
          },
          t('removeSuppression'),
        ),
      ),
    ),
  );
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, t('suppressedAddress')),
    h('th', { scope: 'col' }, t('suppressedWhy')),
    h('th', { scope: 'col' }, t('suppressedSince')),
    h('th', { scope: 'col' }, t('suppressedUntil')),
    h('th', { scope: 'col' }, h('span', { className: 'visually-hidden' }, t('removeSuppression'))),
  );
  return h(
    'section',
    { className: 'card', id: 'suppressions', 'aria-labelledby': 'suppressions-heading' },
    h(
      'h2',
      { id: 'suppressions-heading' },
      `${t('suppressionsTitle')} (${formatNumber(shown.items.length)}${shown.more ? '+' : ''})`,
    ),
    h('p', {}, t('suppressionsHelp')),
    h('div', { className: 'table-wrap' }, h('table', {}, h('thead', {}, head), h('tbody', {}, rows))),
  );
}
