-- The rest of a volunteer's record (志愿服务记录办法): the organisation's evaluation of
-- their work and the recipients' satisfaction, complaints (only verified ones enter the
-- record), training attended and awards received.

create table evaluation (
    activity_id integer not null constraint evaluation_activity_fk references activity (id),
    volunteer_id integer not null constraint evaluation_volunteer_fk references volunteer (id),
    grade text not null constraint evaluation_grade_ck check (grade in ('excellent', 'good', 'pass', 'fail')),
    comment text not null,
    evaluated_by integer not null constraint evaluation_staff_fk references staff (id),
    evaluated_at integer not null,
    constraint evaluation_pk primary key (activity_id, volunteer_id)
) strict;

create table recipient_satisfaction (
    activity_id integer constraint recipient_satisfaction_pk primary key
        constraint recipient_satisfaction_activity_fk references activity (id),
    score integer not null constraint recipient_satisfaction_score_ck check (score between 1 and 5),
    respondents integer not null constraint recipient_satisfaction_respondents_ck check (respondents >= 0),
    comment text not null,
    recorded_by integer not null constraint recipient_satisfaction_staff_fk references staff (id),
    recorded_at integer not null
) strict;

create table complaint (
    id integer constraint complaint_pk primary key,
    volunteer_id integer not null constraint complaint_volunteer_fk references volunteer (id),
    organisation_id integer not null constraint complaint_organisation_fk references organisation (id),
    activity_id integer constraint complaint_activity_fk references activity (id),
    -- Who complained and how to reach them: kept private, sealed like the ID number.
    complainant_sealed text not null,
    description text not null,
    status text not null default 'filed'
        constraint complaint_status_ck check (status in ('filed', 'investigating', 'verified', 'dismissed')),
    filed_by integer not null constraint complaint_filed_by_fk references staff (id),
    filed_at integer not null,
    investigation text,
    decided_by integer constraint complaint_decided_by_fk references staff (id),
    decided_at integer,
    decision_reason text
) strict;

create index complaint_volunteer_ix on complaint (volunteer_id);

create table training (
    id integer constraint training_pk primary key,
    volunteer_id integer not null constraint training_volunteer_fk references volunteer (id),
    organisation_id integer not null constraint training_organisation_fk references organisation (id),
    title text not null,
    held_on text not null,
    hours integer not null constraint training_hours_ck check (hours between 1 and 200),
    recorded_by integer not null constraint training_staff_fk references staff (id),
    recorded_at integer not null
) strict;

create index training_volunteer_ix on training (volunteer_id);

create table award (
    id integer constraint award_pk primary key,
    volunteer_id integer not null constraint award_volunteer_fk references volunteer (id),
    organisation_id integer not null constraint award_organisation_fk references organisation (id),
    title text not null,
    awarded_by text not null,
    awarded_on text not null,
    recorded_by integer not null constraint award_staff_fk references staff (id),
    recorded_at integer not null
) strict;

create index award_volunteer_ix on award (volunteer_id);
