-- The inbox's conversations row is kept once per statement, not once per text (issue #30). 0011's
-- trigger ran for each row: a plpgsql call and an upsert of the phone's row per text, so a webhook's
-- write (the text and its automatic answer, one statement) paid two calls and wrote the same row
-- twice -- 190-340 us of PostgreSQL's CPU a text webhook. Now a statement's rows are read from its
-- transition table and folded per phone: one call a statement, one upsert a phone, with the same
-- result as the texts one by one (every column a maximum; said_at/said_seq the latest text not an
-- automatic answer, by (created_at, seq)). The phones' rows are upserted in (business, phone) order,
-- so two statements touching the same phones lock them in the same order. The trigger still fires at
-- the end of the statement, after its CTEs: a write that updates the phone's `phones` row takes it
-- before the conversations row, as before (store/postgres/store.py keeps that order too).
CREATE FUNCTION qdn_conversation_texts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversations AS c (business, phone, last_at, last_text_at, answered_at, said_at, said_seq)
    SELECT business, phone, max(created_at),
        max(created_at) FILTER (WHERE free_text),
        max(created_at) FILTER (WHERE answer),
        (array_agg(created_at ORDER BY created_at DESC, seq DESC) FILTER (WHERE said))[1],
        (array_agg(seq ORDER BY created_at DESC, seq DESC) FILTER (WHERE said))[1]
    FROM (SELECT n.business, n.phone, n.created_at, n.seq,
              n.direction = 'inbound' AND k.kind = 'text' AS free_text,
              n.direction = 'outbound' AND k.kind IN ('relay', 'notification') AS answer,
              k.kind IS NULL OR k.kind NOT IN ('reply', 'system') AS said
          FROM new_messages n CROSS JOIN LATERAL (SELECT qdn_message_kind(n.doc) AS kind) k) m
    GROUP BY business, phone
    ORDER BY business, phone
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

DROP TRIGGER messages_conversation ON messages;
DROP FUNCTION qdn_conversation_text();
CREATE TRIGGER messages_conversation AFTER INSERT ON messages REFERENCING NEW TABLE AS new_messages
    FOR EACH STATEMENT EXECUTE FUNCTION qdn_conversation_texts();
