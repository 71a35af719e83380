-- Stars (星级): applications decided by the volunteer department of the level each star
-- belongs to, and reviews raised when a correction takes a volunteer under a granted
-- threshold (never a silent revocation).

create table star_rule (
    province_code text constraint star_rule_pk primary key,
    -- Hours for 1 to 5 stars, as a JSON array of five increasing numbers.
    thresholds text not null,
    -- Verified complaints filed within this many days block an application (0: never).
    complaint_block_days integer not null constraint star_rule_block_ck check (complaint_block_days between 0 and 3650),
    set_by bigint not null constraint star_rule_staff_fk references staff (id),
    set_at timestamptz not null
);

create table star_application (
    id bigint generated always as identity constraint star_application_pk primary key,
    volunteer_id bigint not null constraint star_application_volunteer_fk references volunteer (id),
    stars integer not null constraint star_application_stars_ck check (stars between 1 and 5),
    -- Confirmed hours when applying, and the threshold they were held against.
    hours integer not null,
    threshold_hours integer not null,
    -- The region code of the department that decides (county, city or province).
    decide_region text not null,
    status text not null default 'pending'
        constraint star_application_status_ck check (status in ('pending', 'granted', 'declined', 'revoked')),
    decided_by bigint constraint star_application_decided_by_fk references staff (id),
    decided_at timestamptz,
    reason text,
    created_at timestamptz not null
);

create unique index star_application_pending_uq on star_application (volunteer_id) where status = 'pending';
create unique index star_application_granted_uq on star_application (volunteer_id, stars) where status = 'granted';
create index star_application_region_ix on star_application (decide_region, status);

create table star_review (
    id bigint generated always as identity constraint star_review_pk primary key,
    application_id bigint not null constraint star_review_application_fk references star_application (id),
    volunteer_id bigint not null constraint star_review_volunteer_fk references volunteer (id),
    stars integer not null,
    hours integer not null,
    threshold_hours integer not null,
    decide_region text not null,
    status text not null default 'open' constraint star_review_status_ck check (status in ('open', 'kept', 'revoked')),
    decided_by bigint constraint star_review_decided_by_fk references staff (id),
    decided_at timestamptz,
    reason text,
    created_at timestamptz not null
);

create unique index star_review_open_uq on star_review (application_id) where status = 'open';
