-- Pictures (SPEC "Pictures (MMS)"): their bytes, and the texts whose pictures are still to fetch.

-- A picture as kept (Store.save_media), under the media id the webhook chose (bot.media.new_media_id).
-- In the database, not beside it: one backup (pg_dump) holds everything, and every process on every
-- host serves every picture. 5 MB each is far within a row's limits (1 GB a value).
CREATE TABLE media (
    business text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    content_type text COLLATE "C" NOT NULL,   -- sniffed from the bytes (bot.media.KEPT_TYPES)
    message_id text COLLATE "C" NOT NULL,     -- the message that brought it (a `messages.seq` as text)
    created_at text COLLATE "C" NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (business, id)
);
-- Pictures come compressed (JPEG, PNG, HEIC ...): stored out of line, with no attempt to compress them again.
ALTER TABLE media ALTER COLUMN data SET STORAGE EXTERNAL;

-- The fetches due (Store.due_media): messages by their `media_due_at`, which only texts whose
-- pictures are still to fetch carry. Read from the doc by the index itself -- the one exception to
-- "nothing is queried inside a doc" (0001) -- so no write of a message has one more column to keep
-- in step, and no table rewrite is needed to add it. Partial: it holds those few rows, not the history.
-- Read from the doc's JSON text, not with ->>: ->> parses the whole doc, and a doc holding a NUL a
-- person typed ("\u0000", kept as sent) cannot be parsed to text -- every insert of one would fail.
-- The store writes compact JSON (store/codec.py), and inside a string a quote is escaped, so only
-- the key itself reads '"media_due_at":"'.
CREATE INDEX messages_media_due ON messages
    (business, (substring(doc::text FROM '"media_due_at":"([^"]*)"') COLLATE "C"), seq)
    WHERE substring(doc::text FROM '"media_due_at":"([^"]*)"') IS NOT NULL;

-- A text with pictures to fetch wakes the fetchers of its business at once, in every process
-- (Store.wait_for_media; LISTEN in store/postgres/connection.py), as pending texts wake senders.
-- A trigger rather than a pg_notify in each statement that inserts messages: it holds for them all.
CREATE FUNCTION qdn_notify_media() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('qdn_media', NEW.business);
    RETURN NULL;
END $$;
CREATE TRIGGER messages_media_due_notify AFTER INSERT ON messages FOR EACH ROW
    WHEN (substring(NEW.doc::text FROM '"media_due_at":"([^"]*)"') IS NOT NULL)
    EXECUTE FUNCTION qdn_notify_media();
