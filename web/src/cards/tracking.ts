// "Where is my e-mail?": the customer searches the account's e-mails of the last days by a
// recipient, the sender, the subject or the Message-ID, and by status, and opens one on its
// history: received, held and released, each delivery attempt with the receiving server's
// reply, a later bounce, expiry, and what was done to the whole account meanwhile. The card
// reads its list itself when asked (Search, Older e-mails), never on the page's own refresh.
import type { MessageHistory, TrackedMessage } from '../api';
import { h } from '../dom';
import { formatDate, t, type Key } from '../i18n';
import { describe, redraw, signedOut, view } from '../state';

const kStatuses = ['delivered', 'failed', 'queued', 'held', 'quarantined', 'expired', 'purged'] as const;

interface Shown {
  account: string;
  q: string;
  status: string;
  items: TrackedMessage[];
  next: string | null;
}

let query = '';
let status = '';
let shown: Shown | null = null;
let opened: MessageHistory | null = null;
let busy = false;

async function load(more: boolean): Promise<void> {
  const api = view.api;
  if (!api || busy) return;
  busy = true;
  const account = view.account;
  try {
    const cursor = more && shown ? shown.next : null;
    const page = await api.track(account, query.trim(), status, cursor);
    const before = more && shown ? shown.items : [];
    shown = { account, q: query, status, items: [...before, ...page.items], next: page.next };
    if (!more) opened = null;
  } catch (e) {
    if (signedOut(e)) return;
    view.notice = { kind: 'error', text: describe(e) };
  } finally {
    busy = false;
  }
  redraw();
}

async function open(m: TrackedMessage): Promise<void> {
  const api = view.api;
  if (!api) return;
  try {
    opened = await api.history(view.account, m.id);
  } catch (e) {
    if (signedOut(e)) return;
    view.notice = { kind: 'error', text: describe(e) };
  }
  redraw();
  document.getElementById('track-history-heading')?.focus();
}

function statusText(s: string): string {
  return t(`st_${s}` as Key);
}

function eventText(kind: string): string {
  const key = `ev_${kind}` as Key;
  const text = t(key);
  return text === key ? kind : text;
}

function history(m: MessageHistory): HTMLElement {
  const rows = [
    ...m.events.map((e) => ({ at: e.at, what: eventText(e.kind), who: e.address ?? '', detail: e.detail })),
    ...m.account_events.map((e) => ({ at: e.at, what: eventText(e.action), who: '', detail: e.reason })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return h(
    'div',
    { className: 'track-history', id: 'track-history' },
    h('h3', { id: 'track-history-heading', tabindex: -1 }, `${t('trackHistory')}: ${m.subject || t('noSubject')}`),
    h('p', {}, `${statusText(m.status)} · ${t('trackAttempts')}: ${m.attempts}`),
    h(
      'div',
      { className: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, t('trackWhen')),
            h('th', { scope: 'col' }, t('trackWhat')),
            h('th', { scope: 'col' }, t('recipient')),
            h('th', { scope: 'col' }, t('trackDetail')),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((r, i) =>
            h(
              'tr',
              { 'data-key': `ev-${i}` },
              h('td', { 'data-label': t('trackWhen') }, formatDate(r.at)),
              h('td', { 'data-label': t('trackWhat') }, r.what),
              h('td', { 'data-label': t('recipient'), className: 'wrap' }, r.who || '–'),
              h('td', { 'data-label': t('trackDetail'), className: 'reply' }, r.detail || '–'),
            ),
          ),
        ),
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        id: 'track-close',
        onclick: () => {
          const id = opened?.id;
          opened = null;
          redraw();
          if (id !== undefined) document.getElementById(`track-open-${id}`)?.focus();
        },
      },
      t('trackClose'),
    ),
  );
}

function list(items: TrackedMessage[]): HTMLElement {
  if (items.length === 0) return h('p', { className: 'empty', id: 'track-empty' }, t('trackNone'));
  return h(
    'div',
    { className: 'table-wrap' },
    h(
      'table',
      { id: 'track-list' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, t('date')),
          h('th', { scope: 'col' }, t('recipient')),
          h('th', { scope: 'col' }, t('subject')),
          h('th', { scope: 'col' }, t('trackStatus')),
          h('th', { scope: 'col' }, h('span', { className: 'visually-hidden' }, t('trackOpen'))),
        ),
      ),
      h(
        'tbody',
        {},
        items.map((m) =>
          h(
            'tr',
            { 'data-key': `track-${m.id}` },
            h('td', { 'data-label': t('date') }, formatDate(m.date)),
            h('td', { 'data-label': t('recipient'), className: 'wrap' }, m.to.join(', ')),
            h('td', { 'data-label': t('subject'), className: 'wrap' }, m.subject || t('noSubject')),
            h('td', { 'data-label': t('trackStatus') }, h('span', { className: `track-status st-${m.status}` }, statusText(m.status))),
            h(
              'td',
              {},
              h(
                'button',
                {
                  type: 'button',
                  className: 'small',
                  id: `track-open-${m.id}`,
                  'aria-label': t('trackOpenOf', { subject: m.subject || t('noSubject') }),
                  onclick: () => void open(m),
                },
                t('trackOpen'),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

export function trackingCard(): HTMLElement | null {
  if (!view.account) return null;
  if (shown && shown.account !== view.account) {
    shown = null;
    opened = null;
  }
  const form = h(
    'form',
    {
      className: 'track-form',
      role: 'search',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        void load(false);
      },
    },
    h(
      'p',
      {},
      h('label', { for: 'track-q' }, t('trackSearchLabel')),
      h('input', {
        id: 'track-q',
        type: 'search',
        value: query,
        autocomplete: 'off',
        oninput: (ev: Event) => {
          query = (ev.target as HTMLInputElement).value;
        },
      }),
    ),
    h(
      'p',
      {},
      h('label', { for: 'track-status' }, t('trackStatus')),
      h(
        'select',
        {
          id: 'track-status',
          onchange: (ev: Event) => {
            status = (ev.target as HTMLSelectElement).value;
          },
        },
        h('option', { value: '', selected: status === '' }, t('trackAny')),
        kStatuses.map((s) => h('option', { value: s, selected: status === s }, statusText(s))),
      ),
    ),
    h('button', { type: 'submit', id: 'track-search' }, t('trackSearch')),
  );
  return h(
    'section',
    { className: 'card', id: 'tracking', 'aria-labelledby': 'tracking-heading' },
    h('h2', { id: 'tracking-heading' }, t('trackTitle')),
    h('p', {}, t('trackHelp')),
    form,
    shown ? list(shown.items) : null,
    shown?.next
      ? h('button', { type: 'button', id: 'track-more', onclick: () => void load(true) }, t('trackMore'))
      : null,
    opened ? history(opened) : null,
  );
}
