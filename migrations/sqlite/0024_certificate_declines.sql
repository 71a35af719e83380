-- An issuer may decline a certificate request, with a reason the volunteer reads (for
-- instance: the range asked for is not what they served, or the service was recorded
-- elsewhere). A declined request is never issued; the volunteer asks again. Times are
-- Unix milliseconds here.

-- SQLite cannot change a CHECK constraint in place, so `certificate_request` is rebuilt:
-- copied aside, dropped and created anew. Certificates reference it; deferring foreign
-- keys to the commit lets the copy come back first, and the commit still fails if any
-- reference is left broken.
pragma defer_foreign_keys = on;

create temp table certificate_request_before_0024 as select * from certificate_request;
drop table certificate_request;

create table certificate_request (
    id integer constraint certificate_request_pk primary key,
    volunteer_id integer not null constraint certificate_request_volunteer_fk references volunteer (id),
    -- The scope asked for: one organisation, a date range (inclusive), both or neither.
    organisation_id integer constraint certificate_request_organisation_fk references organisation (id),
    from_day text,
    to_day text,
    -- Who issues: a recorder of this organisation when all the service in scope was
    -- recorded by it, and the civil-affairs department of this region in any case.
    route_organisation_id integer constraint certificate_request_route_fk references organisation (id),
    route_region text not null,
    status text not null default 'pending'
        constraint certificate_request_status_ck check (status in ('pending', 'issued', 'declined')),
    certificate_number text,
    created_at integer not null,
    decline_reason text,
    declined_by integer constraint certificate_request_declined_by_fk references staff (id),
    declined_at integer,
    constraint certificate_request_declined_ck
        check ((status = 'declined') = (decline_reason is not null and declined_by is not null and declined_at is not null))
) strict;

insert into certificate_request (id, volunteer_id, organisation_id, from_day, to_day, route_organisation_id,
                                 route_region, status, certificate_number, created_at)
select id, volunteer_id, organisation_id, from_day, to_day, route_organisation_id,
       route_region, status, certificate_number, created_at
from certificate_request_before_0024;
drop table certificate_request_before_0024;

create index certificate_request_status_ix on certificate_request (status);
create index certificate_request_volunteer_ix on certificate_request (volunteer_id);
