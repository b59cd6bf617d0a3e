-- Originals in the database, so that any instance can make any photo's variants: a second
-- instance behind a proxy lacks the files the first one stored on its own disk. The disk copy
-- stays the working copy; this is where an instance fetches one it lacks.
CREATE TABLE image_originals (
    key   text PRIMARY KEY REFERENCES images (key) ON DELETE CASCADE,
    bytes bytea NOT NULL CHECK (length(bytes) > 0)
);
