-- One-statement writes (store/postgres/inbound.py): a webhook's whole write -- its text, the texts it
-- causes, its events and the sender's new phone state -- is one statement, so one round trip and
-- one (implicit) transaction. The phone state is computed in Python from a state read before, so
-- the statement writes it only if the row is still the version read (its `xmin`). When it is not,
-- nothing of the statement may stay: it calls this function, whose error rolls the statement back
-- whole, and the store reads the state again and retries. SQLSTATE QD409 is this project's own:
-- no other error carries it (store/postgres/connection.py `is_write_conflict`).
CREATE FUNCTION qdn_write_conflict(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'qdn: % changed since it was read', what USING ERRCODE = 'QD409';
END
$$;
