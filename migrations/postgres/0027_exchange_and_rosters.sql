-- Exchange with the national volunteer information system, and roster imports (issue 16).
--
-- A roster import registers an organisation's existing volunteers from its spreadsheet in
-- one transaction; volunteers already registered (found by the keyed hash of their ID
-- number) are linked to the organisation's roster, never registered twice. Consents taken
-- on paper are recorded like any other, marked with the import that entered them.
create table roster_import (
    id bigint generated always as identity constraint roster_import_pk primary key,
    organisation_id bigint not null constraint roster_import_organisation_fk references organisation (id),
    imported_by bigint not null constraint roster_import_staff_fk references staff (id),
    -- SHA-256 of the uploaded file, hex: which file this was, without keeping it.
    file_digest text not null,
    data_rows integer not null,
    registered integer not null,
    linked integer not null,
    created_at timestamptz not null
);

-- Who is on an organisation's roster (by import, or later by other ways in).
create table roster_member (
    organisation_id bigint not null constraint roster_member_organisation_fk references organisation (id),
    volunteer_id bigint not null constraint roster_member_volunteer_fk references volunteer (id),
    roster_import_id bigint constraint roster_member_import_fk references roster_import (id),
    created_at timestamptz not null,
    constraint roster_member_pk primary key (organisation_id, volunteer_id)
);

-- A consent recorded on paper and entered by a roster import names that import.
alter table consent add column roster_import_id bigint constraint consent_roster_import_fk references roster_import (id);

-- Each export for the national system, and what it held: a volunteer, activity or
-- register entry goes to the national system once per organisation, so nothing is sent
-- twice, and every confirmed one not yet sent is in the next export, so nothing is skipped.
create table exchange_export (
    id bigint generated always as identity constraint exchange_export_pk primary key,
    organisation_id bigint not null constraint exchange_export_organisation_fk references organisation (id),
    kind text not null constraint exchange_export_kind_ck check (kind in ('volunteers', 'activities', 'service_records')),
    -- Set when the export was asked for one confirmed report batch only.
    batch_id bigint constraint exchange_export_batch_fk references report_batch (id),
    -- The organisation's unified social credit code as given at export time.
    organisation_code text,
    items integer not null,
    -- Left out because the volunteer's consent does not cover it (sent later once it does).
    held_for_consent integer not null,
    exported_by bigint not null constraint exchange_export_staff_fk references staff (id),
    exported_at timestamptz not null
);

create index exchange_export_organisation_ix on exchange_export (organisation_id, id);

create table exchange_export_item (
    export_id bigint not null constraint exchange_export_item_export_fk references exchange_export (id),
    position integer not null,
    organisation_id bigint not null,
    kind text not null,
    -- A volunteer id, an activity id or a register sequence number, by kind.
    subject_id bigint not null,
    constraint exchange_export_item_pk primary key (export_id, position),
    constraint exchange_export_item_once_uq unique (organisation_id, kind, subject_id)
);
