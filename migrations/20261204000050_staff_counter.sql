-- The staff side of a rental: who handed out and took back each unit, in which condition it
-- came back, the late fee charged per line; why a unit is out of service; and a record of every
-- change staff make to the catalog and the job queue (orders keep theirs in order_events).

ALTER TABLE reservations
    ADD COLUMN picked_up_by     bigint REFERENCES users (id),
    ADD COLUMN returned_by      bigint REFERENCES users (id),
    ADD COLUMN return_condition text CHECK (return_condition IN ('ok', 'needs_cleaning', 'damaged')),
    ADD COLUMN return_note      text NOT NULL DEFAULT '' CHECK (length(return_note) <= 1000),
    ADD COLUMN late_fee         numeric(12, 2) NOT NULL DEFAULT 0 CHECK (late_fee >= 0),
    ADD CHECK (state <> 'returned' OR (returned_at IS NOT NULL AND return_condition IS NOT NULL)),
    ADD CHECK (state NOT IN ('picked_up', 'returned') OR picked_up_at IS NOT NULL);

ALTER TABLE units
    ADD COLUMN status_note       text NOT NULL DEFAULT '' CHECK (length(status_note) <= 1000),
    ADD COLUMN status_changed_at timestamptz NOT NULL DEFAULT now();

-- The counter's lists: today's pickups (confirmed lines by start) and returns and late
-- rentals (lines out with customers, by end).
CREATE INDEX reservations_pickups_idx ON reservations (starts_at) WHERE state = 'confirmed';
CREATE INDEX reservations_out_idx ON reservations (ends_at) WHERE state = 'picked_up';
CREATE INDEX reservations_picked_up_at_idx ON reservations (picked_up_at) WHERE picked_up_at IS NOT NULL;
CREATE INDEX reservations_returned_at_idx ON reservations (returned_at) WHERE returned_at IS NOT NULL;
-- The schedule reads every line touching a window, finished ones included (the exclusion
-- constraint's index only covers active lines).
CREATE INDEX reservations_during_idx ON reservations USING gist (during);
CREATE INDEX orders_state_created_idx ON orders (state, created_at DESC);

CREATE TABLE staff_actions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id     bigint NOT NULL REFERENCES users (id),
    subject_type text NOT NULL CHECK (subject_type IN ('product', 'job')),
    subject_id   bigint NOT NULL,
    action       text NOT NULL CHECK (length(action) BETWEEN 1 AND 200),
    detail       text NOT NULL DEFAULT '' CHECK (length(detail) <= 2000),
    at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX staff_actions_subject_idx ON staff_actions (subject_type, subject_id, at DESC);
