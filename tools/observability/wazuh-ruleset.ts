/**
 * An evaluator of the part of Wazuh's (4.x) rule syntax that infra/observability/wazuh/lb_rules.xml
 * uses, so the rules can be checked against real log lines here, where Wazuh itself (wazuh-logtest)
 * cannot be installed. It refuses every element, attribute and pattern outside that subset, so a
 * rule that this cannot judge fails the test instead of passing it untried.
 *
 * What it does as Wazuh's analysisd does (read from its rules.c and eventinfo.c):
 * - Decoding: the built-in JSON decoder. Nested objects become dotted names (`res.statusCode`),
 *   numbers and booleans strings, nulls are dropped; keys that are static fields in Wazuh (`url`,
 *   `id`, `status`, ...) are not dynamic fields, so <field> cannot name them.
 * - Matching: a rule without <if_sid>/<if_matched_sid> is a root; a matching rule's children
 *   (rules naming it in <if_sid> or <if_matched_sid>) are tried next, and the deepest match is the
 *   event's rule. Every <field> must match (type="pcre2" only). Two siblings matching the same
 *   event is refused: Wazuh would pick by level and load order, and these rules must not rely on it.
 * - Frequency: `frequency="F" timeframe="T"` with <if_matched_sid>X</if_matched_sid> fires on an
 *   event matching X when F-1 earlier events whose rule was X fell within T seconds (and, with
 *   <same_field>, share those fields). Wazuh walks X's earlier events newest first and stops at one
 *   that already completed a burst, so after firing it needs F new events to fire again.
 *
 * What it does not: an event's time is its `time` field (analysisd uses the time it reads the
 * event), there is one agent (analysisd only counts events of the same agent), and `ignore`,
 * `options`, lists, `<match>`/`<regex>` on the full log, and the osregex/osmatch types are left out.
 */

export interface WazuhRule {
  readonly id: number;
  readonly level: number;
  readonly decodedAs?: string;
  readonly ifSid?: number;
  readonly ifMatchedSid?: number;
  readonly frequency?: number;
  readonly timeframeS?: number;
  readonly fields: readonly { readonly name: string; readonly pattern: RegExp }[];
  readonly sameFields: readonly string[];
  readonly description: string;
  readonly groups: readonly string[];
}

export interface DecodedEvent {
  /** The line as read. */
  readonly line: string;
  readonly decoder: 'json';
  /** Dynamic fields, as Wazuh's JSON decoder names them. */
  readonly fields: ReadonlyMap<string, string>;
  /** Seconds since the epoch (the line's `time`). */
  readonly time: number;
}

export interface Verdict {
  readonly event: DecodedEvent;
  /** The deepest rule that matched, or undefined when no root matched. */
  readonly rule?: WazuhRule;
  /** Level > 0: Wazuh writes an alert. */
  readonly alert: boolean;
  /** The rule's description with $(field) filled in from the event. */
  readonly description?: string;
}

// --------------------------------------------------------------------------------------- XML

export interface XmlElement {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const decodeEntities = (text: string) => text.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ENTITIES[e]);

/** Elements, double-quoted attributes, text and comments: what Wazuh's rule files are made of. */
export function parseXml(source: string): XmlElement[] {
  const roots: XmlElement[] = [];
  const stack: XmlElement[] = [];
  const token = /<!--[\s\S]*?-->|<\/([\w.-]+)\s*>|<([\w.-]+)((?:\s+[\w.-]+="[^"]*")*)\s*(\/?)>|([^<]+)/gy;
  let at = 0;
  for (let m = token.exec(source); m; m = token.exec(source)) {
    at = token.lastIndex;
    const [whole, close, open, attrs, selfClosing, text] = m;
    if (whole.startsWith('<!--')) continue;
    if (text !== undefined) {
      if (stack.length > 0) stack[stack.length - 1].text += decodeEntities(text);
      else if (text.trim()) throw new Error(`text outside any element: ${text.trim().slice(0, 40)}`);
    } else if (close !== undefined) {
      const top = stack.pop();
      if (top?.name !== close) throw new Error(`</${close}> closes <${top?.name ?? 'nothing'}>`);
    } else {
      const attributes: Record<string, string> = {};
      for (const a of attrs.matchAll(/([\w.-]+)="([^"]*)"/g)) attributes[a[1]] = decodeEntities(a[2]);
      const element: XmlElement = { name: open, attributes, children: [], text: '' };
      (stack.length > 0 ? stack[stack.length - 1].children : roots).push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  if (at !== source.length) throw new Error(`cannot read the XML from: ${source.slice(at, at + 40)}`);
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1].name}> is never closed`);
  return roots;
}

// ----------------------------------------------------------------------------------- rules

const RULE_ATTRIBUTES = new Set(['id', 'level', 'frequency', 'timeframe']);
const RULE_ELEMENTS = new Set(['decoded_as', 'if_sid', 'if_matched_sid', 'field', 'same_field', 'description', 'group']);
/** Keys Wazuh's JSON decoder stores in static fields: <field name> does not see them. */
const STATIC_FIELDS = new Set(['srcip', 'dstip', 'srcport', 'dstport', 'protocol', 'action', 'srcuser', 'user', 'dstuser', 'id', 'status', 'command', 'url', 'data', 'extra_data', 'system_name']);

/** A PCRE2 pattern JavaScript reads the same way: no inline flags, lookbehind, named groups, \Q..\E, possessive or atomic groups. */
function pcre2(pattern: string, where: string): RegExp {
  if (/\(\?(?!:)|\\[QEAzZGKpPhHvVRX]|[*+?}]\+/.test(pattern)) throw new Error(`${where}: "${pattern}" uses PCRE2 syntax this evaluator does not read`);
  return new RegExp(pattern, 'u');
}

function integer(value: string | undefined, where: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${where}: "${value}" is not an integer in ${min}-${max}`);
  return n;
}

function readRule(el: XmlElement): WazuhRule {
  const where = `rule ${el.attributes.id ?? '?'}`;
  for (const a of Object.keys(el.attributes)) if (!RULE_ATTRIBUTES.has(a)) throw new Error(`${where}: attribute ${a} is outside the evaluated subset`);
  const one = (name: string) => {
    const found = el.children.filter((c) => c.name === name);
    if (found.length > 1) throw new Error(`${where}: more than one <${name}>`);
    return found[0]?.text.trim();
  };
  const fields = [];
  for (const child of el.children) {
    if (!RULE_ELEMENTS.has(child.name)) throw new Error(`${where}: <${child.name}> is outside the evaluated subset`);
    if (child.name !== 'field' && Object.keys(child.attributes).length > 0) throw new Error(`${where}: <${child.name}> takes no attribute here`);
    if (child.name !== 'field') continue;
    const { name, type, ...rest } = child.attributes;
    if (!name || type !== 'pcre2' || Object.keys(rest).length > 0) throw new Error(`${where}: <field> needs name and type="pcre2", nothing else`);
    if (STATIC_FIELDS.has(name)) throw new Error(`${where}: "${name}" is a static field in Wazuh, not a decoded one`);
    fields.push({ name, pattern: pcre2(child.text, where) });
  }
  const rule: WazuhRule = {
    id: integer(el.attributes.id, where, 1, 999_999) as number,
    level: integer(el.attributes.level, where, 0, 16) as number,
    decodedAs: one('decoded_as'),
    ifSid: integer(one('if_sid'), `${where} <if_sid>`, 1, 999_999),
    ifMatchedSid: integer(one('if_matched_sid'), `${where} <if_matched_sid>`, 1, 999_999),
    frequency: integer(el.attributes.frequency, `${where} frequency`, 2, 9_999),
    timeframeS: integer(el.attributes.timeframe, `${where} timeframe`, 1, 99_999),
    fields,
    sameFields: el.children.filter((c) => c.name === 'same_field').map((c) => c.text.trim()),
    description: one('description') ?? '',
    groups: el.children.filter((c) => c.name === 'group').flatMap((c) => c.text.split(',').map((g) => g.trim()).filter(Boolean)),
  };
  if (rule.id === undefined || rule.level === undefined) throw new Error(`${where}: id and level are required`);
  if (!rule.description) throw new Error(`${where}: no <description>`);
  if (rule.ifSid !== undefined && rule.ifMatchedSid !== undefined) throw new Error(`${where}: both <if_sid> and <if_matched_sid>`);
  const counts = rule.frequency !== undefined || rule.timeframeS !== undefined || rule.sameFields.length > 0;
  if (counts !== (rule.ifMatchedSid !== undefined)) throw new Error(`${where}: frequency, timeframe and <same_field> go with <if_matched_sid>, and it with them`);
  if (rule.ifMatchedSid !== undefined && (rule.frequency === undefined || rule.timeframeS === undefined)) throw new Error(`${where}: <if_matched_sid> needs frequency and timeframe`);
  if ((rule.ifSid ?? rule.ifMatchedSid) === undefined && rule.decodedAs !== 'json') throw new Error(`${where}: a root rule must say <decoded_as>json</decoded_as>`);
  if (rule.decodedAs !== undefined && rule.decodedAs !== 'json') throw new Error(`${where}: only the json decoder is evaluated`);
  return rule;
}

/** The rules of a Wazuh rule file (root <group name="..."> elements holding <rule>s). */
export function parseRules(xml: string): WazuhRule[] {
  const rules: WazuhRule[] = [];
  for (const group of parseXml(xml)) {
    if (group.name !== 'group' || !group.attributes.name) throw new Error(`<${group.name}> at the top: only <group name="..."> is allowed`);
    for (const el of group.children) {
      if (el.name !== 'rule') throw new Error(`<${el.name}> in a group: only <rule> is allowed`);
      rules.push(readRule(el));
    }
  }
  const ids = new Map(rules.map((r) => [r.id, r]));
  if (ids.size !== rules.length) throw new Error('two rules share an id');
  for (const r of rules) {
    const parent = r.ifSid ?? r.ifMatchedSid;
    if (parent !== undefined && !ids.has(parent)) throw new Error(`rule ${r.id} follows ${parent}, which does not exist`);
    if (r.ifMatchedSid !== undefined && ids.get(r.ifMatchedSid)!.level === 0) throw new Error(`rule ${r.id}: Wazuh keeps no history of level-0 rule ${r.ifMatchedSid} for <if_matched_sid>`);
  }
  return rules;
}

// ------------------------------------------------------------------------------- decoding

/** A log line as Wazuh's JSON decoder sees it; undefined when the line is not a JSON object. */
export function decodeJsonLine(line: string): DecodedEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = new Map<string, string>();
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [key, v] of Object.entries(obj)) {
      const name = prefix + key;
      if (v === null || v === undefined) continue;
      if (typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, `${name}.`);
      else if (!STATIC_FIELDS.has(name)) fields.set(name, Array.isArray(v) ? JSON.stringify(v) : String(v));
    }
  };
  walk(value as Record<string, unknown>, '');
  const time = Date.parse(fields.get('time') ?? '');
  if (Number.isNaN(time)) throw new Error(`a log line without an ISO time: ${line.slice(0, 80)}`);
  return { line, decoder: 'json', fields, time: time / 1000 };
}

// ------------------------------------------------------------------------------ evaluation

interface Seen {
  readonly event: DecodedEvent;
  /** The level of the frequency rule whose burst this event completed (analysisd's lf->matched). */
  matched: number;
}

/** Wazuh's analysis of a stream of events, one at a time, with the history frequency rules count on. */
export class WazuhEvaluator {
  private readonly children = new Map<number | undefined, WazuhRule[]>();
  /** Rule id -> events whose rule it was, oldest first (analysisd's sid_prev_matched). */
  private readonly history = new Map<number, Seen[]>();

  constructor(readonly rules: readonly WazuhRule[]) {
    for (const r of rules) {
      const parent = r.ifSid ?? r.ifMatchedSid;
      this.children.set(parent, [...(this.children.get(parent) ?? []), r]);
    }
  }

  evaluate(event: DecodedEvent): Verdict {
    let rule: WazuhRule | undefined;
    let seen: Seen = { event, matched: 0 };
    for (let candidates = this.children.get(undefined) ?? []; ; ) {
      const matches = candidates.filter((r) => this.matches(r, seen));
      if (matches.length > 1) throw new Error(`rules ${matches.map((r) => r.id).join(' and ')} both match: ${event.line}`);
      if (matches.length === 0) break;
      rule = matches[0];
      if (rule.frequency !== undefined) seen = this.countBurst(rule, seen);
      candidates = this.children.get(rule.id) ?? [];
    }
    if (!rule) return { event, alert: false };
    this.history.set(rule.id, [...(this.history.get(rule.id) ?? []), seen]);
    return { event, rule, alert: rule.level > 0, description: describeAlert(rule, event) };
  }

  private matches(rule: WazuhRule, seen: Seen): boolean {
    if (rule.decodedAs !== undefined && rule.decodedAs !== seen.event.decoder) return false;
    for (const f of rule.fields) {
      const value = seen.event.fields.get(f.name);
      if (value === undefined || !f.pattern.test(value)) return false;
    }
    return rule.frequency === undefined || this.burstWith(rule, seen) !== undefined;
  }

  /** analysisd's Search_LastSids: the newest earlier event of the burst, or undefined when there is no burst yet. */
  private burstWith(rule: WazuhRule, seen: Seen): { readonly newest?: Seen } | undefined {
    const earlier = this.history.get(rule.ifMatchedSid as number) ?? [];
    let counted = 0;
    let newest: Seen | undefined;
    for (let i = earlier.length - 1; i >= 0; i--) {
      const prev = earlier[i];
      if (seen.event.time - prev.event.time > (rule.timeframeS as number)) return undefined;
      if (rule.sameFields.some((name) => prev.event.fields.get(name) === undefined || prev.event.fields.get(name) !== seen.event.fields.get(name))) continue;
      if (prev.matched >= rule.level) return undefined; // it completed an earlier burst
      // Wazuh stores frequency - 2 and fires on the earlier event after that many: F - 1 earlier ones.
      if (counted < (rule.frequency as number) - 2) {
        counted++;
        newest ??= prev;
        continue;
      }
      return { newest };
    }
    return undefined;
  }

  private countBurst(rule: WazuhRule, seen: Seen): Seen {
    const burst = this.burstWith(rule, seen)!;
    if (burst.newest) burst.newest.matched = rule.level;
    seen.matched = rule.level;
    return seen;
  }
}

/** Wazuh fills $(name) in a description from the event's decoded fields. */
export function describeAlert(rule: WazuhRule, event: DecodedEvent): string {
  return rule.description.replace(/\$\(([^)]+)\)/g, (_, name: string) => {
    const value = event.fields.get(name);
    if (value === undefined) throw new Error(`rule ${rule.id}'s description names $(${name}), which this line does not have: ${event.line}`);
    return value;
  });
}
