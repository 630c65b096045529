// The quarantine: e-mails the content scanner (Rspamd) judged spam, with their score and main
// symbols ("spam score 15.2: PHISHING, GTUBE"), each to send anyway or delete. The daemon
// decides who may send one (a customer only with scan.customer_release); a refusal is told in
// the page's language. The card reads its list itself, at most every few seconds, and draws
// nothing while the account has no quarantined mail.
import { ApiError, type QuarantinedMessage, type ScanVerdict } from '../api';
import { openDialog } from '../dialog';
import { h } from '../dom';
import { formatDate, formatNumber, lang, t } from '../i18n';
import { redraw, refresh, signedOut, view } from '../state';

const kFreshMs = 5000;

let shown: { account: string; at: number; items: QuarantinedMessage[]; more: boolean } | null = null;
let loading = false;

async function load(account: string): Promise<void> {
  const api = view.api;
  if (!api || loading) return;
  loading = true;
  try {
    const list = await api.quarantined(account);
    shown = { account, at: Date.now(), items: list.items, more: list.next !== null };
  } catch (e) {
    // No quarantine to show (an older daemon, a network error): the card stays away.
    shown = { account, at: Date.now(), items: [], more: false };
    if (signedOut(e)) return;
  } finally {
    loading = false;
  }
  if (account === view.account) redraw();
}

/** "spam score 15.2: PHISHING, GTUBE" */
export function verdictText(scan: ScanVerdict | null): string {
  if (!scan || scan.score === undefined) return '–';
  const score = scan.score.toLocaleString(lang === 'pl' ? 'pl-PL' : 'en-GB', {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  const symbols = (scan.symbols ?? []).join(', ');
  return symbols ? t('spamScore', { score, symbols }) : t('spamScoreOnly', { score });
}

function ask(m: QuarantinedMessage, release: boolean): void {
  const api = view.api;
  if (!api) return;
  openDialog(
    {
      title: t(release ? 'confirmQuarantineReleaseTitle' : 'confirmQuarantineDeleteTitle'),
      text: t(release ? 'confirmQuarantineReleaseText' : 'confirmQuarantineDeleteText'),
      run: async () => {
        try {
          if (release) await api.releaseQuarantined(view.account, [m.id]);
          else await api.deleteQuarantined(view.account, [m.id]);
        } catch (e) {
          if (e instanceof ApiError && e.code === 'customer_release_off') {
            throw new ApiError(e.status, e.code, t('quarantineReleaseOff'));
          }
          throw e;
        }
        shown = null;
        view.notice = { kind: 'ok', text: t(release ? 'quarantineReleased' : 'quarantineDeleted') };
        await refresh();
      },
    },
    `quarantine-${release ? 'release' : 'delete'}-${m.id}`,
  );
}

export function quarantineCard(): HTMLElement | null {
  if (!view.account) return null;
  if (!shown || shown.account !== view.account || Date.now() - shown.at > kFreshMs) {
    void load(view.account);
  }
  if (!shown || shown.account !== view.account || shown.items.length === 0) return null;
  const rows = shown.items.map((m) => {
    const subject = m.subject || t('noSubject');
    return h(
      'tr',
      { 'data-id': m.id },
      h('td', { 'data-label': t('date') }, formatDate(m.date)),
      h('td', { 'data-label': t('to') }, m.to.join(', ')),
      h('td', { 'data-label': t('subject') }, subject),
      h('td', { 'data-label': t('verdict'), className: 'verdict' }, verdictText(m.scan)),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            id: `quarantine-release-${m.id}`,
            className: 'small',
            'aria-label': t('releaseOneOf', { subject }),
            onclick: () => ask(m, true),
          },
          t('releaseOne'),
        ),
        ' ',
        h(
          'button',
          {
            type: 'button',
            id: `quarantine-delete-${m.id}`,
            className: 'small danger',
            'aria-label': t('deleteOneOf', { subject }),
            onclick: () => ask(m, false),
          },
          t('deleteOne'),
        ),
      ),
    );
  });
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, t('date')),
    h('th', { scope: 'col' }, t('to')),
    h('th', { scope: 'col' }, t('subject')),
    h('th', { scope: 'col' }, t('verdict')),
    h('th', { scope: 'col' }, h('span', { className: 'visually-hidden' }, t('releaseOne'))),
  );
  return h(
    'section',
    { className: 'card', id: 'quarantine', 'aria-labelledby': 'quarantine-heading' },
    h('h2', { id: 'quarantine-heading' }, `${t('quarantineTitle')} (${formatNumber(shown.items.length)}${shown.more ? '+' : ''})`),
    h('p', {}, t('quarantineHelp')),
    h('div', { className: 'table-wrap' }, h('table', {}, h('thead', {}, head), h('tbody', {}, rows))),
  );
}
