import { test, expect, Page, Browser } from '@playwright/test';
import { deflateSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { waitForHydration } from './helpers';

// The staff account `./x test` made with `server create-staff` before the run.
const STAFF_EMAIL = process.env.STAFF_EMAIL ?? 'staff@rentwise.test';
const STAFF_PASSWORD = process.env.STAFF_PASSWORD ?? '';

/** A real PNG photo stand-in (a colour gradient), made here so no image file is needed. */
function gradientPng(width: number, height: number, hue: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      raw[row + 1 + x * 3] = (hue + (x * 255) / width) % 256;
      raw[row + 2 + x * 3] = (y * 255) / height;
      raw[row + 3 + x * 3] = 128;
    }
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** The shop's wall clock (Europe/Brussels) `minutes` from now, as the date and time inputs take it. */
function shopTime(minutes: number): { date: string; time: string } {
  const at = new Date(Date.now() + minutes * 60_000);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Brussels', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(at).map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

/** A dashboard figure as a number ("€1,234.50" → 1234.5). */
async function kpi(page: Page, name: string): Promise<number> {
  await page.goto('/admin');
  const text = await page.locator(`[data-kpi="${name}"]`).innerText();
  return Number(text.replace(/[^0-9.]/g, ''));
}

async function signInAsStaff(page: Page) {
  await page.goto('/admin');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Please sign in with your staff account');
  await waitForHydration(page);
  await page.locator('#sign-in-email').fill(STAFF_EMAIL);
  await page.locator('#sign-in-password').fill(STAFF_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Today');
}

/** A customer books one unit from `start` to `end` (shop time) and returns the order number. */
async function customerBooks(browser: Browser, slug: string, start: { date: string; time: string }, end: { date: string; time: string }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const query = `start_date=${start.date}&start_time=${start.time}&end_date=${end.date}&end_time=${end.time}`;
  await page.goto(`/rentals/${slug}?${query}`);
  await waitForHydration(page);
  await expect(page.locator('.quote-availability')).toHaveText('3 available for these dates.');
  await page.getByRole('button', { name: 'Reserve' }).click();
  await expect(page).toHaveURL(/\/cart$/);
  await page.getByLabel('Your name').fill('Kim Customer');
  await page.locator('#sign-up-email').fill(`kim-${Date.now()}@example.com`);
  await page.locator('#sign-up-password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(page).toHaveURL(/\/orders\/R\d+\?confirmed=1$/);
  const number = (await page.locator('h1 .order-number').innerText()).trim();
  await context.close();
  return number;
}

test('staff create a product, hand it out by its label, take it back late and damaged, release it and download the report', async ({ page, browser }) => {
  test.skip(!STAFF_PASSWORD, 'STAFF_PASSWORD is not set: ./x test creates the staff account and sets it');
  test.setTimeout(6 * 60_000);
  const tag = `${Date.now()}`.slice(-6);
  const slug = `test-kayak-${tag}`;
  const labels = [`KAY${tag}-1`, `KAY${tag}-2`, `KAY${tag}-3`];

  await signInAsStaff(page);
  await waitForHydration(page);
  const before = {
    active: await kpi(page, 'active'),
    late: await kpi(page, 'late'),
    maintenance: await kpi(page, 'maintenance'),
    revenue: await kpi(page, 'revenue'),
  };

  // A new product with quick-turnaround terms: rentable by the minute, no grace, €7.50 per late hour.
  await page.getByRole('link', { name: 'Products' }).click();
  await page.getByRole('link', { name: 'New product' }).click();
  await waitForHydration(page);
  await page.getByLabel('Name').fill(`Test kayak ${tag}`);
  await page.getByLabel('Web address').fill(slug);
  await page.getByLabel('Category').selectOption({ index: 1 });
  await page.getByLabel('Summary (one line on the catalog card)').fill('A sit-on-top kayak for calm water.');
  await page.getByLabel('Price per day (catalog)').fill('40');
  await page.getByLabel('Deposit').fill('100');
  await page.getByLabel('Minimum rental (minutes)').fill('1');
  await page.getByLabel('Time needed after (minutes)').fill('0');
  await page.getByLabel('Late grace (minutes)').fill('0');
  await page.getByLabel('Late fee per started hour').fill('7.50');
  await page.getByRole('button', { name: 'Create product' }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/products/${slug}\\?created=1$`));
  await waitForHydration(page);

  // Three units, two photos (with progress), then publish.
  await page.getByLabel('Add units (their labels, separated by commas)').fill(labels.join(', '));
  await page.getByRole('button', { name: 'Add units' }).click();
  await expect(page.locator('.units-table tbody tr')).toHaveCount(3);
  await page.locator('#photo-files').setInputFiles([
    { name: 'kayak-1.png', mimeType: 'image/png', buffer: gradientPng(640, 480, 20) },
    { name: 'kayak-2.png', mimeType: 'image/png', buffer: gradientPng(640, 480, 140) },
  ]);
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.locator('.upload-progress li')).toHaveCount(2);
  await expect(page.locator('.upload-progress .upload-status')).toHaveText(['Added', 'Added']);
  await expect(page.locator('.admin-photo')).toHaveCount(2);
  await page.getByLabel('Shown in the catalog').check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/products/${slug}\\?saved=1$`));
  await expect(page.locator('.history')).toContainText('Published');
  await expect(page.locator('.history')).toContainText('Added 3 units');

  // A customer books it from the next minute for one minute.
  const start = shopTime(2);
  const end = shopTime(3);
  const number = await customerBooks(browser, slug, start, end);

  // Staff hand it out by scanning a unit label (the second unit, whichever was booked).
  await page.goto(`/admin/orders/${number}`);
  await waitForHydration(page);
  await expect(page.locator('.order-state')).toContainText('Confirmed');
  await page.getByLabel("Scan or type the unit's label").fill(labels[1]);
  await page.getByLabel("Scan or type the unit's label").press('Enter');
  await expect(page.locator('.order-state')).toContainText('Picked up');
  await expect(page.locator('.line-unit')).toHaveText(`Unit ${labels[1]}`);
  expect(await kpi(page, 'active')).toBe(before.active + 1);

  // Wait until the rental is over: it is then late.
  await expect
    .poll(async () => {
      await page.goto(`/admin/orders/${number}`);
      return await page.locator('.order-state').innerText();
    }, { timeout: 4 * 60_000, intervals: [5_000] })
    .toContain('late');
  expect(await kpi(page, 'late')).toBe(before.late + 1);
  await page.goto(`/admin/orders/${number}`);
  await waitForHydration(page);

  // Take it back damaged: the late fee is shown before confirming, then charged.
  await page.getByRole('link', { name: 'Take back…' }).click();
  await expect(page.locator('.late-fee-preview')).toContainText('1 started hour × €7.50 = €7.50');
  await page.getByLabel('Damaged').check();
  await page.getByLabel('Note (what needs cleaning or repair)').fill('Cracked seat');
  await page.getByRole('button', { name: 'Confirm return · charge €7.50' }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/orders/${number}\\?returned=1$`));
  await expect(page.locator('.order-state')).toContainText('Returned');
  await expect(page.locator('.order-late-fee')).toHaveText('€7.50');
  await expect(page.locator('.history')).toContainText('Damaged (Cracked seat)');
  expect(await kpi(page, 'maintenance')).toBe(before.maintenance + 1);
  expect(await kpi(page, 'active')).toBe(before.active);
  expect(await kpi(page, 'late')).toBe(before.late);
  // One started hour at a quarter of the day price (€10.00), and the late fee (€7.50).
  expect(await kpi(page, 'revenue')).toBeCloseTo(before.revenue + 17.5, 2);

  // The unit is in maintenance, and the storefront offers one unit fewer for any dates.
  await page.goto(`/admin/products/${slug}`);
  await expect(page.locator(`tr[data-unit="${labels[1]}"]`)).toHaveAttribute('data-status', 'maintenance');
  const later = `start_date=${shopTime(60 * 24 * 3).date}&end_date=${shopTime(60 * 24 * 4).date}`;
  const shopper = await browser.newPage();
  await shopper.goto(`/rentals/${slug}?${later}`);
  await expect(shopper.locator('.quote-availability')).toHaveText('2 available for these dates.');

  // Released, it is bookable again.
  await waitForHydration(page);
  await page.getByRole('button', { name: `Release ${labels[1]}` }).click();
  await expect(page.locator(`tr[data-unit="${labels[1]}"]`)).toHaveAttribute('data-status', 'available');
  await expect(async () => {
    await shopper.goto(`/rentals/${slug}?${later}`);
    await expect(shopper.locator('.quote-availability')).toHaveText('3 available for these dates.', { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await shopper.close();
  expect(await kpi(page, 'maintenance')).toBe(before.maintenance);

  // The period's CSV lists the order with its late fee.
  await page.goto(`/admin/reports?from=${start.date}&to=${start.date}`);
  const downloading = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download the orders as CSV' }).click();
  const download = await downloading;
  const csv = readFileSync((await download.path()) as string, 'utf8');
  const row = csv.split('\r\n').find((line) => line.startsWith(number));
  expect(row, csv).toBeDefined();
  expect(row).toContain(`Test kayak ${tag}`);
  expect(row).toContain(labels[1]);
  expect(row).toContain(',7.50,');
});

test('a customer gets the 404 of a page that does not exist, anywhere under /admin', async ({ page }) => {
  await page.goto('/');
  await waitForHydration(page);
  await page.goto('/account');
  await page.getByLabel('Your name').fill('Curious Customer');
  await page.locator('#sign-up-email').fill(`curious-${Date.now()}@example.com`);
  await page.locator('#sign-up-password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/account\/rentals$/);
  for (const path of ['/admin', '/admin/orders', '/admin/products/new']) {
    const response = await page.goto(path);
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not found');
    await expect(page.locator('.admin-nav')).toHaveCount(0);
  }
});

test('on a 375 px phone no staff or shop page is wider than the screen', async ({ page }) => {
  test.skip(!STAFF_PASSWORD, 'STAFF_PASSWORD is not set: ./x test creates the staff account and sets it');
  await page.setViewportSize({ width: 375, height: 800 });
  await signInAsStaff(page);
  const pages = [
    '/admin', '/admin/orders', '/admin/schedule', '/admin/products', '/admin/products/new',
    '/admin/products/vango-odyssey-air-500-family-tent', '/admin/customers', '/admin/jobs',
    '/admin/reports', '/', '/rentals/vango-odyssey-air-500-family-tent', '/cart', '/account',
  ];
  for (const path of pages) {
    await page.goto(path);
    // Wide tables scroll inside their own box; the page itself must not scroll sideways.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${path} is ${width} px wide`).toBeLessThanOrEqual(375);
  }
});
