// The account's state with its label, who blocked it, why and since when; while active, whether
// a quota holds the queued mail, and until when.
import type { EmailStatus } from '../api';
import { h } from '../dom';
import { blockReasonText, formatDate, formatHold, formatNumber, formatTime, knownReasonCode, t, type Key } from '../i18n';

function statusLabel(s: EmailStatus): { key: Key; cls: string; text: string } {
  if (s.state === 'active') {
    return { key: 'active', cls: 'state-active', text: t(s.limit_reached ? 'activeWaiting' : 'activeText') };
  }
  if (s.state === 'purging') return { key: 'purging', cls: 'state-purging', text: t('purgingText') };
  return {
    key: 'inactive',
    cls: 'state-inactive',
    text: t('inactiveText', { hold: formatHold(s.hold_seconds ?? 72 * 3600) }),
  };
}

// Blocks a person made: their own words are shown as written.
const kPeople = new Set(['customer', 'admin']);

/** Why mail waits while the account is active: the quota reached and when mail goes on. */
function waiting(s: EmailStatus): HTMLElement | null {
  if (s.state !== 'active' || !s.limit_reached || !s.sends_again) return null;
  const day = s.limit_reached === 'day';
  const limit = formatNumber(day ? s.max_per_day : (s.max_per_hour ?? 0));
  return h(
    'p',
    { id: 'limit-reached', className: 'limit-reached' },
    t(day ? 'limitDay' : 'limitHour', { limit, time: formatTime(new Date(s.sends_again)) }),
  );
}

export function statusCard(s: EmailStatus): HTMLElement {
  const label = statusLabel(s);
  const details: HTMLElement[] = [];
  if (s.state !== 'active') {
    if (s.blocked_by) {
      const by = `by_${s.blocked_by}`;
      const key = (by in { by_customer: 1, by_admin: 1, by_spam_guard: 1, by_bounce_guard: 1, by_complaint_guard: 1 } ? by : 'by_other') as Key;
      details.push(h('dt', {}, t('blockedBy')), h('dd', {}, t(key)));
    }
    const reason = blockReasonText(s.reason_code, s.reason_params);
    if (reason) {
      details.push(h('dt', {}, t('reason')), h('dd', { id: 'block-reason' }, reason));
    } else if (s.reason && !knownReasonCode(s.reason_code) && kPeople.has(s.blocked_by ?? '')) {
      // Words a person wrote (an administrator's note) are shown as written; a guard's reason
      // the panel has no words for is not: who blocked says enough.
      details.push(h('dt', {}, t('ownWords')), h('dd', { id: 'block-reason' }, s.reason));
    }
    details.push(h('dt', {}, t('since')), h('dd', {}, formatDate(s.since)));
  }
  return h(
    'section',
    { className: 'card status', id: 'status-card', 'aria-labelledby': 'status-heading' },
    h('h2', { id: 'status-heading', tabindex: -1 }, t('status')),
    h(
      'p',
      { className: 'state-line' },
      h('span', { id: 'state', className: `badge ${label.cls}`, 'data-state': s.state }, t(label.key)),
      h('span', { className: 'state-text', id: 'state-text' }, label.text),
    ),
    waiting(s),
    details.length ? h('dl', { className: 'details' }, details) : null,
  );
}
