// Sent (in total, today and in the last hour, with their limits), failed, held and queued.
import type { EmailStatus } from '../api';
import { h } from '../dom';
import { formatNumber, t, type Key } from '../i18n';

export function countersCard(s: EmailStatus): HTMLElement {
  // A figure; with a limit, the limit beside it, and for a screen reader the whole phrase
  // ("9 of a daily limit of 1,000") rather than "9" and "1,000" run together.
  const item = (id: string, label: Key, n: number, limit?: { max: number; shown: Key; spoken: Key }, cls = '') => {
    const value = formatNumber(n);
    const limited = limit && limit.max > 0;
    return h(
      'div',
      { className: `counter ${cls}`, id: `counter-${id}` },
      h('dt', {}, t(label)),
      h(
        'dd',
        {},
        limited ? h('span', { className: 'visually-hidden' }, t(limit.spoken, { n: value, max: formatNumber(limit.max) })) : null,
        h('span', { className: 'value', 'aria-hidden': limited ? 'true' : null }, value),
        limit
          ? h(
              'span',
              { className: 'extra', 'aria-hidden': limited ? 'true' : null },
              limited ? t(limit.shown, { max: formatNumber(limit.max) }) : t('noLimit'),
            )
          : null,
      ),
    );
  };
  const perHour = s.max_per_hour ?? 0;
  return h(
    'section',
    { className: 'card', id: 'counters-card', 'aria-labelledby': 'counters-heading' },
    h('h2', { id: 'counters-heading' }, t('counters')),
    h(
      'dl',
      { className: 'counters' },
      item('today', 'sentToday', s.sent_today, { max: s.max_per_day, shown: 'ofLimit', spoken: 'ofLimitSpoken' }),
      s.sent_last_hour != null
        ? item('hour', 'sentHour', s.sent_last_hour, { max: perHour, shown: 'ofHourLimit', spoken: 'ofHourLimitSpoken' })
        : null,
      item('sent', 'sentTotal', s.sent),
      item('errors', 'errorsTotal', s.errors, undefined, s.errors > 0 ? 'bad' : ''),
      item('held', 'held', s.held),
      item('queued', 'queued', s.queued),
    ),
  );
}
