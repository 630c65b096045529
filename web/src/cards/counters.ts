// Sent, sent today (of the daily quota), errors, held and queued.
import type { EmailStatus } from '../api';
import { h } from '../dom';
import { formatNumber, t, type Key } from '../i18n';

export function countersCard(s: EmailStatus): HTMLElement {
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
