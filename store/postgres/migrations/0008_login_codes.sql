-- The office inbox's login codes (store/postgres/login_codes.py): one pending code per phone,
-- deployment-wide (a dispatcher of several businesses picks one after logging in). Only the
-- code's keyed hash is kept; `wrong` counts the tries used. Expired rows are deleted by the
-- housekeeping with the throttles.
CREATE TABLE login_codes (
    phone text COLLATE "C" PRIMARY KEY,
    code_hash text COLLATE "C" NOT NULL,
    expires_at text COLLATE "C" NOT NULL,
    wrong integer NOT NULL DEFAULT 0
);
