-- The office inbox's live updates (Store.wait_for_change): any job or message of a business
-- written -- a text in or out, its delivery status, a status move -- notifies `qdn_changes` with the
-- business, so every open inbox on every web process re-reads (store/postgres/scope.py).
-- A trigger, as 0003_media.sql's, so it holds for every statement that writes them; notifications
-- with the same payload in one transaction are sent once.
CREATE FUNCTION qdn_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('qdn_changes', NEW.business);
    RETURN NULL;
END $$;
CREATE TRIGGER messages_changes_notify AFTER INSERT OR UPDATE ON messages FOR EACH ROW
    EXECUTE FUNCTION qdn_notify_changes();
CREATE TRIGGER jobs_changes_notify AFTER INSERT OR UPDATE ON jobs FOR EACH ROW
    EXECUTE FUNCTION qdn_notify_changes();
