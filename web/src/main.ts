import './style.css';

import {
  Api,
  ApiError,
  type Action,
  type ActionAvailability,
  type EmailStatus,
  type DeliveryError,
  type HeldMessage,
  type MailSources,
  type SourceCount,
  type Volume,
} from './api';
import { VolumeChart } from './chart';
import { h } from './dom';
import { formatDate, formatNumber, lang, refusalText, setLang, t, type Key, type Lang } from './i18n';

const kTokenKey = 'mailwarden.token';
const kAccountKey = 'mailwarden.account';
const kPollMs = 1000;

interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

// Everything the page shows; render() draws it all again from here.
const view = {
  api: null as Api | null,
  admin: false,
  accounts: [] as string[],
  account: '',
  status: null as EmailStatus | null,
  errors: [] as DeliveryError[],
  volumes: [] as Volume[],
  sources: null as MailSources | null,
  held: [] as HeldMessage[],
  heldMore: false,
  chosen: new Set<number>(),
  notice: null as Notice | null,
  signInMessage: null as string | null,
  pollTimer: 0,
};

const app = document.getElementById('app') as HTMLDivElement;
let chart: VolumeChart | null = null;

// ---------------------------------------------------------------- session

function signOut(message: string | null = null): void {
  sessionStorage.removeItem(kTokenKey);
  sessionStorage.removeItem(kAccountKey);
  window.clearTimeout(view.pollTimer);
  view.pollTimer = 0;
  view.api = null;
  view.status = null;
  view.notice = null;
  view.chosen.clear();
  view.signInMessage = message;
  if (dialog.open) dialog.close();
  renderSignIn();
}

function apiFor(token: string): Api {
  return new Api(token, () => signOut(t('sessionEnded')));
}

async function start(): Promise<void> {
  document.documentElement.lang = lang;
  const token = sessionStorage.getItem(kTokenKey);
  if (!token) {
    renderSignIn();
    return;
  }
  view.api = apiFor(token);
  renderLoading();
  try {
    const who = await view.api.whoami();
    view.admin = who.admin;
    if (who.admin) {
      const list = await view.api.accounts();
      view.accounts = list.items.map((a) => a.name);
      const saved = sessionStorage.getItem(kAccountKey);
      view.account = saved && view.accounts.includes(saved) ? saved : (view.accounts[0] ?? '');
    } else {
      view.accounts = who.account ? [who.account] : [];
      view.account = who.account ?? '';
    }
    await refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // signOut has run
    view.notice = { kind: 'error', text: describe(e) };
    render();
  }
}

function describe(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('networkError');
    return t('refused', { message: refusalText(e.reason, e.message) });
  }
  return String(e);
}

// ---------------------------------------------------------------- data

async function refresh(): Promise<void> {
  const api = view.api;
  if (!api || !view.account) {
    render();
    return;
  }
  const account = view.account;
  const [status, errors, volumes, sources] = await Promise.all([
    api.status(account),
    api.errors(account),
    api.volumes(account),
    api.sources(account),
  ]);
  const held = status.state !== 'active' && status.held > 0 ? await api.held(account) : null;
  if (account !== view.account) return; // the admin picked another account meanwhile
  view.status = status;
  view.errors = errors.items;
  view.volumes = volumes.items;
  view.sources = sources;
  view.held = held?.items ?? [];
  view.heldMore = held?.next != null;
  const shown = new Set(view.held.map((m) => m.id));
  for (const id of [...view.chosen]) if (!shown.has(id)) view.chosen.delete(id);
  render();
}

/** While a purge runs, the status is asked for again until the purge has ended. */
function schedulePoll(): void {
  if (view.pollTimer || view.status?.state !== 'purging') return;
  view.pollTimer = window.setTimeout(async () => {
    view.pollTimer = 0;
    const api = view.api;
    if (!api || !view.status) return;
    try {
      const status = await api.status(view.account);
      if (status.state === 'purging') {
        view.status = status;
        render();
      } else {
        view.notice = { kind: 'ok', text: t('purgeDone') };
        await refresh();
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      schedulePoll();
    }
  }, kPollMs);
}

// ---------------------------------------------------------------- actions

// Which buttons apply, and why the others do not, is the daemon's answer (`actions` of the
// status): the panel keeps no copy of the rules, it only words the refusal in its language.
function hint(a: ActionAvailability): string | null {
  return a.allowed ? null : refusalText(a.reason, a.message ?? '');
}

const kConfirmation: Record<Action, Key> = {
  BLOCK: 'msgBlock',
  UNBLOCK: 'msgUnblock',
  PURGE: 'msgPurge',
};

// ---------------------------------------------------------------- dialog

interface DialogSpec {
  title: string;
  text: string;
  field?: { label: string; value: string; validate: (v: string) => string | null };
  run: (value: string) => Promise<void>;
}

const dialog = h('dialog', { id: 'dialog', 'aria-labelledby': 'dialog-title' });
document.body.append(dialog);
let dialogReturnFocus: string | null = null;

dialog.addEventListener('close', () => {
  const target = dialogReturnFocus ? document.getElementById(dialogReturnFocus) : null;
  dialogReturnFocus = null;
  if (target && !(target as HTMLButtonElement).disabled) target.focus();
  else document.getElementById('notice')?.focus();
});

function openDialog(spec: DialogSpec, returnFocus: string): void {
  dialogReturnFocus = returnFocus;
  const error = h('p', { id: 'dialog-error', className: 'dialog-error', role: 'alert' });
  const input = spec.field
    ? h('input', {
        id: 'dialog-input',
        type: 'email',
        inputmode: 'email',
        autocomplete: 'email',
        spellcheck: 'false',
        value: spec.field.value,
        'aria-describedby': 'dialog-error',
      })
    : null;
  const confirm = h('button', { type: 'submit', id: 'dialog-confirm', className: 'primary' }, t('confirm'));
  const cancel = h(
    'button',
    { type: 'button', id: 'dialog-cancel', onclick: () => dialog.close() },
    t('cancel'),
  );
  const form = h(
    'form',
    { method: 'dialog', novalidate: true },
    h('h2', { id: 'dialog-title' }, spec.title),
    h('p', { id: 'dialog-text' }, spec.text),
    spec.field && input
      ? h('div', { className: 'field' }, h('label', { for: 'dialog-input' }, spec.field.label), input)
      : null,
    error,
    h('div', { className: 'dialog-buttons' }, cancel, confirm),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = input ? input.value.trim() : '';
    const invalid = spec.field ? spec.field.validate(value) : null;
    if (invalid) {
      error.textContent = invalid;
      input?.setAttribute('aria-invalid', 'true');
      input?.focus();
      return;
    }
    input?.removeAttribute('aria-invalid');
    error.textContent = '';
    confirm.disabled = true;
    confirm.textContent = t('loading');
    try {
      await spec.run(value);
      dialog.close();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      error.textContent = describe(e);
      confirm.disabled = false;
      confirm.textContent = t('confirm');
      (input ?? confirm).focus();
    }
  });
  dialog.replaceChildren(form);
  dialog.setAttribute('aria-describedby', 'dialog-text');
  dialog.showModal();
  (input ?? confirm).focus();
}

// A plain local@domain, as the daemon wants it; the daemon still has the last word.
function validateAddress(v: string): string | null {
  return /^[^\s@<>()[\],;:\\"]+@[^\s@<>()[\],;:\\"]+\.[^\s@<>()[\],;:\\".]+$/.test(v)
    ? null
    : t('invalidAddress');
}

function askAction(action: Action): void {
  const s = view.status;
  const api = view.api;
  if (!s || !api) return;
  const titles: Record<Action, [Key, Key]> = {
    BLOCK: ['confirmBlockTitle', 'confirmBlockText'],
    PURGE: ['confirmPurgeTitle', 'confirmPurgeText'],
    UNBLOCK: ['confirmUnblockTitle', 'confirmUnblockText'],
  };
  const [title, text] = titles[action];
  openDialog(
    {
      title: t(title),
      text: t(text, { held: formatNumber(s.held) }),
      run: async () => {
        const after = await api.request(view.account, action);
        view.notice = {
          kind: 'ok',
          text: lang === 'en' && after.message ? after.message : t(kConfirmation[action]),
        };
        view.status = after;
        // A purge is followed by polling (render schedules it): the page shows "Purging" until
        // the daemon says it has ended.
        if (after.state === 'purging') render();
        else await refresh();
      },
    },
    `action-${action.toLowerCase()}`,
  );
}

function askRecipient(): void {
  const s = view.status;
  const api = view.api;
  if (!s || !api) return;
  openDialog(
    {
      title: t('changeRecipientTitle'),
      text: t('changeRecipientText'),
      field: { label: t('newAddress'), value: s.report_to, validate: validateAddress },
      run: async (address) => {
        const after = await api.changeReportTo(view.account, address);
        view.notice = { kind: 'ok', text: t('recipientChanged', { address: after.report_to }) };
        await refresh();
      },
    },
    'action-recipient',
  );
}

function askHeld(release: boolean): void {
  const api = view.api;
  const ids = [...view.chosen];
  if (!api || ids.length === 0) return;
  openDialog(
    {
      title: t(release ? 'confirmReleaseTitle' : 'confirmDeleteTitle'),
      text: t(release ? 'confirmReleaseText' : 'confirmDeleteText', { n: formatNumber(ids.length) }),
      run: async () => {
        const n = release
          ? (await api.release(view.account, ids)).released
          : (await api.remove(view.account, ids)).deleted;
        view.chosen.clear();
        view.notice = { kind: 'ok', text: t(release ? 'released' : 'deleted', { n: formatNumber(n) }) };
        await refresh();
      },
    },
    release ? 'held-release' : 'held-delete',
  );
}

/** One held e-mail's headers, read only: a dialog with a Close button. */
async function showHeaders(m: HeldMessage): Promise<void> {
  const api = view.api;
  if (!api) return;
  const returnTo = `headers-${m.id}`;
  let text: string;
  try {
    text = (await api.headers(view.account, m.id)).headers;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    view.notice = { kind: 'error', text: describe(e) };
    render();
    return;
  }
  dialogReturnFocus = returnTo;
  const close = h('button', { type: 'submit', id: 'dialog-close', className: 'primary' }, t('close'));
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'dialog-title' }, t('headersTitle')),
    h('p', { id: 'dialog-text' }, m.subject || t('noSubject')),
    h('pre', { id: 'dialog-headers', className: 'headers', tabindex: 0 }, text),
    h('div', { className: 'dialog-buttons' }, close),
  );
  dialog.replaceChildren(form);
  dialog.setAttribute('aria-describedby', 'dialog-text');
  dialog.showModal();
  close.focus();
}

// ---------------------------------------------------------------- rendering

function languagePicker(): HTMLElement {
  const select = h(
    'select',
    {
      id: 'lang',
      'aria-label': t('language'),
      onchange: (ev: Event) => {
        setLang((ev.target as HTMLSelectElement).value as Lang);
        if (view.api) render();
        else renderSignIn();
        document.getElementById('lang')?.focus();
      },
    },
    h('option', { value: 'en', selected: lang === 'en' }, 'English'),
    h('option', { value: 'pl', selected: lang === 'pl' }, 'Polski'),
  );
  return h('label', { className: 'lang' }, h('span', { className: 'visually-hidden' }, t('language')), select);
}

function header(): HTMLElement {
  const right: HTMLElement[] = [languagePicker()];
  if (view.api) {
    right.push(h('button', { type: 'button', id: 'sign-out', onclick: () => signOut() }, t('signOut')));
  }
  return h(
    'header',
    { className: 'top' },
    h('div', {}, h('h1', {}, t('title')), h('p', { className: 'subtitle' }, t('subtitle'))),
    h('div', { className: 'top-tools' }, right),
  );
}

function renderLoading(): void {
  app.replaceChildren(header(), h('main', {}, h('p', { className: 'loading' }, t('loading'))));
}

function renderSignIn(): void {
  chart?.destroy();
  chart = null;
  document.documentElement.lang = lang;
  const error = h('p', { id: 'sign-in-error', className: 'form-error', role: 'alert' }, view.signInMessage ?? '');
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'sign-in-help sign-in-error',
  });
  // method=post: were the script not to run, the token would still not land in the URL.
  const form = h(
    'form',
    { id: 'sign-in', method: 'post', className: 'card sign-in', novalidate: true },
    h('h2', {}, t('signInTitle')),
    h('p', { id: 'sign-in-help' }, t('signInHelp')),
    h('div', { className: 'field' }, h('label', { for: 'token' }, t('token')), input),
    error,
    h('button', { type: 'submit', className: 'primary' }, t('signIn')),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = t('tokenRequired');
      input.focus();
      return;
    }
    const api = new Api(token, () => {});
    try {
      await api.whoami();
    } catch (e) {
      error.textContent =
        e instanceof ApiError && e.status === 401 ? t('sessionEnded') : describe(e);
      input.focus();
      return;
    }
    sessionStorage.setItem(kTokenKey, token);
    view.signInMessage = null;
    await start();
  });
  app.replaceChildren(header(), h('main', {}, form));
  input.focus();
}

function statusLabel(s: EmailStatus): { key: Key; cls: string; text: Key } {
  if (s.state === 'active') return { key: 'active', cls: 'state-active', text: 'activeText' };
  if (s.state === 'purging') return { key: 'purging', cls: 'state-purging', text: 'purgingText' };
  return { key: 'inactive', cls: 'state-inactive', text: 'inactiveText' };
}

// The daemon's default reasons, in the panel's language; the plain "blocked by X" ones only
// repeat "Blocked by", so they are not shown. A reason someone wrote is shown as written.
const kDefaultReasons: Record<string, Key | null> = {
  'blocked by the customer': null,
  'blocked by the administrator': null,
  'blocked by the spam guard: too many e-mails in an hour': 'reasonSpamGuard',
  'blocked by the bounce guard: too many failed deliveries': 'reasonBounceGuard',
};

function reasonText(reason: string | null): string | null {
  if (!reason) return null;
  if (!(reason in kDefaultReasons)) return reason;
  const key = kDefaultReasons[reason];
  return key ? t(key) : null;
}

function statusCard(s: EmailStatus): HTMLElement {
  const label = statusLabel(s);
  const details: HTMLElement[] = [];
  if (s.state !== 'active') {
    if (s.blocked_by) {
      details.push(h('dt', {}, t('blockedBy')), h('dd', {}, t(`by_${s.blocked_by}` as Key)));
    }
    const reason = reasonText(s.reason);
    if (reason) details.push(h('dt', {}, t('reason')), h('dd', {}, reason));
    details.push(h('dt', {}, t('since')), h('dd', {}, formatDate(s.since)));
  }
  return h(
    'section',
    { className: 'card status', 'aria-labelledby': 'status-heading' },
    h('h2', { id: 'status-heading' }, t('status')),
    h(
      'p',
      { className: 'state-line' },
      h('span', { id: 'state', className: `badge ${label.cls}`, 'data-state': s.state }, t(label.key)),
      h('span', { className: 'state-text' }, t(label.text)),
    ),
    details.length ? h('dl', { className: 'details' }, details) : null,
  );
}

function counters(s: EmailStatus): HTMLElement {
  const item = (id: string, label: Key, value: string, extra?: string) =>
    h(
      'div',
      { className: 'counter', id: `counter-${id}` },
      h('dt', {}, t(label)),
      h('dd', {}, h('span', { className: 'value' }, value), extra ? h('span', { className: 'extra' }, extra) : null),
    );
  return h(
    'section',
    { className: 'card', 'aria-labelledby': 'counters-heading' },
    h('h2', { id: 'counters-heading' }, t('counters')),
    h(
      'dl',
      { className: 'counters' },
      item('sent', 'sent', formatNumber(s.sent)),
      item('today', 'sentToday', formatNumber(s.sent_today), t('ofMax', { max: formatNumber(s.max_per_day) })),
      item('errors', 'errors', formatNumber(s.errors)),
      item('held', 'held', formatNumber(s.held)),
      item('queued', 'queued', formatNumber(s.queued)),
    ),
  );
}

function actions(s: EmailStatus): HTMLElement {
  const button = (action: Action, label: Key, cls: string) => {
    const why = hint(s.actions[action]);
    const id = `action-${action.toLowerCase()}`;
    return h(
      'div',
      { className: 'action' },
      h(
        'button',
        {
          type: 'button',
          id,
          className: cls,
          disabled: !s.actions[action].allowed,
          'aria-describedby': why ? `${id}-hint` : null,
          onclick: () => askAction(action),
        },
        t(label),
      ),
      why ? h('p', { id: `${id}-hint`, className: 'hint' }, why) : null,
    );
  };
  return h(
    'section',
    { className: 'card', 'aria-labelledby': 'actions-heading' },
    h('h2', { id: 'actions-heading' }, t('actions')),
    h(
      'div',
      { className: 'actions' },
      button('BLOCK', 'block', 'danger'),
      button('PURGE', 'purge', 'danger'),
      button('UNBLOCK', 'unblock', 'primary'),
    ),
    h(
      'div',
      { className: 'recipient' },
      h('p', {}, `${t('reportTo')}: `, h('strong', { id: 'report-to' }, s.report_to)),
      h('button', { type: 'button', id: 'action-recipient', onclick: askRecipient }, t('changeRecipient')),
    ),
  );
}

function chartCard(): HTMLElement {
  const canvas = h('canvas', { id: 'chart', role: 'img' });
  const card = h(
    'section',
    { className: 'card chart-card', 'aria-labelledby': 'chart-heading' },
    h('h2', { id: 'chart-heading' }, t('chartTitle')),
    h('div', { className: 'chart-box' }, canvas),
  );
  chart?.destroy();
  chart = new VolumeChart(canvas);
  return card;
}

function table(headers: Key[], rows: HTMLElement[]): HTMLElement {
  return h(
    'div',
    { className: 'table-wrap' },
    h('table', {}, h('thead', {}, h('tr', {}, headers.map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows)),
  );
}

function errorsCard(): HTMLElement {
  const rows = view.errors.map((e) =>
    h(
      'tr',
      {},
      h('td', { 'data-label': t('date') }, formatDate(e.date)),
      h('td', { 'data-label': t('recipient') }, e.recipient),
      h('td', { 'data-label': t('reply'), className: 'reply' }, e.reply),
      h('td', { 'data-label': t('subject') }, e.subject || t('noSubject')),
    ),
  );
  return h(
    'section',
    { className: 'card', id: 'errors', 'aria-labelledby': 'errors-heading' },
    h('h2', { id: 'errors-heading' }, t('recentErrors')),
    rows.length ? table(['date', 'recipient', 'reply', 'subject'], rows) : h('p', { className: 'empty' }, t('noErrors')),
  );
}

function sourcesCard(): HTMLElement | null {
  const src = view.sources;
  if (!src) return null;
  const lists: [Key, SourceCount[], string][] = [
    ['sourceScripts', src.scripts, 'sources-scripts'],
    ['sourceSenders', src.senders, 'sources-senders'],
    ['sourceDomains', src.domains, 'sources-domains'],
    ['sourceSubjects', src.subjects, 'sources-subjects'],
  ];
  const empty = lists.every(([, items]) => items.length === 0);
  const label = (key: Key, value: string): string => {
    if (value !== '') return value;
    return key === 'sourceSenders' ? t('nullSender') : t('noSubject');
  };
  const block = ([key, items, id]: [Key, SourceCount[], string]) =>
    h(
      'div',
      { className: 'sources-list', id },
      h('h3', { id: `${id}-heading` }, t(key)),
      items.length
        ? h(
            'table',
            { 'aria-labelledby': `${id}-heading` },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, h('span', { className: 'visually-hidden' }, t(key))), h('th', { scope: 'col', className: 'num' }, t('emails')))),
            h(
              'tbody',
              {},
              items.map((c) =>
                h('tr', {}, h('td', { className: 'source-value' }, label(key, c.value)), h('td', { className: 'num' }, formatNumber(c.count))),
              ),
            ),
          )
        : h('p', { className: 'empty' }, t('noneYet')),
    );
  return h(
    'section',
    { className: 'card', id: 'sources', 'aria-labelledby': 'sources-heading' },
    h('h2', { id: 'sources-heading' }, t('sourcesTitle')),
    empty ? h('p', { className: 'empty' }, t('noSources')) : h('p', {}, t('sourcesHelp')),
    empty ? null : h('div', { className: 'sources-grid' }, lists.map(block)),
  );
}

function heldCard(s: EmailStatus): HTMLElement | null {
  // During a purge the held mail is being deleted: nothing is left to choose.
  if (s.state !== 'blocked' || view.held.length === 0) return null;
  const sync = () => {
    release.disabled = remove.disabled = view.chosen.size === 0;
    all.checked = view.chosen.size === view.held.length;
    all.indeterminate = view.chosen.size > 0 && !all.checked;
  };
  const all = h('input', {
    type: 'checkbox',
    id: 'held-all',
    onchange: () => {
      if (all.checked) view.held.forEach((m) => view.chosen.add(m.id));
      else view.chosen.clear();
      boxes.forEach((b) => (b.checked = all.checked));
      sync();
    },
  });
  const boxes: HTMLInputElement[] = [];
  const rows = view.held.map((m) => {
    const box = h('input', {
      type: 'checkbox',
      className: 'held-choice',
      'data-id': m.id,
      'aria-label': `${t('select')}: ${m.subject || t('noSubject')}`,
      checked: view.chosen.has(m.id),
      onchange: () => {
        if (box.checked) view.chosen.add(m.id);
        else view.chosen.delete(m.id);
        sync();
      },
    });
    boxes.push(box);
    return h(
      'tr',
      {},
      h('td', { className: 'check' }, box),
      h('td', { 'data-label': t('date') }, formatDate(m.date)),
      h('td', { 'data-label': t('to') }, m.to.join(', ')),
      h('td', { 'data-label': t('subject') }, m.subject || t('noSubject')),
      h('td', { 'data-label': t('script') }, m.script ?? '–'),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            id: `headers-${m.id}`,
            className: 'small',
            'aria-label': t('headersOf', { subject: m.subject || t('noSubject') }),
            onclick: () => void showHeaders(m),
          },
          t('headers'),
        ),
      ),
    );
  });
  const release = h('button', { type: 'button', id: 'held-release', onclick: () => askHeld(true) }, t('releaseSelected'));
  const remove = h('button', { type: 'button', id: 'held-delete', className: 'danger', onclick: () => askHeld(false) }, t('deleteSelected'));
  const headerRow = h(
    'tr',
    {},
    h('th', { scope: 'col', className: 'check' }, h('label', {}, all, h('span', { className: 'visually-hidden' }, t('selectAll')))),
    (['date', 'to', 'subject', 'script', 'headers'] as Key[]).map((k) =>
      h('th', { scope: 'col' }, k === 'headers' ? h('span', { className: 'visually-hidden' }, t(k)) : t(k)),
    ),
  );
  const card = h(
    'section',
    { className: 'card', id: 'held', 'aria-labelledby': 'held-heading' },
    h('h2', { id: 'held-heading' }, `${t('heldMail')} (${formatNumber(s.held)})`),
    h('p', {}, t('heldHelp')),
    h('div', { className: 'table-wrap' }, h('table', {}, h('thead', {}, headerRow), h('tbody', {}, rows))),
    view.heldMore ? h('p', { className: 'hint' }, t('moreHeld', { shown: view.held.length, total: s.held })) : null,
    h('div', { className: 'held-buttons' }, release, remove),
  );
  sync();
  return card;
}

function accountPicker(): HTMLElement {
  if (!view.admin) {
    return h('p', { className: 'account' }, `${t('account')}: `, h('strong', { id: 'account-name' }, view.account));
  }
  const select = h(
    'select',
    {
      id: 'account',
      onchange: async (ev: Event) => {
        view.account = (ev.target as HTMLSelectElement).value;
        sessionStorage.setItem(kAccountKey, view.account);
        view.notice = null;
        view.chosen.clear();
        window.clearTimeout(view.pollTimer);
        view.pollTimer = 0;
        try {
          await refresh();
        } catch (e) {
          view.notice = { kind: 'error', text: describe(e) };
          render();
        }
        document.getElementById('account')?.focus();
      },
    },
    view.accounts.map((a) => h('option', { value: a, selected: a === view.account }, a)),
  );
  return h('p', { className: 'account' }, h('label', { for: 'account' }, `${t('account')}: `), select);
}

function render(): void {
  document.documentElement.lang = lang;
  const focused = document.activeElement?.id;
  const s = view.status;
  const notice = view.notice
    ? h(
        'p',
        {
          id: 'notice',
          className: `notice notice-${view.notice.kind}`,
          role: view.notice.kind === 'error' ? 'alert' : 'status',
          tabindex: -1,
        },
        view.notice.text,
      )
    : h('p', { id: 'notice', className: 'notice-empty', role: 'status', tabindex: -1 });
  const main = h('main', {}, accountPicker(), notice);
  if (s && s.account === view.account) {
    main.append(
      h('div', { className: 'grid' }, statusCard(s), actions(s)),
      counters(s),
      heldCard(s) ?? '',
      sourcesCard() ?? '',
      chartCard(),
      errorsCard(),
    );
  }
  app.replaceChildren(header(), main);
  if (s && chart) chart.show(view.volumes);
  if (focused && !dialog.open) {
    const again = document.getElementById(focused) as HTMLButtonElement | null;
    if (again && !again.disabled) again.focus();
  }
  schedulePoll();
}

void start();
