// The administrator's overview of every account: a page of the daemon's list (sorted, filtered
// and paged by the daemon: a provider has 100,000 accounts), each row opening the account's
// tab, and several accounts blocked at once with one reason.
import type { OverviewItem, OverviewSort } from './api';
import { dropChart } from './cards/volumes';
import { openDialog } from './dialog';
import { h } from './dom';
import { formatNumber, t, tn, type Key } from './i18n';
import { describe, redraw, refreshQuietly, signedOut, stopPolling, view } from './state';

const kSorts: { value: OverviewSort; key: Key }[] = [
  { value: 'name', key: 'ovSortName' },
  { value: 'submitted_recently', key: 'ovSortRecent' },
  { value: 'sent_today', key: 'ovSortSent' },
  { value: 'errors_today', key: 'ovSortErrors' },
  { value: 'error_rate', key: 'ovSortErrorRate' },
  { value: 'quarantined_today', key: 'ovSortQuarantined' },
  { value: 'complaints_today', key: 'ovSortComplaints' },
  { value: 'held', key: 'ovSortHeld' },
  { value: 'queued', key: 'ovSortQueued' },
  { value: 'pending', key: 'ovSortPending' },
];
// The table's columns: each heading, and the order it sorts by (the state: none; filter it).
const kColumns: { key: Key; sort: OverviewSort | null }[] = [
  { key: 'account', sort: 'name' },
  { key: 'status', sort: null },
  { key: 'ovRecent', sort: 'submitted_recently' },
  { key: 'sentToday', sort: 'sent_today' },
  { key: 'ovFailedToday', sort: 'errors_today' },
  { key: 'ovErrorRate', sort: 'error_rate' },
  { key: 'ovQuarantined', sort: 'quarantined_today' },
  { key: 'ovComplaints', sort: 'complaints_today' },
  { key: 'ovHeld', sort: 'held' },
  { key: 'ovQueued', sort: 'queued' },
];

/** A column's heading: a button that sorts by it, marked while it does (aria-sort). */
function heading(column: { key: Key; sort: OverviewSort | null }, current: OverviewSort): HTMLElement {
  if (!column.sort) return h('th', { scope: 'col' }, t(column.key));
  const sort = column.sort;
  const active = sort === current;
  return h(
    'th',
    { scope: 'col', 'aria-sort': active ? (sort === 'name' ? 'ascending' : 'descending') : null },
    h(
      'button',
      {
        type: 'button',
        className: `link ov-sort-by${active ? ' active' : ''}`,
        id: `ov-sort-${sort}`,
        title: t('ovSortBy', { column: t(column.key) }),
        onclick: () => ask({ sort }),
      },
      t(column.key),
      active ? h('span', { 'aria-hidden': 'true' }, sort === 'name' ? ' ▲' : ' ▼') : null,
    ),
  );
}
const kStates: { value: string; key: Key }[] = [
  { value: '', key: 'ovAnyState' },
  { value: 'active', key: 'active' },
  { value: 'blocked', key: 'inactive' },
  { value: 'purging', key: 'purging' },
];
const kBlockers: { value: string; key: Key }[] = [
  { value: '', key: 'ovAnyBlocker' },
  { value: 'customer', key: 'ovByCustomer' },
  { value: 'admin', key: 'by_admin' },
  { value: 'spam_guard', key: 'by_spam_guard' },
  { value: 'bounce_guard', key: 'by_bounce_guard' },
  { value: 'complaint_guard', key: 'by_complaint_guard' },
];

/** Reads the first page again after the sort, a filter or the search changed. */
function ask(change: Partial<typeof view.overview.query>): void {
  const o = view.overview;
  o.query = { ...o.query, ...change, cursor: null };
  o.back = [];
  void refreshQuietly();
}

function turnPage(forward: boolean): void {
  const o = view.overview;
  if (forward) {
    if (!o.next) return;
    o.back.push(o.query.cursor);
    o.query = { ...o.query, cursor: o.next };
  } else {
    if (o.back.length === 0) return;
    o.query = { ...o.query, cursor: o.back.pop() ?? null };
  }
  void refreshQuietly();
}

/** The overview, from the account's tab (or on reload). */
export function openOverview(): void {
  stopPolling();
  dropChart();
  view.mode = 'overview';
  view.notice = null;
  void refreshQuietly();
}

/** One account's tab, from its row (or the fleet summary). */
export function openAccount(name: string): void {
  stopPolling();
  view.mode = 'account';
  view.account = name;
  if (!view.accounts.includes(name)) view.accounts = [...view.accounts, name].sort();
  sessionStorage.setItem('mailwarden.account', name);
  view.notice = null;
  view.chosen.clear();
  view.wasPurging = false;
  view.status = null;
  void refreshQuietly().then(() => document.getElementById('status-heading')?.focus());
}

function stateText(a: OverviewItem): string {
  if (a.state === 'active') return t('active');
  if (a.state === 'purging') return t('purging');
  const by = a.blocked_by ? t(a.blocked_by === 'customer' ? 'ovByCustomer' : (`by_${a.blocked_by}` as Key)) : '';
  return by ? t('ovBlockedBy', { who: by }) : t('inactive');
}

function percent(rate: number | null): string {
  if (rate === null) return '–';
  return new Intl.NumberFormat(document.documentElement.lang, { style: 'percent', maximumFractionDigits: 1 }).format(rate);
}

function blockChosen(): void {
  const api = view.api;
  const o = view.overview;
  if (!api || o.chosen.size === 0) return;
  const names = [...o.chosen].sort();
  openDialog(
    {
      title: tn('ovBlockTitle', names.length),
      text: t('ovBlockText', { names: names.join(', ') }),
      field: {
        label: t('reason'),
        value: '',
        type: 'text',
        validate: (v) => (v === '' ? t('ovReasonRequired') : v.length > 500 ? t('ovReasonTooLong') : null),
      },
      run: async (reason) => {
        const refused: string[] = [];
        let blocked = 0;
        for (const name of names) {
          try {
            await api.block(name, reason);
            blocked += 1;
          } catch (e) {
            if (signedOut(e)) throw e;
            refused.push(`${name}: ${describe(e)}`);
          }
        }
        o.chosen.clear();
        const done = tn('ovBlocked', blocked);
        view.notice = refused.length
          ? { kind: 'error', text: `${done} ${t('ovNotBlocked')} ${refused.join('; ')}` }
          : { kind: 'ok', text: done };
        await refreshQuietly();
      },
    },
    'ov-block',
  );
}

function select(id: string, label: Key, options: { value: string; key: Key }[], value: string, onChange: (v: string) => void): HTMLElement {
  return h(
    'div',
    { className: 'field' },
    h('label', { for: id }, t(label)),
    h(
      'select',
      { id, onchange: (ev: Event) => onChange((ev.target as HTMLSelectElement).value) },
      options.map((o) => h('option', { value: o.value, selected: o.value === value }, t(o.key))),
    ),
  );
}

function filters(): HTMLElement {
  const q = view.overview.query;
  const search = h('input', { id: 'ov-q', type: 'search', value: q.q, spellcheck: 'false', autocomplete: 'off' });
  const form = h(
    'form',
    { className: 'ov-filters', role: 'search' },
    h('div', { className: 'field' }, h('label', { for: 'ov-q' }, t('ovSearch')), search),
    h('button', { type: 'submit', id: 'ov-search' }, t('ovSearchButton')),
    select('ov-sort', 'ovSort', kSorts, q.sort, (v) => ask({ sort: v as OverviewSort })),
    select('ov-state', 'ovState', kStates, q.state, (v) => ask({ state: v })),
    select('ov-blocker', 'blockedBy', kBlockers, q.blockedBy, (v) => ask({ blockedBy: v })),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ask({ q: search.value.trim().toLowerCase() });
  });
  return form;
}

function row(a: OverviewItem): HTMLElement {
  const o = view.overview;
  const box = h('input', {
    type: 'checkbox',
    id: `ov-check-${a.name}`,
    checked: o.chosen.has(a.name),
    'aria-label': t('ovChoose', { name: a.name }),
    onchange: (ev: Event) => {
      if ((ev.target as HTMLInputElement).checked) o.chosen.add(a.name);
      else o.chosen.delete(a.name);
      redraw();
    },
  });
  return h(
    'tr',
    { 'data-key': a.name, 'data-account': a.name },
    h('td', { className: 'check' }, box),
    h(
      'td',
      { 'data-label': t('account'), className: 'wrap' },
      h('button', { type: 'button', className: 'link ov-open', id: `ov-open-${a.name}`, onclick: () => openAccount(a.name) }, a.name),
    ),
    h('td', { 'data-label': t('status'), className: `ov-state state-${a.state}` }, stateText(a)),
    h('td', { 'data-label': t('ovRecent'), className: 'num' }, formatNumber(a.submitted_recently)),
    h('td', { 'data-label': t('sentToday'), className: 'num' }, formatNumber(a.sent_today)),
    h('td', { 'data-label': t('ovFailedToday'), className: 'num' }, formatNumber(a.errors_today)),
    h('td', { 'data-label': t('ovErrorRate'), className: 'num' }, percent(a.error_rate)),
    h('td', { 'data-label': t('ovQuarantined'), className: 'num' }, formatNumber(a.quarantined_today)),
    h('td', { 'data-label': t('ovComplaints'), className: 'num' }, formatNumber(a.complaints_today)),
    h('td', { 'data-label': t('ovHeld'), className: 'num' }, formatNumber(a.held)),
    h('td', { 'data-label': t('ovQueued'), className: 'num' }, formatNumber(a.queued)),
  );
}

/** The overview's card: filters, the page of accounts, paging and Block selected. */
export function overviewCard(): HTMLElement {
  const o = view.overview;
  const all = h('input', {
    type: 'checkbox',
    id: 'ov-all',
    checked: o.items.length > 0 && o.items.every((a) => o.chosen.has(a.name)),
    onchange: (ev: Event) => {
      const on = (ev.target as HTMLInputElement).checked;
      for (const a of o.items) {
        if (on) o.chosen.add(a.name);
        else o.chosen.delete(a.name);
      }
      redraw();
    },
  });
  const table = o.items.length
    ? h(
        'div',
        { className: 'table-wrap' },
        h(
          'table',
          { id: 'ov-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col', className: 'check' }, h('label', {}, all, h('span', { className: 'check-text visually-hidden' }, t('ovChooseAll')))),
              kColumns.map((c) => heading(c, o.query.sort)),
            ),
          ),
          h('tbody', {}, o.items.map(row)),
        ),
      )
    : h('p', { className: 'empty', id: 'ov-empty' }, t('ovNone'));
  const none = o.chosen.size === 0;
  return h(
    'section',
    { className: 'card', id: 'overview', 'aria-labelledby': 'overview-heading' },
    h('h2', { id: 'overview-heading', tabindex: -1 }, t('ovTitle')),
    filters(),
    table,
    h(
      'div',
      { className: 'held-buttons ov-buttons' },
      h(
        'button',
        {
          type: 'button',
          id: 'ov-block',
          className: 'danger',
          'aria-disabled': none ? 'true' : null,
          onclick: () => blockChosen(),
        },
        none ? t('ovBlockChosen') : tn('ovBlockChosenN', o.chosen.size),
      ),
      h('button', { type: 'button', id: 'ov-prev', disabled: o.back.length === 0, onclick: () => turnPage(false) }, t('ovPrevious')),
      h('span', { id: 'ov-page', className: 'ov-page' }, t('ovPage', { n: formatNumber(o.back.length + 1) })),
      h('button', { type: 'button', id: 'ov-next', disabled: !o.next, onclick: () => turnPage(true) }, t('ovNext')),
    ),
  );
}
