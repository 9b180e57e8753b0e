-- Throttles every process counts against together (store/postgres/throttles.py).

-- The send-rate cap: per sending number (a phone number or a Messaging Service SID), the
-- earliest time its next text may go. Each sender reserves a slot with one upsert that moves
-- `next_free` one interval on, so all senders of a number, on any hosts, share one schedule.
-- A timestamp, not the store's ISO text: slots are computed in SQL, to the microsecond.
CREATE TABLE send_slots (
    business text COLLATE "C" NOT NULL,
    number text COLLATE "C" NOT NULL,
    next_free timestamptz NOT NULL,
    PRIMARY KEY (business, number)
);

-- Global, as tracking_tokens: misses are counted per client (its address), whichever business's
-- token it guessed at. A fixed window from a key's first miss; `blocked` once the limit is
-- reached, until `window_ends`. Ended windows are deleted by the housekeeping. On Citus this
-- table would be distributed by its own `key` (it is never joined).
CREATE TABLE miss_windows (
    key text COLLATE "C" PRIMARY KEY,
    window_ends text COLLATE "C" NOT NULL,
    misses integer NOT NULL,
    blocked boolean NOT NULL
);
