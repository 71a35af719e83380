-- The attendance core: organisations, staff, volunteers, access tokens, activities and scans.
-- Append-only: never edit this file once applied; add a new migration instead.
-- Times are integer milliseconds since the Unix epoch (UTC), so they order and compare
-- exactly; UUIDs are 16-byte blobs.

create table organisation (
    id integer constraint organisation_pk primary key,
    name text not null,
    region_code text not null,
    -- University volunteer groups are approved through the provincial Youth League.
    kind text not null default 'general' constraint organisation_kind_ck check (kind in ('general', 'university')),
    -- 申报 (applied) → checked by the region's department → approved by the level above;
    -- revoked (撤销记录资格) keeps all history. Created by an administrator: approved.
    status text not null default 'approved'
        constraint organisation_status_ck check (status in ('applied', 'checked', 'approved', 'revoked')),
    created_at integer not null,
    constraint organisation_name_uq unique (name)
) strict;

-- Every step of an organisation's approval and revocation, with who and why.
create table organisation_event (
    id integer constraint organisation_event_pk primary key,
    organisation_id integer not null constraint organisation_event_organisation_fk references organisation (id),
    staff_id integer,
    action text not null,
    reason text,
    at integer not null
) strict;

create table staff (
    id integer constraint staff_pk primary key,
    organisation_id integer constraint staff_organisation_fk references organisation (id),
    name text not null,
    role text not null constraint staff_role_ck check (role in ('administrator', 'organiser', 'recorder', 'officer')),
    -- A civil-affairs officer's GB/T 2260 region: province XX0000, prefecture XXXX00, county.
    region_code text,
    created_at integer not null,
    -- A recorder's certificate (持证上岗) and its annual review (年审), as YYYY-MM-DD.
    certificate_number text,
    certificate_issued_on text,
    review_due_on text,
    constraint staff_organiser_has_organisation_ck check (role not in ('organiser', 'recorder') or organisation_id is not null),
    constraint staff_recorder_has_certificate_ck check (
        (role = 'recorder') = (certificate_number is not null and certificate_issued_on is not null and review_due_on is not null)
    ),
    constraint staff_officer_has_region_ck check ((role = 'officer') = (region_code is not null))
) strict;

-- A volunteer. The ID and phone numbers are sealed (AEAD, key id inside each value; the
-- keys live in configuration, not here) and found by keyed hash (`*_lookup`), so one
-- person registers once without anyone decrypting rows to check.
create table volunteer (
    id integer constraint volunteer_pk primary key,
    volunteer_number text not null,
    name text not null,
    gender integer not null constraint volunteer_gender_ck check (gender in (0, 1, 2, 9)),
    birth_month text not null,
    id_type text not null,
    id_number_sealed text not null,
    id_number_lookup blob not null,
    phone_sealed text not null,
    phone_lookup blob not null,
    skills text not null,
    device_id text,
    created_at integer not null,
    constraint volunteer_number_uq unique (volunteer_number),
    constraint volunteer_id_number_uq unique (id_number_lookup),
    constraint volunteer_phone_uq unique (phone_lookup)
) strict;

-- Consent, per purpose, append-only: the newest row for a purpose is the volunteer's
-- current choice; withdrawing adds a row with granted = 0.
create table consent (
    id integer constraint consent_pk primary key,
    volunteer_id integer not null constraint consent_volunteer_fk references volunteer (id),
    purpose text not null constraint consent_purpose_ck check (purpose in ('record', 'publicity', 'location', 'guardian')),
    granted integer not null,
    notice_version text not null,
    -- For a guardian's consent: who gave it (name, relation, phone), sealed like the ID.
    detail_sealed text,
    recorded_at integer not null
) strict;

create index consent_volunteer_ix on consent (volunteer_id, purpose, recorded_at);

create table bootstrap_token (
    token_hash blob constraint bootstrap_token_pk primary key,
    created_at integer not null,
    used_at integer
) strict;

create table access_token (
    token_hash blob constraint access_token_pk primary key,
    staff_id integer constraint access_token_staff_fk references staff (id),
    volunteer_id integer constraint access_token_volunteer_fk references volunteer (id),
    created_at integer not null,
    expires_at integer not null,
    constraint access_token_one_principal_ck check ((staff_id is null) <> (volunteer_id is null))
) strict;

create table activity (
    id integer constraint activity_pk primary key,
    organisation_id integer not null constraint activity_organisation_fk references organisation (id),
    name text not null,
    category text not null,
    recipients text not null,
    content text not null,
    address text not null,
    latitude real not null,
    longitude real not null,
    radius_m integer not null,
    starts_at integer not null,
    ends_at integer not null,
    gates text not null,
    code_mode text not null constraint activity_code_mode_ck check (code_mode in ('toggle', 'separate')),
    created_by integer not null constraint activity_created_by_fk references staff (id),
    created_at integer not null,
    constraint activity_window_ck check (ends_at > starts_at)
) strict;

create table scan (
    id blob constraint scan_pk primary key,
    volunteer_id integer not null constraint scan_volunteer_fk references volunteer (id),
    client_nonce blob not null,
    activity_id integer constraint scan_activity_fk references activity (id),
    gate integer,
    direction text constraint scan_direction_ck check (direction in ('in', 'out')),
    outcome text not null,
    server_time integer not null,
    client_time integer,
    code_window integer,
    key_id integer,
    -- Where the phone was, kept only as far as the geofence check needs: the distance to
    -- the venue, the fix's accuracy and the verdict. Never the position itself.
    distance_m real,
    accuracy_m real,
    geofence text constraint scan_geofence_ck check (geofence in ('inside', 'outside', 'poor_fix')),
    device_id text,
    answer_status integer not null,
    answer text not null,
    created_at integer not null,
    constraint scan_nonce_uq unique (volunteer_id, client_nonce),
    constraint scan_accepted_has_direction_ck check ((direction is null) = (outcome not in ('checked_in', 'checked_out')))
) strict;

create index scan_activity_accepted_ix on scan (activity_id, volunteer_id, server_time) where direction is not null;
