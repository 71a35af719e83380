-- Screen keys: a projector page mints its own codes with a key derived from the
-- activity's key, so it keeps showing valid codes through a network drop. A row is the
-- grant the key derives from (nothing secret is stored: the server derives the key
-- again from the row and the master key ring), its bounded validity, and its
-- revocation, which stops its codes being accepted.
create table screen_key (
    id bigint generated always as identity constraint screen_key_pk primary key,
    activity_id bigint not null constraint screen_key_activity_fk references activity (id),
    gate integer not null constraint screen_key_gate_ck check (gate between 0 and 63),
    direction text not null constraint screen_key_direction_ck check (direction in ('toggle', 'arrival', 'departure')),
    -- The master key id the screen key derives from.
    key_id integer not null constraint screen_key_key_id_ck check (key_id between 0 and 255),
    -- The last code window the key may sign (codes after it are refused as expired).
    last_window bigint not null,
    expires_at timestamptz not null,
    issued_by bigint not null constraint screen_key_issued_by_fk references staff (id),
    created_at timestamptz not null,
    revoked_at timestamptz,
    revoked_by bigint constraint screen_key_revoked_by_fk references staff (id),
    constraint screen_key_revocation_ck check ((revoked_at is null) = (revoked_by is null))
);

create index screen_key_activity_ix on screen_key (activity_id, id);

-- Console (browser) sessions end after a stretch without use: `idle_minutes` is set when a
-- browser session begins (null for API tokens and volunteers' sessions, which do not
-- idle out), and `last_seen_at` is moved on by use, at most about once a minute.
alter table access_token add column idle_minutes integer constraint access_token_idle_minutes_ck check (idle_minutes > 0);
alter table access_token add column last_seen_at timestamptz;
