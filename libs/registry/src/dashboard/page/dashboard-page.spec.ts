import { Script } from 'node:vm';
import { sseFrame } from '../sse-viewer';
import { DASHBOARD_HTML } from './dashboard-html';
import { DASHBOARD_SCRIPT } from './dashboard-script';

describe('the shipped page', () => {
  it('has a script that parses (the browser test runs it)', () => {
    expect(() => new Script(DASHBOARD_SCRIPT, { filename: 'app.js' })).not.toThrow();
  });

  it.each(['dashboard/app.css', 'dashboard/app.js'])('links %s relatively, with nothing from elsewhere', (asset) => {
    expect(DASHBOARD_HTML).toContain(`"${asset}"`);
    expect(DASHBOARD_HTML).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('labels its token field', () => {
    expect(DASHBOARD_HTML).toMatch(/<label for="token">/);
    expect(DASHBOARD_HTML).toMatch(/<input id="token" type="password"/);
  });
});

describe('sseFrame', () => {
  it.each([
    ['snapshot', '{"a":1}', 'event: snapshot\ndata: {"a":1}\n\n'],
    ['membership', 'x\ny\r\nz', 'event: membership\ndata: x y z\n\n'],
  ])('%s %j', (event, data, frame) => {
    expect(sseFrame(event, data)).toBe(frame);
  });
});
