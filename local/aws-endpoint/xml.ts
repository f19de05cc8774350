/**
 * Just enough XML for the AWS wire protocols: a builder for responses and a small parser for the
 * Route 53 request bodies. Hand-written so the endpoint needs no dependency beyond node itself.
 */

/** A list rendered as repeated `<member>` elements inside its parent (EC2 `item`, SNS `member`, Route 53 names). */
export class XmlList {
  constructor(
    readonly member: string,
    readonly items: readonly XmlNode[],
  ) {}
}

/** A value the builder can render; `null`/`undefined` members are left out, as AWS leaves out absent fields. */
export type XmlNode = string | number | boolean | Date | null | undefined | XmlList | XmlObject;
/** An element's children, in insertion order. */
export interface XmlObject {
  readonly [name: string]: XmlNode;
}

/** Shorthand for {@link XmlList}. */
export function xmlList(member: string, items: readonly XmlNode[]): XmlList {
  return new XmlList(member, items);
}

/** Escape text for element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&apos;';
    }
  });
}

function renderValue(node: XmlNode): string {
  if (node === null || node === undefined) return '';
  if (node instanceof XmlList) return node.items.map((item) => `<${node.member}>${renderValue(item)}</${node.member}>`).join('');
  if (node instanceof Date) return node.toISOString();
  if (typeof node === 'object') return renderChildren(node);
  return escapeXml(String(node));
}

function renderChildren(obj: XmlObject): string {
  let out = '';
  for (const [name, value] of Object.entries(obj)) {
    if (value === null || value === undefined) continue;
    out += `<${name}>${renderValue(value)}</${name}>`;
  }
  return out;
}

/** Render a document: `<?xml?>` declaration, a root element with an optional namespace, then `body`. */
export function renderXml(root: string, body: XmlObject, xmlns?: string): string {
  const ns = xmlns === undefined ? '' : ` xmlns="${escapeXml(xmlns)}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${renderChildren(body)}</${root}>`;
}

/** A parsed element: local name (namespace prefix dropped), child elements, and its own text. */
export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

/** Thrown for input that is not well-formed enough to read. */
export class XmlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlParseError';
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

/**
 * Parse a document into its root element. Attributes are ignored (no AWS request body here needs them);
 * comments, processing instructions and the doctype are skipped; CDATA is kept as text.
 */
export function parseXml(source: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const appendText = (text: string): void => {
    const top = stack[stack.length - 1];
    if (top !== undefined) top.text += text;
    else if (text.trim() !== '') throw new XmlParseError('text outside the root element');
  };
  while (i < source.length) {
    const lt = source.indexOf('<', i);
    if (lt === -1) {
      appendText(decodeEntities(source.slice(i)));
      break;
    }
    if (lt > i) appendText(decodeEntities(source.slice(i, lt)));
    if (source.startsWith('<!--', lt)) {
      const end = source.indexOf('-->', lt + 4);
      if (end === -1) throw new XmlParseError('unterminated comment');
      i = end + 3;
    } else if (source.startsWith('<![CDATA[', lt)) {
      const end = source.indexOf(']]>', lt + 9);
      if (end === -1) throw new XmlParseError('unterminated CDATA section');
      appendText(source.slice(lt + 9, end));
      i = end + 3;
    } else if (source.startsWith('<?', lt) || source.startsWith('<!', lt)) {
      const end = source.indexOf('>', lt);
      if (end === -1) throw new XmlParseError('unterminated declaration');
      i = end + 1;
    } else {
      const end = source.indexOf('>', lt);
      if (end === -1) throw new XmlParseError('unterminated tag');
      const raw = source.slice(lt + 1, end);
      i = end + 1;
      if (raw.startsWith('/')) {
        const name = localName(raw.slice(1).trim());
        const open = stack.pop();
        if (open === undefined || open.name !== name) throw new XmlParseError(`unexpected closing tag </${name}>`);
        if (stack.length === 0) root = open;
        continue;
      }
      const selfClosing = raw.endsWith('/');
      const name = localName((selfClosing ? raw.slice(0, -1) : raw).trim().split(/\s+/, 1)[0] ?? '');
      if (name === '') throw new XmlParseError('empty tag name');
      const element: XmlElement = { name, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent !== undefined) parent.children.push(element);
      else if (root !== undefined) throw new XmlParseError('more than one root element');
      if (selfClosing) {
        if (parent === undefined) root = element;
      } else {
        stack.push(element);
      }
    }
  }
  if (stack.length > 0) throw new XmlParseError(`unclosed element <${stack[stack.length - 1]?.name}>`);
  if (root === undefined) throw new XmlParseError('no root element');
  return root;
}

function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon === -1 ? qualified : qualified.slice(colon + 1);
}

/** The first child named `name`, if any. */
export function childElement(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** Every child named `name`. */
export function childElements(el: XmlElement | undefined, name: string): XmlElement[] {
  return el === undefined ? [] : el.children.filter((c) => c.name === name);
}

/** The trimmed text of the first child named `name`, if that child exists. */
export function childText(el: XmlElement | undefined, name: string): string | undefined {
  const child = childElement(el, name);
  return child === undefined ? undefined : child.text.trim();
}
