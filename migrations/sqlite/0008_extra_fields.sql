-- Personal fields beyond what the rule requires (志愿服务记录办法: "any other personal field
-- only with the volunteer's own consent"): each field has its own consent, recorded
-- append-only, and its value (sealed like the ID number) exists only while consented.
create table extra_field_consent (
    id integer constraint extra_field_consent_pk primary key,
    volunteer_id integer not null constraint extra_field_consent_volunteer_fk references volunteer (id),
    field text not null constraint extra_field_consent_field_ck
        check (field in ('email', 'education', 'political_status', 'employer')),
    granted integer not null,
    notice_version text not null,
    recorded_at integer not null
) strict;

create index extra_field_consent_volunteer_ix on extra_field_consent (volunteer_id, recorded_at);

create table extra_field (
    volunteer_id integer not null constraint extra_field_volunteer_fk references volunteer (id),
    field text not null constraint extra_field_field_ck
        check (field in ('email', 'education', 'political_status', 'employer')),
    value_sealed text not null,
    updated_at integer not null,
    constraint extra_field_pk primary key (volunteer_id, field)
) strict;
