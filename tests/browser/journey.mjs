// The reporter's journey in headless Chromium with JavaScript disabled, as
// in Tor Browser at "Safest": home, a refused form that comes back filled in,
// a tip with files, the receipt, the status, a follow-up, the privacy page,
// the other language, an error page. Run once at phone width (360 px) and
// once at desktop width, with a full-page screenshot of every page.
//
// Usage: node journey.mjs BASE_URL SCREENSHOT_DIR
// Run by tests/browser.rs against a server with the default limits, so the
// screenshots show what a reporter sees.
// Never loads anything but BASE_URL, and fails on the first broken step.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node journey.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const CHROMIUM = process.env.PELUIT_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WIDTHS = [{ width: 360, height: 740 }, { width: 1280, height: 800 }];
// WCAG 2.5.5 and the platform guidelines: 44 CSS px for anything tapped.
const TOUCH = 44;
const CODE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]{5}$/;

function check(ok, what) {
  if (!ok) throw new Error(what);
}

const file = (name, text) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(text) });

// Checks every page: language, no sideways scrolling, large touch targets.
async function inspect(page, lang, width) {
  check(await page.getAttribute('html', 'lang') === lang, `${page.url()}: lang is not ${lang}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${page.url()}: ${overflow}px wider than the ${width}px screen`);
  const targets = page.locator('a, button, select, textarea, summary, input:not([type=hidden])');
  for (const el of await targets.all()) {
    const box = await el.boundingBox();
    // Hidden (closed <details>) and off-screen (the skip link until focused).
    if (!box || box.x + box.width <= 0) continue;
    const name = (await el.evaluate((e) => e.outerHTML)).slice(0, 80);
    check(box.height >= TOUCH && box.width >= TOUCH, `${page.url()}: ${name} is ${box.width}x${box.height}px`);
  }
}

async function shot(page, name, width) {
  await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
  console.log(`  ${name}-${width}.png (${page.url().replace(base, '')})`);
}

// Step 1: the home page says what this is and leads to the form.
async function home(page, width) {
  await page.goto(`${base}/`);
  await inspect(page, 'id', width);
  check((await page.textContent('h1')).includes('Laporkan korupsi'), 'home: no title');
  check((await page.textContent('.advice')).includes('Tor Browser'), 'home: no safety advice');
  await shot(page, 'home', width);
  await page.getByRole('link', { name: 'Mulai melapor' }).first().click();
  check(page.url() === `${base}/submit?lang=id`, `home: the start button led to ${page.url()}`);
}

// Step 2: one file over the limit the form states: the form comes back with
// every field kept.
async function refusedForm(page, width) {
  await inspect(page, 'id', width);
  check(await page.locator('details').getAttribute('open') === null, 'submit: identity open by default');
  await shot(page, 'submit', width);
  await page.selectOption('#category', 'pengadaan');
  await page.fill('#what', 'Harga laptop dinaikkan tiga kali lipat <b>tebal</b>');
  await page.fill('#who', 'Pejabat pembuat komitmen');
  await page.fill('#where', 'Dinas Pendidikan');
  await page.fill('#when', 'Maret 2025, masih berlangsung');
  await page.fill('#how', 'Lewat penunjukan langsung');
  await page.fill('#text', 'Baris satu\nBaris dua');
  await page.locator('summary').click();
  await page.fill('#identity', 'Budi, 0812');
  const limit = Number((await page.textContent('#file-hint')).match(/Paling banyak (\d+) berkas/)[1]);
  const tooMany = Array.from({ length: limit + 1 }, (_, i) => file(`lampiran-${i + 1}.txt`, `${i}`));
  await page.setInputFiles('#file', tooMany);
  await page.getByRole('button', { name: /Kirim laporan/ }).click();
  check((await page.textContent('[role=alert]')).includes('pilih lagi berkas'), 'refused: files not mentioned');
  const kept = { '#category': 'pengadaan', '#what': 'Harga laptop dinaikkan tiga kali lipat <b>tebal</b>',
    '#who': 'Pejabat pembuat komitmen', '#where': 'Dinas Pendidikan', '#when': 'Maret 2025, masih berlangsung',
    '#how': 'Lewat penunjukan langsung', '#text': 'Baris satu\nBaris dua', '#identity': 'Budi, 0812' };
  for (const [sel, want] of Object.entries(kept)) {
    const got = await page.inputValue(sel);
    check(got === want, `refused: ${sel} came back as ${JSON.stringify(got)}`);
  }
  check(await page.locator('details[open]').count() === 1, 'refused: identity section closed again');
  await inspect(page, 'id', width);
  await shot(page, 'submit-refused', width);
}

// Step 3: choose the files again and send; read the code off the receipt.
async function receipt(page, width) {
  await page.setInputFiles('#file', [file('bukti.txt', 'kuitansi'), file('foto.jpg', '\xff\xd8\xff')]);
  await page.getByRole('button', { name: /Kirim laporan/ }).click();
  const code = (await page.textContent('#receipt')).trim();
  check(CODE.test(code), `receipt: ${JSON.stringify(code)} is not a grouped receipt code`);
  check(!page.url().includes(code), 'receipt: the code is in the URL');
  check((await page.textContent('main')).includes('90 hari'), 'receipt: no feedback deadline');
  await inspect(page, 'id', width);
  await shot(page, 'receipt', width);
  return code;
}

// Step 4: check the status with the keyboard only, the code typed loosely.
async function status(page, width, code) {
  await page.getByRole('link', { name: 'Cek status' }).last().click();
  await inspect(page, 'id', width);
  await shot(page, 'status', width);
  for (let i = 0; i < 20 && await page.evaluate(() => document.activeElement.id) !== 'receipt'; i++) {
    await page.keyboard.press('Tab');
  }
  check(await page.evaluate(() => document.activeElement.id) === 'receipt', 'status: the field is not reachable by Tab');
  await page.keyboard.type(code.toLowerCase().replaceAll('-', ' '));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#status');
  check(await page.getAttribute('#status', 'data-status') === 'received', 'status: not received');
  check((await page.textContent('#status')).trim() === 'Diterima', 'status: not in words');
  check(!page.url().includes(code.slice(0, 4)), 'status: the code is in the URL');
  await inspect(page, 'id', width);
  await shot(page, 'status-report', width);
}

// Step 5: add a message and a file to the report.
async function followUp(page, width) {
  await page.fill('#text', 'Ada kuitansi kedua.');
  await page.setInputFiles('#file', [file('kuitansi-2.txt', 'kedua')]);
  await page.getByRole('button', { name: /Kirim tambahan/ }).click();
  check((await page.textContent('[role=status]')).includes('sudah diterima'), 'follow-up: not confirmed');
  check(await page.getAttribute('#status', 'data-status') === 'received', 'follow-up: status lost');
  await inspect(page, 'id', width);
  await shot(page, 'status-followup', width);
}

// Step 6: privacy, English by its link, and an error page.
async function otherPages(page, width) {
  await page.getByRole('link', { name: 'Privasi' }).click();
  await inspect(page, 'id', width);
  await shot(page, 'about', width);
  await page.getByRole('link', { name: 'English' }).click();
  check(page.url() === `${base}/about?lang=en`, `language link led to ${page.url()}`);
  await inspect(page, 'en', width);
  await page.getByRole('link', { name: 'Make a report' }).click();
  await inspect(page, 'en', width);
  await shot(page, 'submit-en', width);
  await page.goto(`${base}/no-such-page`);
  await inspect(page, 'id', width);
  await shot(page, 'error', width);
}

async function journey(browser, viewport) {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport, locale: 'id-ID' });
  const foreign = [];
  context.on('request', (r) => { if (!r.url().startsWith(`${base}/`)) foreign.push(r.url()); });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  console.log(`journey at ${viewport.width}px`);
  await home(page, viewport.width);
  await refusedForm(page, viewport.width);
  const code = await receipt(page, viewport.width);
  await status(page, viewport.width, code);
  await followUp(page, viewport.width);
  await otherPages(page, viewport.width);
  check((await context.cookies()).length === 0, 'a page set a cookie');
  check(foreign.length === 0, `requests to elsewhere: ${foreign.join(', ')}`);
  await context.close();
  console.log(`receipt ${code}`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  for (const viewport of WIDTHS) await journey(browser, viewport);
  console.log('journey ok');
} catch (e) {
  console.error(`journey failed: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
