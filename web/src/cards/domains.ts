// The account's sending domains: each domain's DKIM key and the record to publish, what its
// DNS says (DKIM, SPF, DMARC), and what the From check held or refused over the last day
// (docs/sender-identity.md). It fetches its own data (GET .../domains?check=1), at most once
// a minute per account, and draws itself again when it arrives.
import { h } from '../dom';
import { formatNumber, t, type Key } from '../i18n';

interface RecordCheck {
  name: string;
  state: string;
  found: string | null;
  publish: string | null;
}
interface DkimKey {
  selector: string;
  algorithm: string;
  name: string;
  record: string;
  signing: boolean;
}
interface Domain {
  domain: string;
  dkim: DkimKey[];
  dns?: { dkim: RecordCheck[]; spf: RecordCheck; dmarc: RecordCheck };
}
interface Domains {
  account: string;
  sender_check: string;
  items: Domain[];
  sender_checks: { day: string; held: number; refused: number }[];
}

const kRefreshMs = 60_000;
const cache = new Map<string, { at: number; data: Domains | null; loading: boolean }>();

async function load(account: string, draw: () => void): Promise<void> {
  const entry = { at: Date.now(), data: cache.get(account)?.data ?? null, loading: true };
  cache.set(account, entry);
  const token = sessionStorage.getItem('mailwarden.token') ?? '';
  try {
    const response = await fetch(`/api/v1/accounts/${encodeURIComponent(account)}/domains?check=1`, {
      headers: { Authorization: `Bearer ${token}` },
      cache: 'no-store',
      credentials: 'omit',
    });
    entry.data = response.ok ? ((await response.json()) as Domains) : null;
  } catch {
    entry.data = null;
  }
  entry.loading = false;
  entry.at = Date.now();
  draw();
}

const stateKeys: Record<string, Key> = {
  ok: 'dnsOk',
  missing: 'dnsMissing',
  mismatch: 'dnsMismatch',
  not_allowing: 'dnsNotAllowing',
  error: 'dnsError',
};

function checkRow(kind: string, c: RecordCheck): HTMLElement {
  return h(
    'tr',
    { className: `dns-${c.state}` },
    h('td', {}, kind),
    h('td', { className: 'record-name' }, c.name),
    h('td', {}, t(stateKeys[c.state] ?? 'dnsError')),
    h('td', { className: 'record-value' }, c.publish ? h('code', {}, c.publish) : ''),
  );
}

function domainBlock(d: Domain): HTMLElement {
  const signing = d.dkim.find((k) => k.signing);
  const rows: HTMLElement[] = [];
  if (d.dns) {
    d.dns.dkim.forEach((c) => rows.push(checkRow('DKIM', c)));
    rows.push(checkRow('SPF', d.dns.spf), checkRow('DMARC', d.dns.dmarc));
  }
  return h(
    'div',
    { className: 'domain' },
    h('h3', {}, d.domain),
    h(
      'p',
      {},
      signing ? t('dkimSigning', { selector: signing.selector, algorithm: signing.algorithm }) : t('dkimNone'),
    ),
    rows.length
      ? h(
          'div',
          { className: 'table-wrap' },
          h(
          'table',
          {},
          h(
            'thead',
            {},
            h('tr', {}, h('th', { scope: 'col' }, t('dnsRecord')), h('th', { scope: 'col' }, t('dnsName')), h('th', { scope: 'col' }, t('dnsState')), h('th', { scope: 'col' }, t('dnsPublish'))),
          ),
          h('tbody', {}, rows),
          ),
        )
      : null,
  );
}

/** The Domains card of `account`; `draw` redraws the page when its data arrives. */
export function domainsCard(account: string, draw: () => void): HTMLElement | null {
  const entry = cache.get(account);
  if (!entry || (!entry.loading && Date.now() - entry.at > kRefreshMs)) void load(account, draw);
  const data = entry?.data;
  if (!data) return null;
  const held = data.sender_checks.reduce((n, d) => n + d.held, 0);
  const refused = data.sender_checks.reduce((n, d) => n + d.refused, 0);
  return h(
    'section',
    { className: 'card', id: 'domains', 'aria-labelledby': 'domains-heading' },
    h('h2', { id: 'domains-heading' }, t('domainsTitle')),
    data.items.length ? h('p', {}, t('domainsHelp')) : h('p', { className: 'empty' }, t('noDomains')),
    h(
      'p',
      { id: 'sender-check' },
      data.sender_check === 'off'
        ? t('senderCheckOff')
        : t('senderCheckDay', { held: formatNumber(held), refused: formatNumber(refused) }),
    ),
    data.items.map(domainBlock),
  );
}
