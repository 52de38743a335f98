import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium, headless, kept on loopback by configuration: every request that is not to
 * 127.0.0.1 goes to a proxy address where nothing listens, and its background services are off.
 */
export function loopbackBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-domain-reliability',
      '--proxy-server=http://127.0.0.1:9',
      '--proxy-bypass-list=127.0.0.1',
    ],
  });
}
