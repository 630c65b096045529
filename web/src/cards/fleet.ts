// The fleet summary above the administrator's overview: the accounts per state, the accounts a
// guard blocked in the last 24 hours, the busiest accounts now, and the nodes with when each
// was last seen.
import type { Fleet } from '../api';
import { h } from '../dom';
import { formatDate, formatNumber, formatTime, t, tn, type Key } from '../i18n';

function blockerText(blocker: string): string {
  return t(blocker === 'customer' ? 'ovByCustomer' : (`by_${blocker}` as Key));
}

function totals(f: Fleet): HTMLElement {
  const blockers = Object.entries(f.blocked_by)
    .sort((a, b) => b[1] - a[1])
    .map(([who, n]) => `${blockerText(who)}: ${formatNumber(n)}`)
    .join(', ');
  const item = (id: string, label: string, n: number, extra = '') =>
    h(
      'div',
      { className: 'counter', id },
      h('dt', {}, label),
      h('dd', {}, h('span', { className: 'value' }, formatNumber(n)), extra ? h('span', { className: 'extra' }, extra) : null),
    );
  return h(
    'dl',
    { className: 'counters fleet-totals' },
    item('fleet-accounts', t('fleetAccounts'), f.accounts),
    item('fleet-active', t('active'), f.states.active ?? 0),
    item('fleet-blocked', t('inactive'), f.states.blocked ?? 0, blockers),
    item('fleet-purging', t('purging'), f.states.purging ?? 0),
  );
}

function list<T>(id: string, title: Key, empty: Key, items: T[], line: (x: T) => (HTMLElement | string)[]): HTMLElement {
  return h(
    'div',
    { className: 'fleet-list', id },
    h('h3', {}, t(title)),
    items.length ? h('ul', {}, items.map((x) => h('li', {}, line(x)))) : h('p', { className: 'empty' }, t(empty)),
  );
}

/** The summary; `open` opens an account's tab. */
export function fleetCard(f: Fleet | null, open: (name: string) => void): HTMLElement | null {
  if (!f) return null;
  const link = (name: string) => h('button', { type: 'button', className: 'link', onclick: () => open(name) }, name);
  return h(
    'section',
    { className: 'card', id: 'fleet', 'aria-labelledby': 'fleet-heading' },
    h('h2', { id: 'fleet-heading' }, t('fleetTitle')),
    totals(f),
    h(
      'div',
      { className: 'fleet-lists' },
      list('fleet-blocks', 'fleetGuardBlocks', 'fleetNoGuardBlocks', f.guard_blocks, (b) => [
        link(b.account),
        ` ${blockerText(b.guard)}, ${formatDate(b.at)}`,
        b.still_blocked ? '' : ` (${t('fleetLifted')})`,
        h('span', { className: 'hint fleet-reason' }, b.reason),
      ]),
      list('fleet-busiest', 'fleetBusiest', 'fleetNoneBusy', f.busiest, (b) => [
        link(b.account),
        ` ${tn('fleetSubmitted', b.submitted, { time: formatTime(new Date(f.busiest_since)) })}`,
      ]),
      list('fleet-nodes', 'fleetNodes', 'fleetNoNodes', f.nodes, (n) => [
        h('strong', {}, n.name),
        ` ${n.version}, `,
        h('span', { className: n.running ? 'node-running' : 'node-silent' }, t(n.running ? 'fleetNodeRunning' : 'fleetNodeSilent')),
        `, ${t('fleetLastSeen', { time: formatDate(n.last_seen) })}`,
      ]),
    ),
  );
}
