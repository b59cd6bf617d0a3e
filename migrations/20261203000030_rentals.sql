-- The rental core: what each product costs and needs, its physical units, customer and staff
-- accounts, orders and their reservations. Double booking is refused by PostgreSQL itself:
-- active reservations of one unit may not overlap (EXCLUDE USING gist, below).
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Durations in whole minutes: they are entered by staff in minutes/hours and compared with
-- timestamps in SQL as make_interval(mins => …).
ALTER TABLE products
    ADD COLUMN min_rental_minutes    integer NOT NULL DEFAULT 60 CHECK (min_rental_minutes BETWEEN 1 AND 525600),
    ADD COLUMN buffer_before_minutes integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 10080),
    ADD COLUMN buffer_after_minutes  integer NOT NULL DEFAULT 60 CHECK (buffer_after_minutes BETWEEN 0 AND 10080),
    ADD COLUMN late_grace_minutes    integer NOT NULL DEFAULT 30 CHECK (late_grace_minutes BETWEEN 0 AND 10080),
    ADD COLUMN late_fee_hourly       numeric(12, 2) CHECK (late_fee_hourly >= 0),
    ADD COLUMN late_fee_daily        numeric(12, 2) CHECK (late_fee_daily >= 0),
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A')
        || setweight(to_tsvector('english', summary), 'B')
        || setweight(to_tsvector('english', description), 'C')
    ) STORED;

CREATE INDEX products_search_idx ON products USING gin (search);

-- A published rate: `length` × `unit` for `price`, e.g. 1 week for 120.00.
CREATE TABLE price_tiers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    label      text NOT NULL CHECK (length(label) BETWEEN 1 AND 60),
    unit       text NOT NULL CHECK (unit IN ('hour', 'day', 'week')),
    length     integer NOT NULL CHECK (length BETWEEN 1 AND 1000),
    price      numeric(12, 2) NOT NULL CHECK (price >= 0),
    UNIQUE (product_id, unit, length)
);

-- The physical items of a product. Only `available` units can be booked.
CREATE TABLE units (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    label      text NOT NULL UNIQUE CHECK (length(label) BETWEEN 1 AND 60),
    status     text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'maintenance', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX units_product_idx ON units (product_id, id);

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'staff')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE SEQUENCE order_numbers START 10001;

-- An order is a customer's cart while `held`, then a rental. The holder of a cart that was
-- started before signing in is known by `cart_token` (kept in their session).
CREATE TABLE orders (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number       text NOT NULL UNIQUE DEFAULT ('R' || nextval('order_numbers')),
    customer_id  bigint REFERENCES users (id),
    cart_token   uuid UNIQUE,
    state        text NOT NULL DEFAULT 'held'
                 CHECK (state IN ('held', 'confirmed', 'picked_up', 'returned', 'cancelled')),
    rental_total numeric(12, 2) NOT NULL DEFAULT 0 CHECK (rental_total >= 0),
    deposit      numeric(12, 2) NOT NULL DEFAULT 0 CHECK (deposit >= 0),
    late_fee     numeric(12, 2) NOT NULL DEFAULT 0 CHECK (late_fee >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (state = 'held' OR customer_id IS NOT NULL)
);

CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC);

-- One line of an order: a unit of a product for a period. `during` is the period widened by the
-- product's buffers; it is what may not overlap. A hold stops counting once `held_until` has
-- passed (availability ignores it; a booking that needs the unit marks it expired first).
CREATE TABLE reservations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id   bigint NOT NULL REFERENCES products (id),
    unit_id      bigint NOT NULL REFERENCES units (id),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    during       tstzrange NOT NULL,
    state        text NOT NULL DEFAULT 'held'
                 CHECK (state IN ('held', 'confirmed', 'picked_up', 'returned', 'cancelled', 'expired')),
    held_until   timestamptz,
    request_key  uuid UNIQUE,
    price_lines  jsonb NOT NULL DEFAULT '[]'::jsonb,
    rental_total numeric(12, 2) NOT NULL CHECK (rental_total >= 0),
    deposit      numeric(12, 2) NOT NULL CHECK (deposit >= 0),
    picked_up_at timestamptz,
    returned_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    CHECK (lower(during) <= starts_at AND upper(during) >= ends_at),
    CHECK (state <> 'held' OR held_until IS NOT NULL),
    CONSTRAINT reservations_no_overlap
        EXCLUDE USING gist (unit_id WITH =, during WITH &&)
        WHERE (state IN ('held', 'confirmed', 'picked_up'))
);

CREATE INDEX reservations_order_idx ON reservations (order_id);
CREATE INDEX reservations_product_idx ON reservations (product_id, starts_at);
CREATE INDEX reservations_held_idx ON reservations (held_until) WHERE state = 'held';

-- Every state change of an order: who, when, from → to.
CREATE TABLE order_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    actor_id   bigint REFERENCES users (id),
    actor      text NOT NULL CHECK (actor IN ('customer', 'staff', 'system')),
    from_state text,
    to_state   text NOT NULL,
    note       text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX order_events_order_idx ON order_events (order_id, at);

-- Prices and units change the catalog customers see.
CREATE TRIGGER price_tiers_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON price_tiers
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed();

-- Products that exist already get the shop's standard rates and two units, so they stay bookable.
INSERT INTO price_tiers (product_id, label, unit, length, price)
SELECT id, t.label, t.unit, t.length, round(daily_price * t.factor, 2)
FROM products,
     (VALUES ('Per hour', 'hour', 1, 0.25), ('Per day', 'day', 1, 1.0), ('Per week', 'week', 1, 5.0))
         AS t (label, unit, length, factor);

INSERT INTO units (product_id, label)
SELECT p.id, 'U' || lpad(p.id::text, 4, '0') || '-' || n
FROM products p, generate_series(1, 2) AS n;

-- Sessions (tower-sessions' PostgresStore layout), so any server instance serves any request.
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE IF NOT EXISTS tower_sessions.session (
    id          text PRIMARY KEY NOT NULL,
    data        bytea NOT NULL,
    expiry_date timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS session_expiry_idx ON tower_sessions.session (expiry_date);
