// Where the last 24 hours' mail came from: scripts, senders, recipient domains, subjects.
import type { MailSources, SourceCount } from '../api';
import { h } from '../dom';
import { formatNumber, t, type Key } from '../i18n';

export function sourcesCard(src: MailSources | null): HTMLElement | null {
  if (!src) return null;
  const lists: [Key, SourceCount[], string][] = [
    ['sourceScripts', src.scripts, 'sources-scripts'],
    ['sourceSenders', src.senders, 'sources-senders'],
    ['sourceDomains', src.domains, 'sources-domains'],
    ['sourceSubjects', src.subjects, 'sources-subjects'],
  ];
  const empty = lists.every(([, items]) => items.length === 0);
  const label = (key: Key, value: string): string => {
    if (value !== '') return value;
    return key === 'sourceSenders' ? t('nullSender') : t('noSubject');
  };
  const block = ([key, items, id]: [Key, SourceCount[], string]) =>
    h(
      'div',
      { className: 'sources-list', id },
      h('h3', { id: `${id}-heading` }, t(key)),
      items.length
        ? h(
            'table',
            { 'aria-labelledby': `${id}-heading` },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, h('span', { className: 'visually-hidden' }, t(key))), h('th', { scope: 'col', className: 'num' }, t('emails')))),
            h(
              'tbody',
              {},
              items.map((c) =>
                h('tr', {}, h('td', { className: 'source-value' }, label(key, c.value)), h('td', { className: 'num' }, formatNumber(c.count))),
              ),
            ),
          )
        : h('p', { className: 'empty' }, t('noneYet')),
    );
  return h(
    'section',
    { className: 'card', id: 'sources', 'aria-labelledby': 'sources-heading' },
    h('h2', { id: 'sources-heading' }, t('sourcesTitle')),
    empty ? h('p', { className: 'empty' }, t('noSources')) : h('p', {}, t('sourcesHelp')),
    empty ? null : h('div', { className: 'sources-grid' }, lists.map(block)),
  );
}
