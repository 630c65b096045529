// The held e-mails of a blocked account: choose some to send or delete now, without
// unblocking, and read one's headers.
import type { EmailStatus, HeldMessage } from '../api';
import { openDialog, showText } from '../dialog';
import { h } from '../dom';
import { formatDate, formatNumber, t, type Key } from '../i18n';
import { describe, redraw, refresh, signedOut, view } from '../state';

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

export function heldCard(s: EmailStatus): HTMLElement | null {
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
