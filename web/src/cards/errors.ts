// The recent delivery failures and expired e-mails: what went wrong in the page's language
// (the failure's category), and the receiving server's own reply beside it.
import type { DeliveryError } from '../api';
import { h } from '../dom';
import { categoryText, formatDate, ownFailure, t, type Key } from '../i18n';

function table(headers: Key[], rows: HTMLElement[]): HTMLElement {
  return h(
    'div',
    { className: 'table-wrap' },
    h('table', {}, h('thead', {}, h('tr', {}, headers.map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows)),
  );
}

export function errorsCard(errors: DeliveryError[]): HTMLElement {
  const rows = errors.map((e, i) => {
    const worded = categoryText(e.category);
    // The daemon's own reasons (expired, suppressed) are said by the category alone; a server's
    // reply is shown as it came, in its own language.
    const reply = worded && ownFailure(e.category) ? '–' : e.reply;
    return h(
      'tr',
      { 'data-key': `${e.id}-${e.date}-${i}` },
      h('td', { 'data-label': t('date') }, formatDate(e.date)),
      h('td', { 'data-label': t('recipient'), className: 'wrap' }, e.recipient),
      h('td', { 'data-label': t('problem') }, worded ?? e.reply),
      h('td', { 'data-label': t('reply'), className: 'reply' }, worded ? reply : '–'),
      h('td', { 'data-label': t('subject'), className: 'wrap' }, e.subject || t('noSubject')),
    );
  });
  return h(
    'section',
    { className: 'card', id: 'errors', 'aria-labelledby': 'errors-heading' },
    h('h2', { id: 'errors-heading' }, t('recentErrors')),
    rows.length
      ? table(['date', 'recipient', 'problem', 'reply', 'subject'], rows)
      : h('p', { className: 'empty' }, t('noErrors')),
  );
}
