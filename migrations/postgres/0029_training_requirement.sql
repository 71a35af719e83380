-- Training completed as a sign-up requirement (issue 17): an activity's recruitment may
-- name a training its volunteers must have completed, and the organisation records who
-- completed it. A completion belongs to the organisation and the training's name, so one
-- course serves every activity of the organisation that requires it; it is kept apart
-- from the volunteer record's `training` (which needs hours, a date, and a volunteer who
-- has already served with the organisation: a newcomer trained before their first
-- activity has not).

alter table recruitment add column required_training text;

create table training_completion (
    id bigint generated always as identity constraint training_completion_pk primary key,
    organisation_id bigint not null constraint training_completion_organisation_fk references organisation (id),
    training text not null,
    volunteer_id bigint not null constraint training_completion_volunteer_fk references volunteer (id),
    recorded_by bigint not null constraint training_completion_recorded_by_fk references staff (id),
    recorded_at timestamptz not null,
    -- Recording the same completion again changes nothing.
    constraint training_completion_uq unique (organisation_id, training, volunteer_id)
);

-- An activity called off by its organiser: arrivals are refused from then on, sign-ups
-- closed, and everyone signed up is told. Once per activity.
create table activity_cancellation (
    activity_id bigint constraint activity_cancellation_pk primary key
        constraint activity_cancellation_activity_fk references activity (id),
    reason text not null,
    cancelled_by bigint not null constraint activity_cancellation_cancelled_by_fk references staff (id),
    cancelled_at timestamptz not null
);
