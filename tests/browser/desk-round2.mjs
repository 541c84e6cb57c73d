// Round two at `peluit desk`, after the actions were pushed: upload the next
// bundle (pulled with --since), then the case's conversation shows the reply
// and the status change with the names of those who signed them, and the
// other case is marked deleted on the server.
//
// Usage: node desk-round2.mjs DESK_ADDRESS BUNDLE SCREENSHOT_DIR
// Run by tests/desk_browser.rs. Never loads anything but the desk.
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [address, bundle, shots] = process.argv.slice(2);
const base = new URL(address).origin;
const CHROMIUM = process.env.PELUIT_CHROMIUM || '/usr/bin/chromium';

function check(ok, what) {
  if (!ok) throw new Error(what);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 800 }, locale: 'id-ID' });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  await page.goto(address);
  await page.getByRole('link', { name: 'Impor bundel' }).click();
  await page.setInputFiles('#bundle', bundle);
  await page.getByRole('button', { name: 'Impor' }).last().click();
  await page.waitForSelector('#imported, #import-error');
  const imported = await page.textContent('main');
  check(imported.includes('1 penghapusan') && imported.includes('1 balasan dan catatan'), `upload: ${imported}`);
  await page.getByRole('link', { name: 'Kasus', exact: true }).click();
  await page.selectOption('#status', 'deleted');
  await page.getByRole('button', { name: 'Tampilkan' }).click();
  check(await page.locator('table.cases tbody tr').count() === 1, 'the deleted case is not listed as deleted');
  await page.selectOption('#status', 'investigating');
  await page.getByRole('button', { name: 'Tampilkan' }).click();
  await page.locator('table.cases tbody tr a').first().click();
  const talk = await page.locator('#conversation li').allTextContents();
  const reply = talk.find((l) => l.includes('Balasan untuk pelapor'));
  check(reply && reply.includes('oleh ani') && reply.includes('Terima kasih, kami sedang memeriksanya.'), `reply: ${talk}`);
  const status = talk.find((l) => l.includes('Tindak lanjut'));
  check(status && status.includes('oleh budi'), `status: ${talk}`);
  await page.screenshot({ path: join(shots, 'desk-conversation.png'), fullPage: true });
  console.log('round2 ok');
  await context.close();
} catch (e) {
  console.error(`round two failed: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
