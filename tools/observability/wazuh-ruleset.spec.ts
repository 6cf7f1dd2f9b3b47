import { decodeJsonLine, parseRules, WazuhEvaluator } from './wazuh-ruleset';

// The evaluator itself, on small rule sets: it must count bursts as analysisd does and refuse
// what it cannot judge. (The real rules meet the real log lines in wazuh-rules.e2e-spec.ts.)

const rules = (body: string) => parseRules(`<group name="t,">${body}</group>`);
const ROOT = `<rule id="1" level="0"><decoded_as>json</decoded_as><field name="service" type="pcre2">^app$</field><description>app</description></rule>`;
const FAIL = `<rule id="2" level="3"><if_sid>1</if_sid><field name="msg" type="pcre2">^failed$</field><description>failed on $(pool)</description></rule>`;
const line = (second: number, fields: Record<string, unknown>) =>
  JSON.stringify({ level: 'info', time: new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString(), service: 'app', ...fields });

function run(xml: string, lines: string[]): (number | undefined)[] {
  const evaluator = new WazuhEvaluator(rules(xml));
  return lines.map((l) => evaluator.evaluate(decodeJsonLine(l)!).rule?.id);
}

describe('Wazuh rule evaluator', () => {
  it('decodes JSON as Wazuh does: dotted names, strings, no nulls, no static fields', () => {
    const event = decodeJsonLine(line(0, { res: { statusCode: 403 }, ok: true, gone: null, url: '/x', list: [1, 2] }))!;
    expect(Object.fromEntries(event.fields)).toMatchObject({ 'res.statusCode': '403', ok: 'true', service: 'app', list: '[1,2]' });
    expect(event.fields.has('gone')).toBe(false);
    expect(event.fields.has('url')).toBe(false);
    expect(decodeJsonLine('not json')).toBeUndefined();
  });

  it('takes the deepest matching rule and fills its description', () => {
    const evaluator = new WazuhEvaluator(rules(ROOT + FAIL));
    const verdict = evaluator.evaluate(decodeJsonLine(line(0, { msg: 'failed', pool: 'api' }))!);
    expect(verdict).toMatchObject({ alert: true, description: 'failed on api' });
    expect(verdict.rule?.id).toBe(2);
    expect(evaluator.evaluate(decodeJsonLine(line(0, { msg: 'fine' }))!)).toMatchObject({ alert: false, rule: { id: 1 } });
    expect(evaluator.evaluate(decodeJsonLine(line(0, { service: 'other' }))!).rule).toBeUndefined();
  });

  it('fires a frequency rule on the F-th event within the timeframe, then needs F new ones', () => {
    const burst = `<rule id="3" level="10" frequency="3" timeframe="60"><if_matched_sid>2</if_matched_sid><description>burst</description></rule>`;
    const failures = [0, 1, 2, 3, 4, 5, 6].map((s) => line(s, { msg: 'failed', pool: 'api' }));
    expect(run(ROOT + FAIL + burst, failures)).toEqual([2, 2, 3, 2, 2, 3, 2]);
  });

  it('counts only events within the timeframe, and with <same_field> only those that share it', () => {
    const burst = `<rule id="3" level="10" frequency="2" timeframe="10"><if_matched_sid>2</if_matched_sid><same_field>pool</same_field><description>burst in $(pool)</description></rule>`;
    const lines = [line(0, { msg: 'failed', pool: 'a' }), line(20, { msg: 'failed', pool: 'a' }), line(21, { msg: 'failed', pool: 'b' }), line(22, { msg: 'failed', pool: 'a' })];
    expect(run(ROOT + FAIL + burst, lines)).toEqual([2, 2, 2, 3]);
  });

  it('refuses two sibling rules that match the same event', () => {
    const twin = FAIL.replace('id="2"', 'id="4"');
    expect(() => run(ROOT + FAIL + twin, [line(0, { msg: 'failed', pool: 'x' })])).toThrow('rules 2 and 4 both match');
  });

  it.each([
    ['an element outside the subset', ROOT.replace('<description>', '<match>x</match><description>'), /<match> is outside/],
    ['a field matched as osregex', ROOT.replace(' type="pcre2"', ''), /type="pcre2"/],
    ['a field Wazuh keeps static', ROOT.replace('name="service"', 'name="url"'), /static field/],
    ['a pattern JavaScript reads differently', ROOT.replace('^app$', '(?i)^app$'), /does not read/],
    ['frequency without if_matched_sid', ROOT + FAIL.replace('level="3"', 'level="3" frequency="2"'), /go with <if_matched_sid>/],
    ['a parent that does not exist', FAIL, /follows 1, which does not exist/],
    ['if_matched_sid on a level-0 rule', ROOT + `<rule id="3" level="5" frequency="2" timeframe="9"><if_matched_sid>1</if_matched_sid><description>d</description></rule>`, /no history of level-0/],
    ['unbalanced XML', ROOT.replace('</rule>', ''), /never closed|closes/],
  ])('refuses %s', (_what, xml, error) => {
    expect(() => rules(xml)).toThrow(error);
  });
});
