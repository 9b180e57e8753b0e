-- The office inbox's list (store/roles/conversations.py): per phone of a business, its latest text,
-- its latest free text from the phone and the latest answer by a person, kept by a trigger as each
-- text is stored, so "Needs reply first" is one indexed read.
CREATE TABLE conversations (
    business text COLLATE "C" NOT NULL,
    phone text COLLATE "C" NOT NULL,
    last_at text COLLATE "C" NOT NULL,
    last_text_at text COLLATE "C",      -- the phone's latest inbound free text (kind `text`)
    answered_at text COLLATE "C",       -- the latest `relay` or `notification` to it
    waiting_since text COLLATE "C" GENERATED ALWAYS AS
        (CASE WHEN last_text_at > COALESCE(answered_at, '') THEN last_text_at END) STORED,
    PRIMARY KEY (business, phone)
);
CREATE INDEX conversations_waiting ON conversations (business, waiting_since, phone) WHERE waiting_since IS NOT NULL;
CREATE INDEX conversations_recent ON conversations (business, last_at DESC, phone) WHERE waiting_since IS NULL;

-- The kind is read from the document's text, as 0003_media.sql reads media_due_at: `doc->>` would
-- refuse a document whose body holds a \u0000 (json allows it, text does not).
CREATE FUNCTION qdn_message_kind(doc json) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT substring(doc::text FROM '"kind":"([a-z_]*)"')
$$;

CREATE FUNCTION qdn_conversation_text() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := qdn_message_kind(NEW.doc);
    free_text text := CASE WHEN NEW.direction = 'inbound' AND kind = 'text' THEN NEW.created_at END;
    answer text := CASE WHEN NEW.direction = 'outbound' AND kind IN ('relay', 'notification')
        THEN NEW.created_at END;
BEGIN
    INSERT INTO conversations AS c (business, phone, last_at, last_text_at, answered_at)
    VALUES (NEW.business, NEW.phone, NEW.created_at, free_text, answer)
    ON CONFLICT (business, phone) DO UPDATE SET
        last_at = GREATEST(c.last_at, EXCLUDED.last_at),
        last_text_at = GREATEST(c.last_text_at, EXCLUDED.last_text_at),
        answered_at = GREATEST(c.answered_at, EXCLUDED.answered_at);
    RETURN NULL;
END $$;
CREATE TRIGGER messages_conversation AFTER INSERT ON messages FOR EACH ROW
    EXECUTE FUNCTION qdn_conversation_text();

-- The texts already logged.
INSERT INTO conversations (business, phone, last_at, last_text_at, answered_at)
SELECT business, phone, max(created_at),
    max(created_at) FILTER (WHERE direction = 'inbound' AND qdn_message_kind(doc) = 'text'),
    max(created_at) FILTER (WHERE direction = 'outbound' AND qdn_message_kind(doc) IN ('relay', 'notification'))
FROM messages GROUP BY business, phone;
