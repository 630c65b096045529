// The signed-in page: the account (a picker for the administrator), the last notice, when the
// figures were read, and the cards of the chosen account. Drawn again from `view` after every
// read, updated in place (dom.ts): what the keyboard or a screen reader is on stays.
import { actionsCard } from './cards/actions';
import { domainsCard } from './cards/domains';
import { countersCard } from './cards/counters';
import { errorsCard } from './cards/errors';
import { heldCard, syncHeld } from './cards/held';
import { quarantineCard } from './cards/quarantine';
import { limitsCard } from './cards/limits';
import { sourcesCard } from './cards/sources';
import { statusCard } from './cards/status';
import { suppressionsCard } from './cards/suppressions';
import { trackingCard } from './cards/tracking';
import { chartCard, showChart } from './cards/volumes';
import { h, showPage } from './dom';
import { header } from './header';
import { fleetCard } from './cards/fleet';
import { openAccount, openOverview, overviewCard } from './overview';
import { formatTime, lang, t } from './i18n';
import { rememberAccount, signOut } from './session';
import { describeLoad, redraw, refresh, refreshQuietly, schedulePoll, signedOut, stopPolling, view, watchFocus } from './state';

function accountPicker(): HTMLElement {
  if (!view.admin) {
    return h('p', { className: 'account' }, `${t('account')}: `, h('strong', { id: 'account-name' }, view.account));
  }
  const select = h(
    'select',
    {
      id: 'account',
      onchange: async (ev: Event) => {
        view.account = (ev.target as HTMLSelectElement).value;
        rememberAccount(view.account);
        view.notice = null;
        view.chosen.clear();
        view.wasPurging = false;
        stopPolling();
        try {
          await refresh();
        } catch (e) {
          if (signedOut(e)) return;
          view.notice = { kind: 'error', text: describeLoad(e), retry: true };
          redraw();
        }
      },
    },
    view.accounts.map((a) => h('option', { value: a, selected: a === view.account }, a)),
  );
  return h(
    'p',
    { className: 'account' },
    h('label', { for: 'account' }, `${t('account')}: `),
    select,
    h('button', { type: 'button', id: 'open-overview', onclick: () => openOverview() }, t('ovOpen')),
  );
}

function notice(): HTMLElement {
  const n = view.notice;
  // The live region is always there, so that a screen reader hears what is put into it.
  return h(
    'div',
    { id: 'notice-box', role: n?.kind === 'error' ? 'alert' : 'status' },
    n
      ? h(
          'div',
          { className: `notice notice-${n.kind}` },
          h('p', { id: 'notice', tabindex: -1 }, n.text),
          n.retry
            ? h('button', { type: 'button', id: 'retry', onclick: () => void refreshQuietly() }, t('retry'))
            : null,
        )
      : null,
  );
}

/** Draws the page from `view`, updating in place what is already there. */
export function renderPage(): void {
  document.documentElement.lang = lang;
  const s = view.status;
  if (view.admin && view.mode === 'overview') {
    const main = h(
      'main',
      { id: 'main', tabindex: -1 },
      notice(),
      h('p', { id: 'read-at', className: `read-at${view.stale ? ' stale' : ''}` }, view.readAt ? t(view.stale ? 'unreachableSince' : 'readAt', { time: formatTime(view.readAt) }) : ''),
      fleetCard(view.overview.fleet, openAccount),
      overviewCard(),
    );
    showPage(header(() => signOut()), main);
    watchFocus();
    schedulePoll();
    return;
  }
  const main = h('main', { id: 'main', tabindex: -1 }, accountPicker(), notice());
  const shown = s !== null && s.account === view.account;
  if (shown) {
    main.append(
      h(
        'p',
        { id: 'read-at', className: `read-at${view.stale ? ' stale' : ''}` },
        view.readAt ? t(view.stale ? 'unreachableSince' : 'readAt', { time: formatTime(view.readAt) }) : '',
      ),
      h('div', { className: 'grid', id: 'grid' }, statusCard(s), actionsCard(s)),
      countersCard(s),
      limitsCard(s),
      heldCard(s) ?? '',
      quarantineCard() ?? '',
      domainsCard(view.account, redraw) ?? '',
      trackingCard() ?? '',
      errorsCard(view.errors),
      suppressionsCard() ?? '',
      chartCard(view.volumes),
      sourcesCard(view.sources) ?? '',
    );
  }
  showPage(header(() => signOut()), main);
  if (shown) {
    showChart(view.volumes);
    syncHeld();
  }
  watchFocus();
  schedulePoll();
}
