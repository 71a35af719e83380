-- Staff sign in with passkeys, enrolled through single-use invites; activity leaders.

-- Activity leaders (活动负责人) belong to an organisation and lead the activities they are
-- assigned to.
alter table staff drop constraint staff_role_ck;
alter table staff add constraint staff_role_ck
    check (role in ('administrator', 'organiser', 'recorder', 'leader', 'officer'));
alter table staff drop constraint staff_organiser_has_organisation_ck;
alter table staff add constraint staff_organiser_has_organisation_ck
    check (role not in ('organiser', 'recorder', 'leader') or organisation_id is not null);

-- The name a staff member signs in with, and the opaque user handle their passkeys carry
-- (never the database id). Staff created before this migration get `staff<id>`.
alter table staff add column login text;
update staff set login = 'staff' || id;
alter table staff alter column login set not null;
alter table staff add constraint staff_login_uq unique (login);
alter table staff add column webauthn_user_id uuid not null default gen_random_uuid();
alter table staff alter column webauthn_user_id drop default;
alter table staff add constraint staff_webauthn_user_id_uq unique (webauthn_user_id);

-- A single-use link that lets a staff member enrol a passkey. Only the SHA-256 of the
-- token is stored.
create table staff_invite (
    token_hash bytea constraint staff_invite_pk primary key,
    staff_id bigint not null constraint staff_invite_staff_fk references staff (id),
    created_by bigint constraint staff_invite_created_by_fk references staff (id),
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at timestamptz
);

create index staff_invite_staff_ix on staff_invite (staff_id);

-- A staff member's passkeys. `credential` is webauthn-rs's serialised passkey (public key,
-- counter, flags): no secret, but it decides who gets in, so only this server writes it.
create table staff_passkey (
    id uuid constraint staff_passkey_pk primary key,
    staff_id bigint not null constraint staff_passkey_staff_fk references staff (id),
    credential_id bytea not null,
    credential text not null,
    label text not null,
    created_at timestamptz not null,
    last_used_at timestamptz,
    constraint staff_passkey_credential_uq unique (credential_id)
);

create index staff_passkey_staff_ix on staff_passkey (staff_id);

-- Which leaders lead which activity.
create table activity_leader (
    activity_id bigint not null constraint activity_leader_activity_fk references activity (id),
    staff_id bigint not null constraint activity_leader_staff_fk references staff (id),
    assigned_at timestamptz not null,
    constraint activity_leader_pk primary key (activity_id, staff_id)
);

create index activity_leader_staff_ix on activity_leader (staff_id);
