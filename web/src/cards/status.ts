// The account's state with its label, who blocked it, why and since when.
import type { EmailStatus } from '../api';
import { h } from '../dom';
import { formatDate, t, type Key } from '../i18n';

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

export function statusCard(s: EmailStatus): HTMLElement {
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
