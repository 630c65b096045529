// The recent delivery failures and expired e-mails.
import type { DeliveryError } from '../api';
import { h } from '../dom';
import { formatDate, t, type Key } from '../i18n';

function table(headers: Key[], rows: HTMLElement[]): HTMLElement {
  return h(
    'div',
    { className: 'table-wrap' },
    h('table', {}, h('thead', {}, h('tr', {}, headers.map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, rows)),
  );
}

export function errorsCard(errors: DeliveryError[]): HTMLElement {
  const rows = errors.map((e) =>
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
