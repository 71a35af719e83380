-- One-time SMS sign-in codes: one live code per phone number. The code is kept only as a
-- keyed hash (with the number), so a copy of the database does not sign anyone in; wrong
-- tries are counted so that five of them kill the code; a used code stays marked used
-- until the next one replaces it, so it cannot be replayed. Times in Unix milliseconds.
create table sms_code (
    phone_lookup blob constraint sms_code_pk primary key,
    code_hash blob not null,
    created_at integer not null,
    expires_at integer not null,
    attempts integer not null default 0 constraint sms_code_attempts_ck check (attempts >= 0),
    used_at integer
) strict;
