-- A volunteer's bound device and when it was bound (re-binding has a cool-down).
alter table volunteer add column device_bound_at timestamptz;

-- Who did what to whom, and when: device re-binding now; staff reads of personal data,
-- reviews and corrections later. Append-only.
create table audit_event (
    id bigint generated always as identity constraint audit_event_pk primary key,
    at timestamptz not null,
    actor_kind text not null constraint audit_event_actor_kind_ck check (actor_kind in ('volunteer', 'staff', 'system')),
    actor_id bigint,
    action text not null,
    subject_kind text not null,
    subject_id bigint,
    detail text not null
);

create index audit_event_subject_ix on audit_event (subject_kind, subject_id, at);
