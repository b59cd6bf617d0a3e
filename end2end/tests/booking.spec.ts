import { test, expect, Page } from '@playwright/test';
import { waitForHydration } from './helpers';

/** A shop-local date `days` from now, as the date inputs take it. Far enough ahead that the
 * browser's zone and the shop's never disagree about which day it is. */
function day(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return d.toISOString().slice(0, 10);
}

function uniqueEmail(tag: string): string {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

async function quoteRental(page: Page): Promise<string> {
  const rental = page.locator('.quote .quote-rental');
  await expect(rental).toBeVisible();
  return (await rental.innerText()).trim();
}

/** Search, filter by dates, open the first result: the same steps with and without JS. */
async function findTent(page: Page, from: string, to: string, hydrated: boolean) {
  await page.goto('/');
  if (hydrated) await waitForHydration(page);
  await page.getByLabel('Search').fill('tent');
  await page.getByLabel('Free from').fill(from);
  await page.getByLabel('to', { exact: true }).fill(to);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`q=tent.*from=${from}.*to=${to}`));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Results for “tent”');
  const cards = page.locator('.product-card a');
  await expect(cards.first()).toBeVisible();
  // Ranked by relevance: a name match (weight A) comes before a mention in a description.
  const names = await page.locator('.product-card .product-name').allInnerTexts();
  expect(names[0].toLowerCase()).toContain('tent');
  expect(names.length).toBeLessThan(84);
  await cards.first().click();
  await expect(page).toHaveURL(new RegExp(`/rentals/[a-z0-9-]+\\?start_date=${from}`));
  if (hydrated) await waitForHydration(page);
}

async function signUpInline(page: Page, tag: string) {
  await page.getByLabel('Your name').fill(`Test ${tag}`);
  await page.locator('#sign-up-email').fill(uniqueEmail(tag));
  await page.locator('#sign-up-password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
}

async function confirmAndCancel(page: Page) {
  await expect(page.getByRole('heading', { name: 'Confirm your booking' })).toBeVisible();
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(page).toHaveURL(/\/orders\/R\d+\?confirmed=1$/);
  await expect(page.locator('.banner')).toContainText('Your booking is confirmed');
  const number = (await page.locator('h1 .order-number').innerText()).trim();
  await expect(page.locator('.order-state')).toContainText('Confirmed');

  await page.getByRole('link', { name: 'My rentals', exact: true }).click();
  await expect(page).toHaveURL(/\/account\/rentals$/);
  const upcoming = page.locator('section[aria-labelledby="upcoming-heading"]');
  await expect(upcoming.locator('.order-number')).toContainText([number]);

  await upcoming.getByRole('link').filter({ hasText: number }).click();
  await expect(page).toHaveURL(new RegExp(`/orders/${number}$`));
  await page.getByRole('button', { name: 'Cancel this booking' }).click();
  await expect(page.locator('.banner')).toContainText('Your booking is cancelled');
  await expect(page.locator('p.order-state')).toContainText('Cancelled');
  await expect(page.getByRole('button', { name: 'Cancel this booking' })).toHaveCount(0);

  await page.getByRole('link', { name: 'My rentals', exact: true }).click();
  const past = page.locator('section[aria-labelledby="past-heading"]');
  await expect(past.locator('.order-number')).toContainText([number]);
}

test('a customer searches, picks dates, sees the quote change, signs up, books, and cancels', async ({ page }) => {
  const from = day(30);
  const to = day(31);
  await findTent(page, from, to, true);

  // The dates from the catalog filter are in the form and quoted at once.
  await expect(page.getByLabel('Pick up on')).toHaveValue(from);
  const first = await quoteRental(page);
  await expect(page.locator('.quote-availability')).toContainText('available for these dates');

  // Changing a date updates the quote without a page load.
  await page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
  await page.getByLabel('Return on').fill(day(38));
  await expect(page.locator('.quote .quote-rental')).not.toHaveText(first);
  await expect(page).toHaveURL(new RegExp(`end_date=${day(38)}`));
  expect(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);

  // A mistake is explained next to its field.
  await page.getByLabel('Return on').fill(day(29));
  await expect(page.locator('#quote-error')).toHaveText('The end must be after the start.');
  await page.getByLabel('Return on').fill(day(33));
  await expect(page.locator('#quote-error')).toHaveCount(0);
  await expect(page.locator('.quote .quote-rental')).toBeVisible();

  await page.getByRole('button', { name: 'Reserve' }).click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.locator('.cart-line')).toHaveCount(1);
  await expect(page.locator('.hold-note')).toContainText('We hold these for you until');

  await signUpInline(page, 'js');
  await expect(page).toHaveURL(/\/cart$/);
  await confirmAndCancel(page);
});

test('@nojs the same booking journey works without JavaScript', async ({ page }) => {
  const from = day(60);
  const to = day(61);
  await findTent(page, from, to, false);
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');

  const first = await quoteRental(page);
  await page.getByLabel('Return on').fill(day(67));
  await page.getByRole('button', { name: 'Show price' }).click();
  await expect(page).toHaveURL(new RegExp(`end_date=${day(67)}`));
  await expect(page.locator('.quote .quote-rental')).not.toHaveText(first);

  // A wrong date gets its message from the server, next to the field.
  await page.getByLabel('Return on').fill(day(59));
  await page.getByRole('button', { name: 'Show price' }).click();
  await expect(page.locator('#quote-error')).toHaveText('The end must be after the start.');

  await page.getByLabel('Return on').fill(day(63));
  await page.getByRole('button', { name: 'Show price' }).click();
  await quoteRental(page);
  await page.getByRole('button', { name: 'Reserve' }).click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.locator('.cart-line')).toHaveCount(1);

  // A wrong password is refused with a message and changes nothing.
  await page.locator('#sign-in-email').fill(uniqueEmail('nobody'));
  await page.locator('#sign-in-password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.locator('#sign-in-password-error')).toContainText("don't match an account");

  await signUpInline(page, 'nojs');
  await expect(page).toHaveURL(/\/cart$/);
  await confirmAndCancel(page);
});

test('someone else\'s order is a 404, and an order page asks a signed-out visitor to sign in', async ({ page, browser }) => {
  await page.goto(`/rentals/vango-odyssey-air-500-family-tent?start_date=${day(90)}&end_date=${day(92)}`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Reserve' }).click();
  await expect(page).toHaveURL(/\/cart$/);
  await signUpInline(page, 'owner');
  await page.getByRole('button', { name: 'Confirm booking' }).click();
  await expect(page).toHaveURL(/\/orders\/R\d+/);
  const number = (await page.locator('h1 .order-number').innerText()).trim();

  const other = await browser.newContext();
  const stranger = await other.newPage();
  await stranger.goto(`/orders/${number}`);
  await expect(stranger.getByRole('heading', { level: 1 })).toHaveText('Please sign in to see this order');
  await signUpInline(stranger, 'stranger');
  await expect(stranger).toHaveURL(new RegExp(`/orders/${number}$`));
  await expect(stranger.getByRole('heading', { level: 1 })).toHaveText('Not found');
  const response = await stranger.goto(`/orders/${number}`);
  expect(response?.status()).toBe(404);
  await other.close();
});
