-- Staff sign in with passkeys, enrolled through single-use invites; activity leaders.

-- SQLite cannot change a CHECK constraint in place, so `staff` is rebuilt: copied aside,
-- dropped and created anew. Dropping it leaves the rows that reference staff (tokens,
-- activities) dangling for a moment; deferring foreign keys to the commit lets the copy
-- come back first, and the commit still fails if any reference is left broken.
pragma defer_foreign_keys = on;

create temp table staff_before_0005 as select * from staff;
drop table staff;

create table staff (
    id integer constraint staff_pk primary key,
    organisation_id integer constraint staff_organisation_fk references organisation (id),
    name text not null,
    -- Activity leaders (活动负责人) belong to an organisation and lead the activities they
    -- are assigned to.
    role text not null
        constraint staff_role_ck check (role in ('administrator', 'organiser', 'recorder', 'leader', 'officer')),
    -- A civil-affairs officer's GB/T 2260 region: province XX0000, prefecture XXXX00, county.
    region_code text,
    created_at integer not null,
    -- A recorder's certificate (持证上岗) and its annual review (年审), as YYYY-MM-DD.
    certificate_number text,
    certificate_issued_on text,
    review_due_on text,
    -- The name a staff member signs in with, and the opaque user handle (16 bytes) their
    -- passkeys carry, never the database id.
    login text not null,
    webauthn_user_id blob not null,
    constraint staff_login_uq unique (login),
    constraint staff_webauthn_user_id_uq unique (webauthn_user_id),
    constraint staff_organiser_has_organisation_ck
        check (role not in ('organiser', 'recorder', 'leader') or organisation_id is not null),
    constraint staff_recorder_has_certificate_ck check (
        (role = 'recorder') = (certificate_number is not null and certificate_issued_on is not null and review_due_on is not null)
    ),
    constraint staff_officer_has_region_ck check ((role = 'officer') = (region_code is not null))
) strict;

-- Staff created before this migration get `staff<id>`.
insert into staff (id, organisation_id, name, role, region_code, created_at, certificate_number,
                   certificate_issued_on, review_due_on, login, webauthn_user_id)
select id, organisation_id, name, role, region_code, created_at, certificate_number,
       certificate_issued_on, review_due_on, 'staff' || id, randomblob(16)
from staff_before_0005;

drop table staff_before_0005;

-- A single-use link that lets a staff member enrol a passkey. Only the SHA-256 of the
-- token is stored.
create table staff_invite (
    token_hash blob constraint staff_invite_pk primary key,
    staff_id integer not null constraint staff_invite_staff_fk references staff (id),
    created_by integer constraint staff_invite_created_by_fk references staff (id),
    created_at integer not null,
    expires_at integer not null,
    used_at integer
) strict;

create index staff_invite_staff_ix on staff_invite (staff_id);

-- A staff member's passkeys. `credential` is webauthn-rs's serialised passkey (public key,
-- counter, flags): no secret, but it decides who gets in, so only this server writes it.
create table staff_passkey (
    id blob constraint staff_passkey_pk primary key,
    staff_id integer not null constraint staff_passkey_staff_fk references staff (id),
    credential_id blob not null,
    credential text not null,
    label text not null,
    created_at integer not null,
    last_used_at integer,
    constraint staff_passkey_credential_uq unique (credential_id)
) strict;

create index staff_passkey_staff_ix on staff_passkey (staff_id);

-- Which leaders lead which activity.
create table activity_leader (
    activity_id integer not null constraint activity_leader_activity_fk references activity (id),
    staff_id integer not null constraint activity_leader_staff_fk references staff (id),
    assigned_at integer not null,
    constraint activity_leader_pk primary key (activity_id, staff_id)
) strict;

create index activity_leader_staff_ix on activity_leader (staff_id);
