-- Publicity (公示) and the register. Finalised sessions are published for N working days
-- (by the organisation's region's calendar); then they enter the append-only register,
-- each entry carrying the hash of the one before it.

-- National years added by an officer without a release, and regional overlays.
create table calendar_year (
    year integer constraint calendar_year_pk primary key,
    data text not null,
    added_by bigint not null constraint calendar_year_staff_fk references staff (id),
    added_at timestamptz not null
);

create table calendar_overlay (
    id bigint generated always as identity constraint calendar_overlay_pk primary key,
    region_code text not null,
    day text not null,
    kind text not null constraint calendar_overlay_kind_ck check (kind in ('off', 'work')),
    name text not null,
    created_by bigint not null constraint calendar_overlay_staff_fk references staff (id),
    created_at timestamptz not null,
    constraint calendar_overlay_uq unique (region_code, day)
);

create table publicity_entry (
    id bigint generated always as identity constraint publicity_entry_pk primary key,
    activity_id bigint not null constraint publicity_entry_activity_fk references activity (id),
    volunteer_id bigint not null constraint publicity_entry_volunteer_fk references volunteer (id),
    local_day text not null,
    minutes integer not null,
    published_on text not null,
    working_days integer not null,
    -- The last working day of the period; null while the calendar lacks the year (held).
    ends_on text,
    status text not null constraint publicity_entry_status_ck check (status in ('in_publicity', 'held', 'recorded')),
    created_at timestamptz not null,
    recorded_at timestamptz,
    constraint publicity_entry_uq unique (activity_id, volunteer_id, local_day)
);

create index publicity_entry_status_ix on publicity_entry (status, ends_on);

-- The register: append-only. Corrections are reversal and replacement entries. `hash` is
-- SHA-256 over the previous entry's hash and this entry's canonical content. Triggers
-- refuse any update or delete, whatever path it comes by.
create table register_entry (
    seq bigint constraint register_entry_pk primary key,
    kind text not null constraint register_entry_kind_ck check (kind in ('original', 'reversal', 'replacement')),
    publicity_entry_id bigint constraint register_entry_publicity_fk references publicity_entry (id),
    -- Copied out of `content` so reports can select by them; verification checks they agree.
    organisation_id bigint not null,
    volunteer_id bigint not null,
    -- Negative for a reversal.
    minutes integer not null,
    content text not null,
    previous_hash bytea not null,
    hash bytea not null,
    created_at timestamptz not null
);

-- One original entry per publicity entry; corrections may come more than once.
create unique index register_entry_original_uq on register_entry (publicity_entry_id) where kind = 'original';


create function register_entry_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'the register is append-only: corrections are reversal and replacement entries'
        using errcode = 'P0001';
end
$$;

create trigger register_entry_no_update before update or delete on register_entry
    for each statement execute function register_entry_append_only();

create trigger register_entry_no_truncate before truncate on register_entry
    for each statement execute function register_entry_append_only();

-- Objections (异议) to an entry in publicity. The objector's contact details are sealed.
create table objection (
    id bigint generated always as identity constraint objection_pk primary key,
    publicity_entry_id bigint not null constraint objection_publicity_fk references publicity_entry (id),
    contact_sealed text not null,
    reason text not null,
    raised_by_staff bigint constraint objection_staff_fk references staff (id),
    raised_at timestamptz not null,
    status text not null default 'open' constraint objection_status_ck check (status in ('open', 'upheld', 'dismissed')),
    decided_by bigint constraint objection_decided_by_fk references staff (id),
    decided_at timestamptz,
    decision_reason text,
    corrected_minutes integer
);

create index objection_entry_ix on objection (publicity_entry_id, status);

-- Publicity periods longer than the default 3 working days, for a province (its region
-- code) or an organisation (`org:<id>`); the organisation's setting wins.
create table publicity_rule (
    scope text constraint publicity_rule_pk primary key,
    working_days integer not null constraint publicity_rule_days_ck check (working_days between 3 and 30),
    set_by bigint not null constraint publicity_rule_staff_fk references staff (id),
    set_at timestamptz not null
);

-- Reporting to civil affairs: register entries go in batches to the county-level
-- department of the organisation's region, which confirms them or returns them.
create table report_batch (
    id bigint generated always as identity constraint report_batch_pk primary key,
    organisation_id bigint not null constraint report_batch_organisation_fk references organisation (id),
    county_code text not null,
    status text not null constraint report_batch_status_ck check (status in ('submitted', 'confirmed', 'returned')),
    entries integer not null,
    minutes integer not null,
    submitted_by bigint not null constraint report_batch_submitted_by_fk references staff (id),
    submitted_at timestamptz not null,
    decided_by bigint constraint report_batch_decided_by_fk references staff (id),
    decided_at timestamptz,
    reason text
);

create index report_batch_county_ix on report_batch (county_code, status);

create table report_item (
    batch_id bigint not null constraint report_item_batch_fk references report_batch (id),
    register_seq bigint not null constraint report_item_register_fk references register_entry (seq),
    constraint report_item_pk primary key (batch_id, register_seq)
);

create index report_item_seq_ix on report_item (register_seq);
