-- A volunteer's request to correct what is held about them (个人信息保护法 Art. 46), and
-- the decision on it. Append-only apart from the one decision.
create table correction_request (
    id integer constraint correction_request_pk primary key,
    volunteer_id integer not null constraint correction_request_volunteer_fk references volunteer (id),
    field text not null constraint correction_request_field_ck
        check (field in ('name', 'gender', 'birth_month', 'skills', 'other')),
    requested_value text not null,
    reason text not null,
    status text not null default 'open' constraint correction_request_status_ck
        check (status in ('open', 'accepted', 'rejected')),
    requested_at integer not null,
    decided_by integer constraint correction_request_decided_by_fk references staff (id),
    decided_at integer,
    decision_reason text,
    constraint correction_request_decided_ck check ((status = 'open') = (decided_at is null))
) strict;

create index correction_request_volunteer_ix on correction_request (volunteer_id, requested_at);
create index correction_request_open_ix on correction_request (requested_at) where status = 'open';
