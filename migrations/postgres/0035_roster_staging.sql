-- Roster imports staged in short transactions (issue 16). On SQLite one writer serves
-- every write, so an import that wrote 100,000 volunteers in one transaction held it for
-- its whole length and scans waited. Both engines now stage rows here a chunk at a time,
-- each chunk its own short transaction, and one final transaction publishes them
-- (volunteers, their paper consents, roster membership, the import record) all at once:
-- nothing of an import is visible before it, so it is still all or nothing as seen from
-- outside. Staged rows are deleted after the publish or a failure; an import cut off (a
-- crash) leaves rows the retention job deletes a day later.
create table roster_staging (
    -- One import's rows share a random key until they are published.
    staging_key text not null,
    position integer not null,
    -- A volunteer already registered, linked to the roster (the other columns are null),
    volunteer_id bigint constraint roster_staging_volunteer_fk references volunteer (id),
    -- or one to register, as `volunteer` will hold them.
    volunteer_number text,
    name text,
    gender smallint,
    birth_month text,
    id_type text,
    id_number_sealed text,
    id_number_lookup bytea,
    phone_sealed text,
    phone_lookup bytea,
    skills text,
    -- Their paper consents, a JSON list of {purpose, granted, notice_version}.
    consents text,
    created_at timestamptz not null,
    constraint roster_staging_pk primary key (staging_key, position),
    constraint roster_staging_number_uq unique (volunteer_number)
);

create index roster_staging_created_ix on roster_staging (created_at);
