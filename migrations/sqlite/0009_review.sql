-- Review: the network a scan came from (a keyed digest, never the address), each
-- activity's rule parameters and left-open policy, the flags the rules raise and their
-- resolution, the closing of sessions left open, and what volunteers are told.

alter table scan add column client_network text;

create table activity_review_settings (
    activity_id integer constraint activity_review_settings_pk primary key
        constraint activity_review_settings_activity_fk references activity (id),
    -- The complete rule parameters (JSON); absent row: the defaults.
    params text not null,
    left_open_policy text not null
        constraint activity_review_settings_left_open_ck check (left_open_policy in ('credit_to_end', 'credit_nothing')),
    updated_by integer constraint activity_review_settings_updated_by_fk references staff (id),
    updated_at integer not null
) strict;

create table review_flag (
    id integer constraint review_flag_pk primary key,
    activity_id integer not null constraint review_flag_activity_fk references activity (id),
    volunteer_id integer not null constraint review_flag_volunteer_fk references volunteer (id),
    rule text not null,
    severity text not null constraint review_flag_severity_ck check (severity in ('low', 'medium', 'high')),
    reviewer text not null constraint review_flag_reviewer_ck check (reviewer in ('organisation', 'civil_affairs')),
    -- The Asia/Shanghai day it concerns, YYYY-MM-DD.
    local_day text not null,
    -- What makes a finding the same finding on the next pass.
    dedupe_key text not null,
    evidence text not null,
    explanation text not null,
    raised_at integer not null,
    status text not null default 'open'
        constraint review_flag_status_ck check (status in ('open', 'accepted', 'adjusted', 'rejected')),
    resolved_by integer constraint review_flag_resolved_by_fk references staff (id),
    resolved_at integer,
    resolution_reason text,
    adjusted_minutes integer,
    constraint review_flag_uq unique (activity_id, volunteer_id, rule, dedupe_key),
    constraint review_flag_resolved_ck check ((status = 'open') = (resolved_at is null)),
    constraint review_flag_adjusted_ck check ((status = 'adjusted') = (adjusted_minutes is not null))
) strict;

create index review_flag_activity_ix on review_flag (activity_id, status);

-- Activities whose left-open sessions have been closed (once, whichever instance did it).
create table activity_closure (
    activity_id integer constraint activity_closure_pk primary key
        constraint activity_closure_activity_fk references activity (id),
    closed_at integer not null
) strict;

-- Messages to volunteers (a session closed for them, a decision on their hours).
create table notification (
    id integer constraint notification_pk primary key,
    volunteer_id integer not null constraint notification_volunteer_fk references volunteer (id),
    dedupe_key text not null,
    body text not null,
    created_at integer not null,
    constraint notification_uq unique (volunteer_id, dedupe_key)
) strict;

-- Late entry (补录): hours for a volunteer who served but could not scan, asked for with
-- evidence and approved by a recorder other than the one who asked.
create table late_entry (
    id integer constraint late_entry_pk primary key,
    activity_id integer not null constraint late_entry_activity_fk references activity (id),
    volunteer_id integer not null constraint late_entry_volunteer_fk references volunteer (id),
    local_day text not null,
    minutes integer not null constraint late_entry_minutes_ck check (minutes > 0),
    evidence text not null,
    reason text not null,
    requested_by integer not null constraint late_entry_requested_by_fk references staff (id),
    requested_at integer not null,
    status text not null default 'open' constraint late_entry_status_ck check (status in ('open', 'approved', 'rejected')),
    decided_by integer constraint late_entry_decided_by_fk references staff (id),
    decided_at integer,
    decision_reason text,
    constraint late_entry_other_recorder_ck check (decided_by is null or decided_by <> requested_by)
) strict;

create index late_entry_activity_ix on late_entry (activity_id, status);

-- Finalising fixes each volunteer's minutes per day. Scan-derived and hand-set minutes are
-- kept apart: `scan_minutes` is what the scans earned, `final_minutes` what counts, and
-- `source` says which decided it.
create table activity_finalisation (
    activity_id integer constraint activity_finalisation_pk primary key
        constraint activity_finalisation_activity_fk references activity (id),
    finalised_by integer not null constraint activity_finalisation_staff_fk references staff (id),
    finalised_at integer not null
) strict;

create table finalised_session (
    activity_id integer not null constraint finalised_session_activity_fk references activity_finalisation (activity_id),
    volunteer_id integer not null constraint finalised_session_volunteer_fk references volunteer (id),
    local_day text not null,
    scan_minutes integer not null,
    final_minutes integer not null,
    source text not null constraint finalised_session_source_ck check (source in ('scans', 'adjusted', 'rejected', 'late_entry')),
    constraint finalised_session_pk primary key (activity_id, volunteer_id, local_day)
) strict;

-- A correction to a finalised session, itself recorded: the old and new minutes and why.
create table session_correction (
    id integer constraint session_correction_pk primary key,
    activity_id integer not null,
    volunteer_id integer not null,
    local_day text not null,
    old_minutes integer not null,
    new_minutes integer not null,
    reason text not null,
    corrected_by integer not null constraint session_correction_staff_fk references staff (id),
    corrected_at integer not null,
    constraint session_correction_session_fk foreign key (activity_id, volunteer_id, local_day)
        references finalised_session (activity_id, volunteer_id, local_day)
) strict;
