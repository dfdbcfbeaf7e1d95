import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASSETS_DIR, VIEWS_DIR } from './console-views.js';

/** WCAG 2.x relative luminance and contrast ratio of two #rrggbb colours. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

const css = readFileSync(join(ASSETS_DIR, 'console.css'), 'utf8');
const variable = (name: string) => {
  const match = new RegExp(`--${name}:\\s*(#[0-9a-f]{6})`, 'i').exec(css);
  if (!match) throw new Error(`console.css has no --${name}`);
  return match[1]!;
};

describe('console.css', () => {
  it('meets WCAG AA contrast (4.5:1) for text, badges and alerts', () => {
    const pairs: [string, string][] = [
      ['text', 'bg'],
      ['muted', 'bg'],
      ['muted', 'panel'],
      ['text', 'panel'],
      ['link', 'bg'],
      ['done-fg', 'done-bg'],
      ['run-fg', 'run-bg'],
      ['wait-fg', 'wait-bg'],
      ['bad-fg', 'bad-bg'],
      ['neutral-fg', 'neutral-bg'],
    ];
    for (const [fg, bg] of pairs) {
      expect({ pair: `${fg} on ${bg}`, ratio: contrast(variable(fg), variable(bg)) >= 4.5 }).toEqual({
        pair: `${fg} on ${bg}`,
        ratio: true,
      });
    }
  });

  it('meets it for the header and the buttons, which use fixed colours', () => {
    expect(contrast('#ffffff', '#14213d')).toBeGreaterThanOrEqual(4.5);
    expect(contrast('#dfe4ee', '#14213d')).toBeGreaterThanOrEqual(4.5);
    expect(contrast('#ffffff', '#0b4fa8')).toBeGreaterThanOrEqual(4.5);
    expect(contrast('#ffffff', '#a3221a')).toBeGreaterThanOrEqual(4.5);
    expect(contrast('#3f4450', '#d9dce1')).toBeGreaterThanOrEqual(4.5);
  });

  it('loads nothing from another origin', () => {
    expect(css).not.toMatch(/url\(|@import/);
  });
});

describe('console templates', () => {
  const views = readdirSync(VIEWS_DIR).filter((name) => name.endsWith('.eta'));

  it('hold no inline style, inline script or event handler (the CSP would refuse them)', () => {
    expect(views.length).toBeGreaterThan(5);
    for (const name of views) {
      const text = readFileSync(join(VIEWS_DIR, name), 'utf8');
      expect({ name, style: /\sstyle=|<style/i.test(text) }).toEqual({ name, style: false });
      expect({ name, handler: /\son[a-z]+=/i.test(text) }).toEqual({ name, handler: false });
      expect({ name, inlineScript: /<script(?![^>]*\ssrc=)/i.test(text) }).toEqual({
        name,
        inlineScript: false,
      });
    }
  });

  it('print raw (unescaped) output only for the layout’s body', () => {
    for (const name of views) {
      const raw = readFileSync(join(VIEWS_DIR, name), 'utf8').match(/<%~[^%]*%>/g) ?? [];
      expect({ name, raw }).toEqual({ name, raw: name === 'layout.eta' ? ['<%~ it.body %>'] : [] });
    }
  });
});
