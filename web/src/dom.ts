type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

// The listeners h() added to each element, so that morph() can move them onto the element it
// keeps.
const listeners = new WeakMap<Element, Map<string, EventListener>>();

/** Creates an element: attributes (on* are listeners; false/null drop the attribute), children.
 * `checked` and `value` also set the property, which is what a form control shows. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      const type = key.slice(2);
      el.addEventListener(type, value);
      if (!listeners.has(el)) listeners.set(el, new Map());
      listeners.get(el)?.set(type, value);
    } else if (key === 'className') {
      el.className = String(value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function keyOf(n: Node): string | null {
  return n instanceof Element ? (n.id || n.getAttribute('data-key')) : null;
}

function sameKind(a: Node, b: Node): boolean {
  if (a.nodeType !== b.nodeType) return false;
  return !(a instanceof Element) || a.tagName === (b as Element).tagName;
}

// Attributes the person changes (a <details> they opened): kept as they are.
function ownedByUser(el: Element, name: string): boolean {
  return name === 'open' && el.tagName === 'DETAILS';
}

function morphAttributes(old: Element, next: Element): void {
  for (const name of old.getAttributeNames()) {
    if (!next.hasAttribute(name) && !ownedByUser(old, name)) old.removeAttribute(name);
  }
  for (const name of next.getAttributeNames()) {
    const v = next.getAttribute(name) ?? '';
    if (old.getAttribute(name) !== v) old.setAttribute(name, v);
  }
  const was = listeners.get(old);
  was?.forEach((fn, type) => old.removeEventListener(type, fn));
  const now = listeners.get(next);
  now?.forEach((fn, type) => old.addEventListener(type, fn));
  if (now) listeners.set(old, now);
  else listeners.delete(old);
  if (old instanceof HTMLInputElement && next instanceof HTMLInputElement) {
    const checked = next.hasAttribute('checked');
    if (old.checked !== checked) old.checked = checked;
    if (old.type === 'checkbox') old.indeterminate = next.indeterminate;
  }
}

/** Makes `old`'s children those of `next`, keeping (and updating in place) every element of
 * the same kind at the same place, or with the same id or data-key: what a screen reader or
 * the keyboard is on stays where it is. An element with data-keep (a chart's canvas) is kept
 * as it is. */
export function morphChildren(old: Element, next: Element): void {
  const oldKids = [...old.childNodes];
  const byKey = new Map<string, Node>();
  for (const k of oldKids) {
    const key = keyOf(k);
    if (key) byKey.set(key, k);
  }
  const used = new Set<Node>();
  const wanted = [...next.childNodes];
  wanted.forEach((n, i) => {
    const key = keyOf(n);
    let match: Node | undefined = key ? byKey.get(key) : oldKids[i];
    if (match && (used.has(match) || !sameKind(match, n) || (!key && keyOf(match)))) match = undefined;
    let keep: Node;
    if (match) {
      used.add(match);
      morphNode(match, n);
      keep = match;
    } else {
      keep = n;
    }
    const at = old.childNodes[i];
    if (at !== keep) old.insertBefore(keep, at ?? null);
  });
  for (const k of oldKids) if (!used.has(k) && k.parentNode === old) old.removeChild(k);
  while (old.childNodes.length > wanted.length) old.removeChild(old.lastChild as Node);
}

function morphNode(old: Node, next: Node): void {
  if (!(old instanceof Element) || !(next instanceof Element)) {
    if (old.textContent !== next.textContent) old.textContent = next.textContent;
    return;
  }
  if (old.hasAttribute('data-keep')) return;
  morphAttributes(old, next);
  morphChildren(old, next);
}

/** Shows these nodes as what the page shows (the #app element's children), updating in place
 * what was there. */
export function showPage(...nodes: Node[]): void {
  const app = document.getElementById('app') as HTMLDivElement;
  const next = document.createElement('div');
  next.append(...nodes);
  morphChildren(app, next);
}
