// The account's effective sending limits and where each comes from (its own, its plan's, the
// server's), as GET .../email answers them in "limits".
import type { EmailStatus } from '../api';
import { h } from '../dom';
import { formatNumber, t, tn, type Key } from '../i18n';

export interface LimitValue {
  value: number | string;
  source: 'account' | 'plan' | 'server';
}

const kShown: [string, Key][] = [
  ['max_per_hour', 'limitMaxPerHour'],
  ['max_per_day', 'limitMaxPerDay'],
  ['max_per_sender_per_hour', 'limitPerSender'],
  ['max_per_from_per_hour', 'limitPerFrom'],
  ['max_per_script_per_hour', 'limitPerScript'],
  ['max_recipients', 'limitRecipients'],
  ['unique_recipients_per_hour', 'limitUniqueRecipients'],
  ['over_limit', 'limitOverLimit'],
  ['warn_at', 'limitWarnAt'],
  ['suppress_for', 'limitSuppressFor'],
];

const kSources: Record<LimitValue['source'], Key> = {
  account: 'limitSourceAccount',
  plan: 'limitSourcePlan',
  server: 'limitSourceServer',
};

function shown(key: string, v: LimitValue): string {
  if (key === 'over_limit') return t(v.value === 'refuse' ? 'limitRefuse' : 'limitDefer');
  if (key === 'warn_at') return `${Math.round(Number(v.value) * 100)}%`;
  if (key === 'suppress_for') return suppressFor(String(v.value));
  return Number(v.value) > 0 ? formatNumber(Number(v.value)) : t('limitNone');
}

/** policy.suppress_for as the daemon writes it ("30d", "12h", "0"), in the page's words. */
function suppressFor(value: string): string {
  if (value === '0') return t('limitSuppressNever');
  const m = /^(\d+)([dh])$/.exec(value);
  if (!m) return value;
  return tn(m[2] === 'd' ? 'days' : 'hours', Number(m[1]));
}

export function limitsCard(s: EmailStatus): HTMLElement {
  const limits = (s as EmailStatus & { limits?: Record<string, LimitValue>; plan?: string | null }).limits;
  if (!limits) return h('section', { id: 'limits', hidden: true });
  const plan = (s as EmailStatus & { plan?: string | null }).plan;
  return h(
    'section',
    { className: 'card', id: 'limits', 'aria-labelledby': 'limits-heading' },
    h('h2', { id: 'limits-heading' }, t('limits')),
    h('p', { id: 'limits-plan' }, plan ? t('limitPlan', { plan }) : t('limitNoPlan')),
    h(
      'table',
      { className: 'limits' },
      h('thead', {}, h('tr', {}, h('th', {}, t('limitName')), h('th', {}, t('limitValue')), h('th', {}, t('limitSource')))),
      h(
        'tbody',
        {},
        kShown
          .filter(([key]) => limits[key])
          .map(([key, label]) =>
            h(
              'tr',
              { id: `limit-${key}`, 'data-source': limits[key].source },
              h('td', {}, t(label)),
              h('td', {}, shown(key, limits[key])),
              h('td', {}, t(kSources[limits[key].source])),
            ),
          ),
      ),
    ),
  );
}
