// Checks the staff pages in a real browser: enrol a passkey from an invite link, sign in
// with it, and see an unknown login fail politely. Chromium's virtual authenticator (over
// the DevTools protocol) stands in for a phone. Not part of `scripts/test` (it needs
// Chromium and playwright-core); run by hand after changing server/src/staff.html:
//
//   apt-get install chromium && npm install playwright-core
//   node scripts/browser/staff-passkeys.js http://localhost:8080 <invite token>
//
// The server's HOURMARK_STAFF_ORIGIN must be the base URL given here.
const base = process.argv[2];
const { chromium } = require('playwright-core');
(async () => {
  const invite = process.argv[3];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
    protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
    isUserVerified: true, automaticPresenceSimulation: true } });
  await page.goto(base + '/staff/enrol#invite=' + invite);
  await page.fill('#label', '测试电脑');
  await page.click('#enrol-button');
  await page.waitForFunction(() => document.getElementById('status').className !== '', null, { timeout: 10000 });
  console.log('enrol:', await page.textContent('#status'));
  console.log('url after enrol:', page.url());
  const token = await page.evaluate(() => sessionStorage.getItem('hourmark_staff_token'));
  console.log('token saved:', token ? token.slice(0, 6) + '…' : null);
  await page.goto(base + '/staff/sign-in');
  await page.fill('#login', 'admin');
  await page.click('#sign-in-button');
  await page.waitForFunction(() => document.getElementById('status').className !== '', null, { timeout: 10000 });
  console.log('sign-in:', await page.textContent('#status'));
  await page.goto(base + '/staff/sign-in');
  await page.fill('#login', 'nobody');
  await page.click('#sign-in-button');
  await page.waitForFunction(() => document.getElementById('status').className !== '', null, { timeout: 15000 }).catch(() => {});
  console.log('unknown login:', await page.textContent('#status'));
  await browser.close();
})().catch(e => { console.error(e); process.exit(1); });
