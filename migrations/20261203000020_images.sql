-- Uploaded images, stored once by the SHA-256 of the uploaded bytes (the files live in the
-- image cache directory; this table holds what pages need), and their order on each product.
CREATE TABLE images (
    key         text PRIMARY KEY CHECK (key ~ '^[0-9a-f]{64}$'),
    width       integer NOT NULL CHECK (width > 0),
    height      integer NOT NULL CHECK (height > 0),
    format      text NOT NULL CHECK (format IN ('jpeg', 'png', 'webp')),
    placeholder text NOT NULL CHECK (placeholder ~ '^#[0-9a-f]{6}$'),
    bytes       bigint NOT NULL CHECK (bytes > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_images (
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    image_key  text NOT NULL REFERENCES images (key),
    position   integer NOT NULL CHECK (position >= 0),
    alt        text NOT NULL DEFAULT '',
    PRIMARY KEY (product_id, position)
);

CREATE INDEX product_images_image_key_idx ON product_images (image_key);
