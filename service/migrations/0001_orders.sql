-- Orders: one row per order; line items as JSONB (read and written whole with the order).
CREATE TABLE orders (
    id              UUID PRIMARY KEY,
    customer_id     TEXT        NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    total_cents     BIGINT      NOT NULL CHECK (total_cents >= 0),
    items           JSONB       NOT NULL,
    failure_reason  TEXT,
    -- How many times processing completed this order: exactly-once processing keeps it at 1.
    processed_count INTEGER     NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Keyset pagination of a customer's orders, newest first.
CREATE INDEX orders_by_customer ON orders (customer_id, created_at DESC, id DESC);
