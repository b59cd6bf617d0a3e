import { test, expect } from '@playwright/test';
import { waitForHydration } from './helpers';

test('catalog lists products and a product link navigates client-side after hydration', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Everything to rent' })).toBeVisible();
  await waitForHydration(page);

  // A full page load would wipe this; a client-side navigation keeps it.
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));

  const card = page.locator('.product-card a').first();
  const name = (await card.locator('.product-name').innerText()).trim();
  await card.click();

  await expect(page).toHaveURL(/\/rentals\/[a-z0-9-]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(page.locator('.price-list')).toContainText('Per day');
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
});

test('category filter and pagination keep shareable URLs', async ({ page }) => {
  await page.goto('/');
  await waitForHydration(page);
  const filter = page.locator('.filters a').nth(1);
  const category = (await filter.innerText()).split('\n')[0].trim();
  await filter.click();
  await expect(page).toHaveURL(/\?category=[a-z0-9-]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(category);
  for (const label of await page.locator('.product-category').allTextContents()) {
    expect(label.trim()).toBe(category);
  }

  await page.goto('/?page=2');
  await expect(page.locator('.result-count')).toContainText('page 2 of');
  await expect(page.locator('.product-card')).not.toHaveCount(0);
});

test('an unknown product is a 404 with a way back', async ({ page }) => {
  const response = await page.goto('/rentals/no-such-thing');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Not found');
  await expect(page.getByRole('link', { name: 'Back to the catalog' })).toBeVisible();
});

test('@nojs catalog and product pages work without JavaScript', async ({ page }) => {
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { level: 1, name: 'Everything to rent' })).toBeVisible();
  await expect(page.locator('.product-card')).toHaveCount(24);
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');

  const card = page.locator('.product-card a').first();
  const name = (await card.locator('.product-name').innerText()).trim();
  await card.click();
  await expect(page).toHaveURL(/\/rentals\/[a-z0-9-]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(name);
  await expect(page.locator('.price-list')).toContainText('Security deposit');

  await page.getByRole('link', { name: 'Catalog' }).first().click();
  await page.getByRole('link', { name: 'Next →' }).click();
  await expect(page).toHaveURL(/\?page=2$/);
  await expect(page.locator('.result-count')).toContainText('page 2 of');
});
