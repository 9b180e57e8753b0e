-- Consent on record: the phones whose state holds a consent history (bot/consent.py), listed a page at a
-- time by the digest of the phone (store/postgres/paging.py `consent_page`; a cursor never carries a
-- phone number). The history itself lives in the phone's state, written in the same statement as the
-- opt-out or booking it records.
CREATE INDEX phones_with_consent ON phones (business, (md5(phone) COLLATE "C"))
    WHERE json_typeof(state->'consent') = 'array';
