-- The send queue's claims read only what they take (store/postgres/queue.py `_CLAIM`, issue #15): pending
-- texts walked in the order they are due, each kept only if none of its phone's texts is out (one probe of
-- messages_claimed) and it is its phone's oldest pending text (one probe of messages_pending), up to the
-- claim's LIMIT. Before, every claim read and sorted the business's whole pending queue.

-- Pending texts in the order a claim takes them: due (the retry time, else when written), then as written.
CREATE INDEX messages_due ON messages (business, (COALESCE(next_attempt_at, created_at)), created_at, seq)
    WHERE status = 'pending';

-- The texts out (claimed, or once claimed by a sender that died): is one of this phone's texts out, and
-- when does the first lease end (Store.next_due). Small: at most the texts the senders hold.
CREATE INDEX messages_claimed ON messages (business, recipient, claimed_until)
    WHERE status = 'pending' AND claimed_until IS NOT NULL;
