-- The webhooks' one-statement write of a text (store/postgres/inbound.py `_RECORD`) keeps the inbox's
-- conversations row itself, once per phone, instead of 0011's trigger doing it once per text (issue
-- #30): the trigger's plpgsql call and upsert a row cost 190-340 us of PostgreSQL's CPU a text
-- webhook, the text and its automatic answer each upserting the same row. A statement that does so
-- sets `qdn.conversations_kept` for its transaction (set_config(..., true)) before it writes a
-- message, and the WHEN skips the trigger for it, as 0012 skips the changes trigger; every other
-- write of a message -- any statement, any process -- is still kept by the trigger.
DROP TRIGGER messages_conversation ON messages;
CREATE TRIGGER messages_conversation AFTER INSERT ON messages FOR EACH ROW
    WHEN (current_setting('qdn.conversations_kept', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION qdn_conversation_text();
