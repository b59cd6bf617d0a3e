import { defineConfig } from '@playwright/test';

// The server is started by `./x test` (it knows which database to use) and its address passed in.
const baseURL = process.env.BASE_URL ?? 'http://127.0.0.1:3000';

// Debian's Chromium: Playwright's own browser download cannot work on these machines, and the
// background-networking flags keep Chromium from calling hosts the sandbox does not reach.
const launchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
};

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: { baseURL, launchOptions, trace: 'retain-on-failure' },
  projects: [
    { name: 'chromium', use: { browserName: 'chromium' }, grepInvert: /@nojs/ },
    {
      name: 'chromium-no-js',
      use: { browserName: 'chromium', javaScriptEnabled: false },
      grep: /@nojs/,
    },
  ],
});
