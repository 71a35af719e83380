-- A volunteer's bound device and when it was bound (re-binding has a cool-down).
alter table volunteer add column device_bound_at integer;

-- Who did what to whom, and when: device re-binding now; staff reads of personal data,
-- reviews and corrections later. Append-only.
create table audit_event (
    id integer constraint audit_event_pk primary key,
    at integer not null,
    actor_kind text not null constraint audit_event_actor_kind_ck check (actor_kind in ('volunteer', 'staff', 'system')),
    actor_id integer,
    action text not null,
    subject_kind text not null,
    subject_id integer,
    detail text not null
) strict;

create index audit_event_subject_ix on audit_event (subject_kind, subject_id, at);
