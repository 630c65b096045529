// Where the last 24 hours' mail came from: scripts, senders, recipient domains, subjects.
import type { MailSources, SourceCount } from '../api';
import { h } from '../dom';
import { formatNumber, t, type Key } from '../i18n';

export function sourcesCard(src: MailSources | null): HTMLElement | null {
  if (!src) return null;
  // The e-mails of values past the daemon's bound per hour come last, as one row.
  const withOther = (items: SourceCount[], other: number | undefined): SourceCount[] =>
    other ? [...items, { value: '', count: other, other: true }] : items;
  const lists: [Key, SourceCount[], string][] = [
    ['sourceScripts', withOther(src.scripts, src.other?.scripts), 'sources-scripts'],
    ['sourceSenders', withOther(src.senders, src.other?.senders), 'sources-senders'],
    ['sourceDomains', withOther(src.domains, src.other?.domains), 'sources-domains'],
    ['sourceSubjects', withOther(src.subjects, src.other?.subjects), 'sources-subjects'],
  ];
  const empty = lists.every(([, items]) => items.length === 0);
  const label = (key: Key, c: SourceCount): string => {
    if (c.other) return t('otherSources');
    // A script as the customer knows it: the API gives "uid:path".
    const value = key === 'sourceScripts' ? c.value.replace(/^\d+:/, '') : c.value;
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
                h('tr', {}, h('td', { className: 'source-value' }, label(key, c)), h('td', { className: 'num' }, formatNumber(c.count))),
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
