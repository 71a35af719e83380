-- A recorder's qualification has a life: annual reviews (年审) passed and certificates
-- renewed, each recorded by a civil-affairs officer. The staff row keeps the current
-- certificate (what the gates read); this table keeps every change to it, with who
-- recorded it and when. Append-only: triggers refuse any update or delete.
create table recorder_qualification_event (
    id bigint generated always as identity constraint recorder_qualification_event_pk primary key,
    staff_id bigint not null constraint recorder_qualification_event_staff_fk references staff (id),
    kind text not null constraint recorder_qualification_event_kind_ck check (kind in ('annual_review', 'renewal')),
    -- The day the review was passed (reviews only), YYYY-MM-DD.
    reviewed_on text,
    -- The certificate before and after, dates as YYYY-MM-DD.
    previous_certificate_number text not null,
    previous_certificate_issued_on text not null,
    previous_review_due_on text not null,
    certificate_number text not null,
    certificate_issued_on text not null,
    review_due_on text not null,
    recorded_by bigint not null constraint recorder_qualification_event_recorded_by_fk references staff (id),
    created_at timestamptz not null,
    constraint recorder_qualification_event_reviewed_on_ck check ((kind = 'annual_review') = (reviewed_on is not null))
);

create index recorder_qualification_event_staff_ix on recorder_qualification_event (staff_id, id);

create function recorder_qualification_event_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'a recorder''s qualification history is append-only' using errcode = 'P0001';
end
$$;

create trigger recorder_qualification_event_no_update before update or delete on recorder_qualification_event
    for each statement execute function recorder_qualification_event_append_only();

create trigger recorder_qualification_event_no_truncate before truncate on recorder_qualification_event
    for each statement execute function recorder_qualification_event_append_only();
