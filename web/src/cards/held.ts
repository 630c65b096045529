// The held e-mails of a blocked account: choose some to send or delete now, without
// unblocking, act on all from one sender or with one subject, and read one's headers.
import type { EmailStatus, HeldChoice, HeldMessage } from '../api';
import { openDialog, showText } from '../dialog';
import { h } from '../dom';
import { formatDate, formatNumber, t, tn, type Key } from '../i18n';
import { afterAction, describe, redraw, signedOut, view } from '../state';

/** The script as the customer knows it: the API gives "uid:path". */
function scriptName(script: string | null): string {
  return script ? script.replace(/^\d+:/, '') : '–';
}

function askHeld(release: boolean, chosen: HeldChoice, text: string, returnTo: string): void {
  const api = view.api;
  if (!api) return;
  openDialog(
    {
      title: t(release ? 'confirmReleaseTitle' : 'confirmDeleteTitle'),
      text,
      destructive: true,
      run: async () => {
        const answer = release ? await api.release(view.account, chosen) : await api.remove(view.account, chosen);
        const n = 'released' in answer ? answer.released : (answer as { deleted: number }).deleted;
        view.chosen.clear();
        const done = t(release ? 'released' : 'deleted', { n: formatNumber(n) });
        view.notice = { kind: 'ok', text: answer.more ? `${done} ${t('moreToDo')}` : done };
        await afterAction();
      },
    },
    returnTo,
  );
}

/** One held e-mail's headers, read only: a dialog with a Close button. */
async function showHeaders(m: HeldMessage): Promise<void> {
  const api = view.api;
  if (!api) return;
  let text: string;
  try {
    text = (await api.headers(view.account, m.id)).headers;
  } catch (e) {
    if (signedOut(e)) return;
    view.notice = { kind: 'error', text: describe(e) };
    redraw();
    return;
  }
  showText(t('headersTitle'), m.subject || t('noSubject'), text, `headers-${m.id}`);
}

/** Enables Send and Delete selected, and the Select all box, by what is chosen now (also after
 * each redraw: a checkbox's indeterminate state is no attribute). */
export function syncHeld(): void {
  const none = view.chosen.size === 0;
  for (const id of ['held-release', 'held-delete']) {
    const b = document.getElementById(id);
    if (!b) continue;
    if (none) {
      b.setAttribute('aria-disabled', 'true');
      b.setAttribute('aria-describedby', 'held-choose-hint');
    } else {
      b.removeAttribute('aria-disabled');
      b.removeAttribute('aria-describedby');
    }
  }
  const hint = document.getElementById('held-choose-hint');
  if (hint) hint.hidden = !none;
  const all = document.getElementById('held-all') as HTMLInputElement | null;
  if (all) {
    all.checked = view.held.length > 0 && view.chosen.size === view.held.length;
    all.indeterminate = !none && !all.checked;
  }
}

/** Acting on every held e-mail from one sender or with one subject (the API's "match"). */
function matchTools(): HTMLElement | null {
  const options: { value: string; label: string }[] = [];
  const seen = new Set<string>();
  const add = (kind: 'from' | 'subject', value: string) => {
    const key = `${kind}:${value.toLowerCase()}`;
    if (!value || seen.has(key)) return;
    seen.add(key);
    options.push({ value: key, label: t(kind === 'from' ? 'matchFrom' : 'matchSubject', { value }) });
  };
  view.held.forEach((m) => add('from', m.from));
  view.held.forEach((m) => add('subject', m.subject));
  if (options.length === 0) return null;
  const choice = (): { chosen: HeldChoice; label: string } | null => {
    const select = document.getElementById('held-match') as HTMLSelectElement | null;
    if (!select) return null;
    const [kind, ...rest] = select.value.split(':');
    const value = rest.join(':');
    const original = view.held.find((m) => (kind === 'from' ? m.from : m.subject).toLowerCase() === value);
    const exact = original ? (kind === 'from' ? original.from : original.subject) : value;
    const label = select.selectedOptions[0]?.textContent ?? exact;
    return { chosen: { match: kind === 'from' ? { from: exact } : { subject: exact } }, label };
  };
  const ask = (release: boolean) => {
    const c = choice();
    if (!c) return;
    askHeld(release, c.chosen, t(release ? 'confirmReleaseMatchText' : 'confirmDeleteMatchText', { what: c.label }), release ? 'held-match-release' : 'held-match-delete');
  };
  return h(
    'fieldset',
    { className: 'held-match' },
    h('legend', {}, t('heldMatchTitle')),
    h(
      'div',
      { className: 'field' },
      h('label', { for: 'held-match' }, t('matchKind')),
      h('select', { id: 'held-match' }, options.map((o) => h('option', { value: o.value }, o.label))),
    ),
    h(
      'div',
      { className: 'held-buttons' },
      h('button', { type: 'button', id: 'held-match-release', onclick: () => ask(true) }, t('releaseMatching')),
      h('button', { type: 'button', id: 'held-match-delete', className: 'danger', onclick: () => ask(false) }, t('deleteMatching')),
    ),
  );
}

export function heldCard(s: EmailStatus): HTMLElement | null {
  // During a purge the held mail is being deleted: nothing is left to choose.
  if (s.state !== 'blocked' || view.held.length === 0) return null;
  const shown = view.held.length;
  const holdMs = (s.hold_seconds ?? 72 * 3600) * 1000;
  const all = h('input', {
    type: 'checkbox',
    id: 'held-all',
    className: 'big-check',
    'aria-describedby': view.heldMore ? 'held-all-hint' : null,
    checked: view.chosen.size === shown,
    onchange: (ev: Event) => {
      const on = (ev.target as HTMLInputElement).checked;
      if (on) view.held.forEach((m) => view.chosen.add(m.id));
      else view.chosen.clear();
      document.querySelectorAll<HTMLInputElement>('#held input.held-choice').forEach((b) => (b.checked = on));
      syncHeld();
    },
  });
  const rows = view.held.map((m) => {
    const subject = m.subject || t('noSubject');
    const box = h('input', {
      type: 'checkbox',
      className: 'held-choice big-check',
      id: `held-choice-${m.id}`,
      'data-id': m.id,
      'aria-label': t('selectRow', { to: m.to.join(', '), subject, date: formatDate(m.date) }),
      checked: view.chosen.has(m.id),
      onchange: (ev: Event) => {
        if ((ev.target as HTMLInputElement).checked) view.chosen.add(m.id);
        else view.chosen.delete(m.id);
        syncHeld();
      },
    });
    const expires = new Date(new Date(m.date).getTime() + holdMs).toISOString();
    return h(
      'tr',
      { 'data-key': `held-${m.id}` },
      h('td', { className: 'check' }, box),
      h('td', { 'data-label': t('date') }, formatDate(m.date)),
      h('td', { 'data-label': t('from'), className: 'wrap' }, m.from || t('nullSender')),
      h('td', { 'data-label': t('to'), className: 'wrap' }, m.to.join(', ')),
      h('td', { 'data-label': t('subject'), className: 'wrap' }, subject),
      h('td', { 'data-label': t('script'), className: 'wrap' }, scriptName(m.script)),
      h('td', { 'data-label': t('expires') }, formatDate(expires)),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            id: `headers-${m.id}`,
            className: 'small',
            'aria-label': t('headersOf', { subject }),
            onclick: () => void showHeaders(m),
          },
          t('headers'),
        ),
      ),
    );
  });
  const none = view.chosen.size === 0;
  const chosenIds = () => ({ ids: [...view.chosen] });
  const askChosen = (release: boolean) => {
    if (view.chosen.size === 0) return;
    const text = tn(release ? 'confirmReleaseText' : 'confirmDeleteText', view.chosen.size);
    askHeld(release, chosenIds(), text, release ? 'held-release' : 'held-delete');
  };
  // Always focusable; while nothing is chosen, aria-disabled with the hint as description.
  // sync() changes them as boxes are ticked, without a redraw.
  const heldButton = (id: string, label: Key, cls: string, release: boolean) =>
    h(
      'button',
      {
        type: 'button',
        id,
        className: cls,
        'aria-disabled': none ? 'true' : null,
        'aria-describedby': none ? 'held-choose-hint' : null,
        onclick: () => askChosen(release),
      },
      t(label),
    );
  const release = heldButton('held-release', 'releaseSelected', '', true);
  const remove = heldButton('held-delete', 'deleteSelected', 'danger', false);
  const headerRow = h(
    'tr',
    {},
    h(
      'th',
      { scope: 'col', className: 'check' },
      h('label', { className: 'check-label' }, all, h('span', { className: 'check-text' }, t('selectAll', { n: formatNumber(shown) }))),
    ),
    (['date', 'from', 'to', 'subject', 'script', 'expires', 'headers'] as Key[]).map((k) =>
      h('th', { scope: 'col' }, k === 'headers' ? h('span', { className: 'visually-hidden' }, t(k)) : t(k)),
    ),
  );
  return h(
    'section',
    { className: 'card', id: 'held', 'aria-labelledby': 'held-heading' },
    h('h2', { id: 'held-heading' }, `${t('heldMail')} (${formatNumber(s.held)})`),
    h('p', {}, t('heldHelp')),
    view.heldMore
      ? h('p', { className: 'hint', id: 'held-all-hint' }, `${t('moreHeld', { shown: formatNumber(shown), total: formatNumber(s.held) })} ${t('selectAllHint', { n: formatNumber(shown), total: formatNumber(s.held) })}`)
      : null,
    h('div', { className: 'table-wrap held-table' }, h('table', {}, h('thead', {}, headerRow), h('tbody', {}, rows))),
    h('div', { className: 'held-buttons' }, release, remove),
    h('p', { className: 'hint', id: 'held-choose-hint', hidden: !none }, t('chooseFirst')),
    matchTools(),
  );
}
