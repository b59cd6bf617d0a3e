-- The published catalog: categories and the products customers can rent.
CREATE TABLE categories (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '',
    position    integer NOT NULL DEFAULT 0
);

CREATE TABLE products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id bigint NOT NULL REFERENCES categories (id),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    summary     text NOT NULL DEFAULT '' CHECK (length(summary) <= 300),
    description text NOT NULL DEFAULT '',
    daily_price numeric(12, 2) NOT NULL CHECK (daily_price >= 0),
    deposit     numeric(12, 2) NOT NULL DEFAULT 0 CHECK (deposit >= 0),
    published   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX products_category_published_idx ON products (category_id, name) WHERE published;
CREATE INDEX products_published_name_idx ON products (name, id) WHERE published;
