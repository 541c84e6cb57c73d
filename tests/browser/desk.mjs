// The investigator's day at `peluit desk` in headless Chromium with
// JavaScript disabled: enter with the printed address, import a bundle,
// search and open a case, show the identity on purpose, download the
// attachment byte-exact, reply, change the status, delete the other case
// after its confirmation, and see what waits to be carried. A screenshot of
// every desk page at 1280 px.
//
// Usage: node desk.mjs DESK_ADDRESS BUNDLE EXPECTED_ATTACHMENT SCREENSHOT_DIR
// Run by tests/desk_browser.rs. Never loads anything but the desk.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [address, bundle, expected, shots] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });
const base = new URL(address).origin;
const CHROMIUM = process.env.PELUIT_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

function check(ok, what) {
  if (!ok) throw new Error(what);
}

async function shot(page, name) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${page.url()}: ${overflow}px wider than the screen`);
  await page.screenshot({ path: join(shots, `desk-${name}.png`), fullPage: true });
  console.log(`  desk-${name}.png (${page.url().replace(base, '')})`);
}

async function openCase(page, words) {
  await page.goto(`${base}/`);
  await page.fill('#q', words);
  await page.getByRole('button', { name: 'Tampilkan' }).click();
  const rows = page.locator('table.cases tbody tr');
  check(await rows.count() === 1, `search ${words}: ${await rows.count()} rows`);
  await rows.locator('a').first().click();
  return (await page.textContent('#case-id')).trim();
}

async function sign(page, button, who) {
  await page.getByRole('button', { name: button }).click();
  const said = await page.textContent('#message');
  check(said.startsWith(who) && said.includes('actions.jsonl'), `signing: ${said}`);
  await page.getByRole('link', { name: 'Kembali' }).click();
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  const context = await browser.newContext({
    javaScriptEnabled: false, acceptDownloads: true, viewport: { width: 1280, height: 800 }, locale: 'id-ID',
  });
  const foreign = [];
  context.on('request', (r) => { if (!r.url().startsWith(`${base}/`)) foreign.push(r.url()); });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);

  // The printed address: the token becomes a cookie and leaves the URL.
  await page.goto(address);
  check(page.url() === `${base}/`, `entry left the token in ${page.url()}`);
  const cookies = await context.cookies();
  check(cookies.length === 1 && cookies[0].httpOnly && cookies[0].sameSite === 'Strict', 'token cookie');
  check(await page.getAttribute('html', 'lang') === 'id', 'not Indonesian first');
  // budi's keys are locked until his passphrase is typed in the page.
  await page.getByRole('link', { name: 'Pemeriksa' }).click();
  check((await page.textContent('main')).includes('terkunci'), 'budi is not locked');
  await page.fill('input[type=password]', 'wrong passphrase');
  await page.getByRole('button', { name: 'Buka kunci' }).click();
  check(await page.locator('[role=alert]').count() === 1, 'a wrong passphrase was not refused');
  await page.fill('input[type=password]', process.env.DESK_PASSPHRASE);
  await page.getByRole('button', { name: 'Buka kunci' }).click();
  check(await page.locator('.people .tag.late').count() === 0, `budi still locked: ${await page.textContent('main')}`);
  await shot(page, 'keys');

  // Import by path.
  await page.getByRole('link', { name: 'Impor bundel' }).click();
  await page.fill('#path', bundle);
  await page.getByRole('button', { name: 'Impor' }).first().click();
  // The progress page reloads itself until the import is done.
  await page.waitForSelector('#imported, #import-error');
  const imported = await page.textContent('main');
  check(imported.includes('Kasus baru') && (await page.locator('#imported ul li').count()) >= 2, `import: ${imported}`);
  await shot(page, 'import');
  await page.getByRole('link', { name: 'Kasus', exact: true }).click();
  check(await page.locator('table.cases tbody tr').count() === 2, 'two cases listed');
  check(await page.locator('tr .tag.new').count() === 2, 'new cases marked');
  await shot(page, 'list');

  // The search never looks in the identity section.
  await page.fill('#q', 'Budi');
  await page.getByRole('button', { name: 'Tampilkan' }).click();
  check(await page.locator('#empty').count() === 1, 'the search found the reporter by name');
  // The case with the attachment.
  const id = await openCase(page, 'laptop');
  check((await page.textContent('dd.what')).includes('<b>tiga kali</b>'), 'reporter text not shown as text');
  check(await page.locator('#identity').count() === 0, 'identity shown without a click');
  check((await page.textContent('#conversation')).includes('Laporan'), 'conversation lacks the report');
  await shot(page, 'case');
  await page.getByRole('link', { name: 'Tampilkan identitas' }).click();
  check((await page.textContent('#identity')).includes('Budi'), 'identity not shown after the click');
  await shot(page, 'identity');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'kuitansi.bin' }).click()]);
  const saved = join(shots, 'downloaded.bin');
  await download.saveAs(saved);
  check(Buffer.compare(readFileSync(saved), readFileSync(expected)) === 0, 'the download is not byte-exact');

  await page.selectOption('#who-reply', 'ani');
  await page.fill('#reply-text', 'Terima kasih, kami sedang memeriksanya.');
  await page.getByRole('button', { name: 'Tandatangani balasan' }).click();
  await shot(page, 'signed');
  check((await page.textContent('#message')).startsWith('ani'), 'no signer named');
  await page.getByRole('link', { name: 'Kembali' }).click();
  await page.selectOption('#who-status', 'budi');
  await page.selectOption('#new-status', 'investigating');
  await sign(page, 'Tandatangani perubahan status', 'budi');
  check((await page.textContent('#case-id')).trim() === id, 'back to another case');

  // The other case, deleted after the confirmation that names it.
  const other = await openCase(page, 'kedua');
  await page.getByRole('link', { name: /Hapus kasus ini/ }).click();
  check((await page.textContent('#delete-case')).trim() === other, 'the confirmation does not name the case');
  await shot(page, 'delete');
  await page.getByRole('button', { name: /Ya, tandatangani/ }).click();
  check((await page.textContent('#message')).includes(other), 'deletion not confirmed');

  await page.getByRole('link', { name: /Menunggu dibawa/ }).click();
  check(await page.locator('#waiting tbody tr').count() === 3, 'three actions waiting');
  const waiting = await page.locator('#waiting tbody tr td:last-child').allTextContents();
  check(waiting.join(',') === 'ani,budi,ani', `signers shown: ${waiting}`);
  await shot(page, 'outgoing');
  // A laptop screen: nothing wider than the window, on every page.
  await page.setViewportSize({ width: 1024, height: 640 });
  for (const path of ['/', `/case/${id}`, `/case/${other}`, '/import', '/keys', '/outgoing']) {
    await page.goto(`${base}${path}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${path}: ${overflow}px wider than a 1024px screen`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('link', { name: 'English' }).click();
  check(await page.getAttribute('html', 'lang') === 'en', 'English is not one click away');
  check(foreign.length === 0, `requests elsewhere: ${foreign.join(', ')}`);

  // Another browser (or user) without the printed address is refused.
  const stranger = await browser.newContext({ javaScriptEnabled: false });
  const refused = await (await stranger.newPage()).goto(`${base}/`);
  check(refused.status() === 403, `no token: ${refused.status()}`);
  await stranger.close();

  // A page of another site posts a form to the desk from this very browser
  // (its cookie included if the browser sent it): refused, nothing signed.
  await context.route('http://attacker.test/**', (r) => r.fulfill({
    contentType: 'text/html',
    body: `<form method="post" action="${base}/case/${id}/reply"><input name="who" value="ani">`
      + '<input name="text" value="forged"><button id="go">go</button></form>',
  }));
  const attacker = await context.newPage();
  await attacker.goto('http://attacker.test/');
  const [posted] = await Promise.all([attacker.waitForResponse((r) => r.url().startsWith(base)), attacker.click('#go')]);
  check(posted.status() === 403, `cross-site post: ${posted.status()}`);
  await attacker.close();
  await page.goto(`${base}/outgoing`);
  check(await page.locator('#waiting tbody tr').count() === 3, 'the cross-site post signed something');

  // An HTML attachment, even in a browser with JavaScript on, only downloads:
  // it never renders, so its script never runs in the desk's origin.
  await page.goto(`${base}/case/${id}`);
  const href = await page.getByRole('link', { name: 'catatan.html' }).getAttribute('href');
  const scripted = await browser.newContext({ javaScriptEnabled: true, acceptDownloads: true });
  await scripted.addCookies(await context.cookies());
  const probe = await scripted.newPage();
  const [html] = await Promise.all([probe.waitForEvent('download'), probe.goto(`${base}${href}`).catch(() => null)]);
  check(html.suggestedFilename() === 'catatan.html', `download named ${html.suggestedFilename()}`);
  check(await probe.title() !== 'pwned' && await probe.locator('#pwned').count() === 0, 'the attachment rendered');
  await scripted.close();

  await context.close();
  console.log('desk ok');
} catch (e) {
  console.error(`desk journey failed: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
