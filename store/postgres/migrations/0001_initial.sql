-- The QDN store on PostgreSQL, tenant-aware from the start (store/postgres/store.py says why).
--
-- Every per-business table leads its primary key and each index with `business` (the slug), so
-- one business's rows sit together and the tables could be distributed by business (Citus).
-- Two small global tables answer the questions that span businesses: which business a tracking
-- token or a Twilio message SID belongs to.
--
-- Times are the store's ISO 8601 UTC strings ("2026-11-27T18:32:40.123Z", bot.jobs.iso_utc): the
-- interface speaks them, and in that fixed format they sort as they compare. Every column that is
-- compared or ordered is COLLATE "C" (bytewise), whatever the database's default collation.
--
-- Records are `json`, not `jsonb`: nothing is queried inside them (what is searched is a column
-- of its own), `json` keeps the text as written (faster in, no re-encoding out), and it accepts
-- "\u0000", which a text's body may hold and `jsonb` refuses.

CREATE TABLE businesses (
    slug text COLLATE "C" PRIMARY KEY,
    position bigint GENERATED ALWAYS AS IDENTITY,  -- the registry's order: oldest first
    record json NOT NULL
);

CREATE TABLE jobs (
    business text COLLATE "C" NOT NULL,
    id bigint NOT NULL,
    token text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL,
    customer_phone text COLLATE "C" NOT NULL,
    reminder_due_at text COLLATE "C",
    updated_at text COLLATE "C" NOT NULL,
    doc json NOT NULL,
    PRIMARY KEY (business, id)
);
CREATE INDEX jobs_by_phone ON jobs (business, customer_phone, id);
CREATE INDEX jobs_by_status ON jobs (business, status, id);
CREATE INDEX jobs_by_change ON jobs (business, updated_at, id);
CREATE INDEX jobs_reminders ON jobs (business, reminder_due_at, id)
    WHERE status = 'scheduled' AND reminder_due_at IS NOT NULL;

-- Job ids are a sequence per business, from 1001.
CREATE TABLE job_counters (
    business text COLLATE "C" PRIMARY KEY,
    last_id bigint NOT NULL
);

-- Global: tracking tokens are unique across the deployment, and /track finds a job by one.
CREATE TABLE tracking_tokens (
    token text COLLATE "C" PRIMARY KEY,
    business text COLLATE "C" NOT NULL,
    job_id bigint NOT NULL
);

CREATE TABLE messages (
    business text COLLATE "C" NOT NULL,
    seq bigserial,                          -- the order written; the message's id is str(seq)
    job_id bigint,                          -- the conversation: a job's, else its phone's own
    phone text COLLATE "C" NOT NULL,
    recipient text COLLATE "C" NOT NULL,    -- `to`, else `phone`: the send queue's per-phone order
    twilio_sid text COLLATE "C",
    status text COLLATE "C" NOT NULL,
    direction text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    next_attempt_at text COLLATE "C",
    claimed_until text COLLATE "C",         -- a sender's lease on a pending text (never in `doc`)
    doc json NOT NULL,                      -- the message as the store hands it out, but its id
    PRIMARY KEY (business, seq)
);
CREATE INDEX messages_by_job ON messages (business, job_id, created_at, seq) WHERE job_id IS NOT NULL;
CREATE INDEX messages_by_phone ON messages (business, phone, created_at, seq);
CREATE INDEX messages_by_sid ON messages (business, twilio_sid) WHERE twilio_sid IS NOT NULL;
CREATE INDEX messages_pending ON messages (business, recipient, created_at, seq) WHERE status = 'pending';
CREATE INDEX messages_queue ON messages (business, created_at, seq) WHERE status = 'pending';

-- Global: which business logged a Twilio message SID (status callbacks are routed by it), and
-- once per SID per business (record_inbound's unique key). The first business to log a SID keeps
-- its routing (`position`), so no business can take over another's callbacks by logging its SIDs.
CREATE TABLE twilio_sids (
    sid text COLLATE "C" NOT NULL,
    business text COLLATE "C" NOT NULL,
    position bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (sid, business)
);

CREATE TABLE phones (
    business text COLLATE "C" NOT NULL,
    phone text COLLATE "C" NOT NULL,
    state json NOT NULL,
    PRIMARY KEY (business, phone)
);

CREATE TABLE idempotency_keys (
    business text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    fingerprint text NOT NULL,
    status integer NOT NULL,
    body json NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    PRIMARY KEY (business, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (business, created_at);

-- The dashboard events' outbox: delivered one at a time per business, oldest first.
CREATE TABLE events (
    business text COLLATE "C" NOT NULL,
    seq bigserial,
    event_id text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL,
    next_attempt_at text COLLATE "C",
    claimed_until text COLLATE "C",
    doc json NOT NULL,
    PRIMARY KEY (business, seq)
);
CREATE INDEX events_pending ON events (business, seq) WHERE status = 'pending';
CREATE INDEX events_by_id ON events (business, event_id);
CREATE INDEX events_by_age ON events (business, created_at) WHERE status <> 'pending';
