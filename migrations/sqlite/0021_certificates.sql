-- Certificates; times are Unix milliseconds here.
-- Service-record certificates (志愿服务记录证明): a volunteer's request, the signed
-- certificate issued for it (by a recorder of the organisation or by a civil-affairs
-- volunteer department), its revocation, and organisations' seal images.

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
    status text not null default 'pending' constraint certificate_request_status_ck check (status in ('pending', 'issued')),
    certificate_number text,
    created_at integer not null
) strict;

create index certificate_request_status_ix on certificate_request (status);
create index certificate_request_volunteer_ix on certificate_request (volunteer_id);

-- Certificate numbers run per year: HM + year + six digits.
create table certificate_sequence (
    year integer constraint certificate_sequence_pk primary key,
    last integer not null
) strict;

create table certificate (
    number text constraint certificate_pk primary key,
    request_id integer not null constraint certificate_request_fk references certificate_request (id),
    volunteer_id integer not null constraint certificate_volunteer_fk references volunteer (id),
    -- The canonical JSON the signature covers, the signature (base64) and its key id.
    content text not null,
    signature text not null,
    key_id text not null,
    total_minutes integer not null,
    issuer_organisation_id integer constraint certificate_issuer_organisation_fk references organisation (id),
    issuer_region text,
    issued_by integer not null constraint certificate_issued_by_fk references staff (id),
    issued_at integer not null,
    revoked_by integer constraint certificate_revoked_by_fk references staff (id),
    revoked_at integer,
    revoke_reason text,
    constraint certificate_request_uq unique (request_id)
) strict;

create index certificate_volunteer_ix on certificate (volunteer_id);

create table organisation_seal (
    organisation_id integer constraint organisation_seal_pk primary key
        constraint organisation_seal_organisation_fk references organisation (id),
    png blob not null,
    uploaded_by integer not null constraint organisation_seal_staff_fk references staff (id),
    uploaded_at integer not null
) strict;
