-- The office inbox's list, a page of it one short index scan however long the history
-- (store/postgres/conversations.py). 0010 probed `jobs` for every row it passed (is this phone a
-- customer here?), counted the waiting ones the same way, and a row's last text was read by
-- scanning the phone's messages. Now:
--   * `has_job`: whether the phone has a job in the business, kept by a trigger on jobs. A job's
--     first write makes the phone's row (`last_at` NULL until a text: such a row is not listed),
--     so a text's trigger never needs to look at jobs, and a text racing the job's insert meets
--     the row (or makes it) under the row's lock, not a snapshot that misses it.
--   * `said_at`, `said_seq`: the phone's latest text that is not an automatic answer (its kind not
--     `reply` or `system`), latest by (created_at, seq) as phone_messages orders them: the list
--     shows it, read by primary key.
--   * the partial indexes carry `has_job` and every column a page reads, so each part of a page
--     (waiting ones, the rest) is an index-only scan in its ORDER BY that stops at OFFSET + LIMIT
--     (an offset of 1,000 passes ~10 index pages, not 1,000 rows), and the waiting count reads
--     only the waiting ones' index.
ALTER TABLE conversations
    ALTER COLUMN last_at DROP NOT NULL,
    ADD COLUMN has_job boolean NOT NULL DEFAULT false,
    ADD COLUMN said_at text COLLATE "C",
    ADD COLUMN said_seq bigint;

DROP INDEX conversations_waiting;
DROP INDEX conversations_recent;
CREATE INDEX conversations_waiting ON conversations (business, waiting_since, phone)
    INCLUDE (last_at, said_at, said_seq) WHERE has_job AND waiting_since IS NOT NULL;
-- Read backwards: the newest first, ties by phone descending.
CREATE INDEX conversations_recent ON conversations (business, last_at, phone)
    INCLUDE (said_at, said_seq) WHERE has_job AND waiting_since IS NULL AND last_at IS NOT NULL;

CREATE OR REPLACE FUNCTION qdn_conversation_text() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := qdn_message_kind(NEW.doc);
    free_text text := CASE WHEN NEW.direction = 'inbound' AND kind = 'text' THEN NEW.created_at END;
    answer text := CASE WHEN NEW.direction = 'outbound' AND kind IN ('relay', 'notification')
        THEN NEW.created_at END;
    said boolean := kind IS NULL OR kind NOT IN ('reply', 'system');
BEGIN
    INSERT INTO conversations AS c (business, phone, last_at, last_text_at, answered_at, said_at, said_seq)
    VALUES (NEW.business, NEW.phone, NEW.created_at, free_text, answer,
        CASE WHEN said THEN NEW.created_at END, CASE WHEN said THEN NEW.seq END)
    ON CONFLICT (business, phone) DO UPDATE SET
        last_at = GREATEST(c.last_at, EXCLUDED.last_at),
        last_text_at = GREATEST(c.last_text_at, EXCLUDED.last_text_at),
        answered_at = GREATEST(c.answered_at, EXCLUDED.answered_at),
        said_at = CASE WHEN c.said_at IS NULL OR (EXCLUDED.said_at, EXCLUDED.said_seq) > (c.said_at, c.said_seq)
            THEN COALESCE(EXCLUDED.said_at, c.said_at) ELSE c.said_at END,
        said_seq = CASE WHEN c.said_at IS NULL OR (EXCLUDED.said_at, EXCLUDED.said_seq) > (c.said_at, c.said_seq)
            THEN COALESCE(EXCLUDED.said_seq, c.said_seq) ELSE c.said_seq END;
    RETURN NULL;
END $$;

CREATE FUNCTION qdn_conversation_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN  -- the phone a job is for is a customer here
        INSERT INTO conversations AS c (business, phone, has_job) VALUES (NEW.business, NEW.customer_phone, true)
        ON CONFLICT (business, phone) DO UPDATE SET has_job = true WHERE NOT c.has_job;
    END IF;
    IF TG_OP <> 'INSERT' THEN  -- the phone it was for, unless another of its jobs is here
        UPDATE conversations c SET has_job = EXISTS (SELECT 1 FROM jobs j
            WHERE j.business = OLD.business AND j.customer_phone = OLD.customer_phone)
        WHERE c.business = OLD.business AND c.phone = OLD.customer_phone;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_conversation AFTER INSERT OR DELETE ON jobs FOR EACH ROW
    EXECUTE FUNCTION qdn_conversation_job();
CREATE TRIGGER jobs_conversation_phone AFTER UPDATE OF customer_phone ON jobs FOR EACH ROW
    WHEN (OLD.customer_phone IS DISTINCT FROM NEW.customer_phone)
    EXECUTE FUNCTION qdn_conversation_job();

-- What is already stored.
INSERT INTO conversations AS c (business, phone, has_job)
SELECT DISTINCT business, customer_phone, true FROM jobs
ON CONFLICT (business, phone) DO UPDATE SET has_job = true;
UPDATE conversations c SET said_at = m.created_at, said_seq = m.seq
FROM (SELECT DISTINCT ON (business, phone) business, phone, created_at, seq FROM messages
      WHERE COALESCE(qdn_message_kind(doc) NOT IN ('reply', 'system'), true)
      ORDER BY business, phone, created_at DESC, seq DESC) m
WHERE c.business = m.business AND c.phone = m.phone;
