-- The webhooks' writes notify `qdn_changes` after their commit, not in it (issue #30): a NOTIFY in a
-- transaction takes a database-wide lock at commit and holds it through the commit's WAL flush, so
-- every webhook's commit waited for the one before (store/postgres/connection.py `notify_later`).
-- A statement that will do so sets `qdn.changes_after_commit` for its transaction (set_config(...,
-- true)) before it writes a row; every other write -- any statement, any process -- is still notified
-- by this trigger (0009). The WHEN skips the trigger's call itself (a plpgsql call a row: ~15-40 us),
-- the function's test holds for a statement that sets it later.
CREATE OR REPLACE FUNCTION qdn_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('qdn.changes_after_commit', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('qdn_changes', NEW.business);
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER messages_changes_notify ON messages;
CREATE TRIGGER messages_changes_notify AFTER INSERT OR UPDATE ON messages FOR EACH ROW
    WHEN (current_setting('qdn.changes_after_commit', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION qdn_notify_changes();
